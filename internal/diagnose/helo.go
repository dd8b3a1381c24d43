package diagnose

import (
	"net/netip"
	"strings"
)

// Limits from RFC 5321 4.5.3.1.2 (a domain is at most 255 octets) and
// RFC 1035 2.3.4 (a label is at most 63 octets).
const (
	maxDomainLen = 255
	maxLabelLen  = 63
)

// HeloArg reports whether a HELO/EHLO argument is syntactically valid: a
// Domain (RFC 5321 4.1.2; a single label such as "localhost" is allowed)
// or an address literal, [IPv4] or [IPv6:...] (RFC 5321 4.1.3). A false
// return means BadHeloArg applies.
//
// Two choices go beyond the bare grammar, both aimed at real client bugs:
// a domain whose last label is all digits is refused, since top-level
// domains are never numeric (RFC 3696 2) and "192.0.2.1" is an IP address
// missing its brackets; and General-address-literal is refused, since no
// tag other than IPv6 is registered.
func HeloArg(arg string) bool {
	if strings.HasPrefix(arg, "[") && strings.HasSuffix(arg, "]") && len(arg) >= 2 {
		return addressLiteral(arg[1 : len(arg)-1])
	}
	return domain(arg)
}

// domain checks RFC 5321 4.1.2's
//
//	Domain     = sub-domain *("." sub-domain)
//	sub-domain = Let-dig [Ldh-str]
//	Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
func domain(s string) bool {
	if s == "" || len(s) > maxDomainLen {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return !allDigits(labels[len(labels)-1])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// addressLiteral checks the inside of RFC 5321 4.1.3's address-literal.
func addressLiteral(s string) bool {
	// The "IPv6:" tag is case-insensitive (RFC 5234 2.3: ABNF strings).
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		a, err := netip.ParseAddr(s[5:])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return ipv4Literal(s)
}

// ipv4Literal checks IPv4-address-literal = Snum 3("." Snum), where
// Snum = 1*3DIGIT representing 0-255. Unlike net/netip it accepts leading
// zeros, which the grammar allows.
func ipv4Literal(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || !allDigits(p) {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}
