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
// Host. An IP literal cannot be rebound, so every address is accepted;
// so are "localhost" and its subdomains (RFC 6761 6.3: they resolve to
// loopback only), and the names in allowed, compared without case. "*"
// in allowed accepts any name (a reverse proxy in front that checks
// names itself). The health checks answer whatever the name.
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
// address, with or without a port) is an IP literal, localhost, or one of
// names.
func hostAllowed(host string, names map[string]bool) bool {
	name := hostName(host)
	if name == "" {
		return false
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")); err == nil {
		return true
	}
	name = strings.TrimSuffix(name, ".")
	return name == "localhost" || strings.HasSuffix(name, ".localhost") || names[name]
}

// hostName is host without its port, in lower case.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}
