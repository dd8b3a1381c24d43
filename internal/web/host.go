package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostCheck refuses requests whose Host header names the server by a name
// it does not know: the defence against DNS rebinding. A page on
// attacker.example whose name is re-pointed at 127.0.0.1 is same-origin
// with itself, so the browser sends its reads and writes (and
// CrossOriginProtection lets them through) unless the server looks at
// Host. A rebinding needs a name in public DNS that the attacker
// controls, so what cannot be one is accepted: an IP literal; a name of
// one label ("fakesmtp", a docker compose service or a hosts-file name);
// a name under a top-level domain kept out of public DNS (privateTLD:
// "localhost", RFC 6761 6.3; "local"; "internal"; ...); and the names in
// allowed, compared without case. "*" in allowed accepts any name (a
// reverse proxy in front that checks names itself). The health checks
// answer whatever the name.
func hostCheck(allowed []string, h http.Handler) http.Handler {
	names := make(map[string]bool, len(allowed))
	anyName := false
	for _, n := range allowed {
		n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
		if n == "*" {
			anyName = true
		}
		if n != "" {
			names[n] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if anyName || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || hostAllowed(r.Host, names) {
			h.ServeHTTP(w, r)
			return
		}
		http.Error(w, "this server does not answer to the name "+hostName(r.Host)+
			"; add it to http_allowed_hosts\n", http.StatusForbidden)
	})
}

// hostAllowed reports whether the Host header value host (name or
// address, with or without a port) is an IP literal, a name of one label,
// a name under a private top-level domain, or one of names.
func hostAllowed(host string, names map[string]bool) bool {
	name := hostName(host)
	if name == "" {
		return true // HTTP/1.0 without Host: no browser sends that
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")); err == nil {
		return true
	}
	name = strings.TrimSuffix(name, ".")
	if names[name] || !strings.Contains(name, ".") {
		return true
	}
	return privateTLD[name[strings.LastIndexByte(name, '.')+1:]] || strings.HasSuffix(name, ".home.arpa")
}

// privateTLD are top-level domains that public DNS does not answer for,
// so no attacker can point a name under them at this server: special-use
// names (RFC 6761: localhost, test, invalid; RFC 6762: local), ICANN's
// private-use "internal", and the undelegated ones in common use on
// private networks (lan, and svc of Kubernetes' short service names).
var privateTLD = map[string]bool{"localhost": true, "local": true, "internal": true, "test": true,
	"invalid": true, "lan": true, "svc": true}

// hostName is host without its port, in lower case.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}
