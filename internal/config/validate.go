package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"fakesmtp/internal/policy/dnsbl"
)

// minMaxDataSize is the smallest max_data_size accepted: below 1 KiB not
// even the headers of an ordinary message fit, so a smaller value is a
// mistake (often a unit slip from the legacy file), not a policy.
const minMaxDataSize = 1024

// Validate checks every setting and returns every problem found; nil means
// the configuration is usable. Load calls it; call it again after changing
// a Config by hand.
func (c *Config) Validate() Problems {
	return c.validate(nil, nil)
}

// validate checks c. origin, if not nil, says where a key's value came from,
// for the messages; keys in skip were already reported.
func (c *Config) validate(origin func(key string) string, skip map[string]bool) Problems {
	var probs Problems
	// bad reports a problem with a key's value, naming the value and its
	// origin so the reader knows which layer to fix.
	bad := func(key string, value any, format string, args ...any) {
		if skip[key] {
			return
		}
		from := ""
		if origin != nil {
			if o := origin(key); o != "" {
				from = ", from " + o
			}
		}
		probs.add("%s = %s%s: %s", key, formatValue(value), from, fmt.Sprintf(format, args...))
	}

	if !knownMode(c.Mode) {
		bad(keyMode, c.Mode, "unknown mode")
	}
	switch {
	case c.Hostname == "":
		bad(keyHostname, c.Hostname, "empty; set it to this receiver's domain name")
	case !plausibleHostname(c.Hostname):
		bad(keyHostname, c.Hostname, `not a domain name or address literal such as "[192.0.2.1]" (RFC 5321 4.1.3)`)
	}

	if len(c.Listen) == 0 {
		bad(keyListen, c.Listen, `want at least one "host:port" address`)
	}
	seen := map[string]bool{}
	for _, l := range c.Listen {
		if err := checkListen(l); err != nil {
			bad(keyListen, c.Listen, "%q: %v", l, err)
		} else if seen[l] {
			bad(keyListen, c.Listen, "%q is listed twice", l)
		}
		seen[l] = true
	}

	if c.ReceiveTimeout <= 0 {
		bad("receive_timeout", c.ReceiveTimeout, "must be positive")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"banner_delay", c.BannerDelay},
		{"error_delay", c.ErrorDelay},
		{"error_delay_max", c.ErrorDelayMax},
		{"shutdown_grace", c.ShutdownGrace},
	} {
		if d.v < 0 {
			bad(d.key, d.v, "must not be negative")
		}
	}

	for _, n := range []struct {
		key string
		v   int
		min int
	}{
		{"max_smtp_errors", c.MaxSMTPErrors, 0},
		{"max_smtp_noop", c.MaxSMTPNoop, 0},
		{"max_smtp_vrfy", c.MaxSMTPVrfy, 0},
		{"max_smtp_rcpt", c.MaxSMTPRcpt, 1},
		{"max_messages", c.MaxMessages, 0},
		{"max_sessions", c.MaxSessions, 1},
	} {
		if n.v < n.min {
			bad(n.key, n.v, "must be at least %d", n.min)
		}
	}
	if c.MaxDataSize < minMaxDataSize {
		bad("max_data_size", c.MaxDataSize, "must be at least %d bytes", minMaxDataSize)
	}

	if c.StoreData && strings.TrimSpace(c.StorePath) == "" {
		bad(keyStorePath, c.StorePath, "empty while store_data is on")
	}

	for _, p := range []struct {
		key    string
		v      []string
		weight int
	}{
		{"rwl_providers", c.RWLProviders, -1},
		{"rbl_providers", c.RBLProviders, 1},
	} {
		for _, e := range p.v {
			if err := checkProvider(e, p.weight); err != nil {
				bad(p.key, p.v, "%q: %v", e, err)
			}
		}
	}
	c.validateScreening(bad)
	c.validateESMTP(bad)
	c.validateOutputs(bad)
	c.validateRelay(bad)
	c.validateWeb(bad)
	return probs
}

// knownMode reports whether m is one of Modes().
func knownMode(m Mode) bool {
	for _, known := range Modes() {
		if m == known {
			return true
		}
	}
	return false
}

// checkListen checks one listen address: a host (maybe empty, for every
// interface) and a numeric port. Service names like "smtp" are refused, as
// their meaning depends on the host's /etc/services.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf(`want "host:port" (e.g. ":25", "127.0.0.1:2525", "[::1]:2525"): %v`, strings.TrimPrefix(err.Error(), "address "+addr+": "))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkProvider checks one DNS list entry ("zone", "zone=filter",
// "zone*weight") with dnsbl.ParseEntry, the parser serve uses, so that
// check-config refuses exactly what serve would refuse at start and the
// syntax has one definition. defaultWeight is the list's (+1 block, -1
// allow), as serve passes it.
func checkProvider(e string, defaultWeight int) error {
	switch {
	case strings.TrimSpace(e) == "":
		return fmt.Errorf("empty entry")
	case strings.ContainsAny(e, " \t\r\n"):
		return fmt.Errorf("contains white space")
	}
	if _, err := dnsbl.ParseEntry(e, defaultWeight); err != nil {
		// bad already names the entry; drop the parser's prefix so it is
		// not said twice (should the prefix change, the message only
		// gets longer).
		return errors.New(strings.TrimPrefix(err.Error(), fmt.Sprintf("dnsbl: entry %q: ", e)))
	}
	return nil
}

// plausibleHostname accepts a domain name (RFC 5321 4.1.2 Domain: letters,
// digits and hyphens in dot-separated labels of up to 63 characters, with a
// trailing dot tolerated) or an address literal ("[192.0.2.1]",
// "[IPv6:2001:db8::1]", RFC 5321 4.1.3). A single label ("localhost") is
// allowed: it is what many test hosts are called.
func plausibleHostname(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		lit := h[1 : len(h)-1]
		if v6, ok := strings.CutPrefix(lit, "IPv6:"); ok {
			a, err := netip.ParseAddr(v6)
			return err == nil && a.Is6() && a.Zone() == ""
		}
		a, err := netip.ParseAddr(lit)
		return err == nil && a.Is4()
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
