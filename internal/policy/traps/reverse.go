package traps

import (
	"net/netip"
	"strconv"
	"strings"
)

// ReverseName returns the RFC 5782 query name of ip in zone, fully
// qualified (with the trailing dot, so no resolver appends a search
// domain): the four octets reversed for IPv4 (section 2.1), the 32
// nibbles of the address reversed for IPv6, as in ip6.arpa (section 2.4).
//
//	192.0.2.99, "bl.example" -> "99.2.0.192.bl.example."
//	2001:db8::1 -> "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example."
//
// It does not unmap: an IPv4-mapped IPv6 address gets the IPv6 form,
// which the RFC 5782 section 5 self-test needs for ::FFFF:7F00:2. A client
// address from a dual-stack listener should be passed through Unmap first.
// An invalid ip gives "".
func ReverseName(ip netip.Addr, zone string) string {
	if !ip.IsValid() {
		return ""
	}
	var b strings.Builder
	for _, l := range reverseLabels(ip.WithZone("")) {
		b.WriteString(l)
		b.WriteByte('.')
	}
	if zone = strings.TrimSuffix(zone, "."); zone != "" {
		b.WriteString(zone)
		b.WriteByte('.')
	}
	return b.String()
}

// reverseLabels returns ip's RFC 5782 labels, most specific first.
func reverseLabels(ip netip.Addr) []string {
	const hexDigits = "0123456789abcdef"
	if ip.Is4() {
		o := ip.As4()
		out := make([]string, 4)
		for i := range o {
			out[3-i] = strconv.Itoa(int(o[i]))
		}
		return out
	}
	o := ip.As16()
	out := make([]string, 0, 32)
	for i := 15; i >= 0; i-- {
		out = append(out, hexDigits[o[i]&0xf:o[i]&0xf+1], hexDigits[o[i]>>4:o[i]>>4+1])
	}
	return out
}

// parseReverse turns query labels (the part of the name before the zone,
// lower-case) back into an address: four decimal octets or 32 hex
// nibbles. Anything else, including an octet with a leading zero, is not
// an address. Four labels of decimal digits are also the top of some
// IPv6 names ("1.0.0.2" above 2001:db8::/32), so a caller that finds no
// IPv4 listing must still ask whether the name is such an ancestor.
func parseReverse(labels []string) (netip.Addr, bool) {
	switch len(labels) {
	case 4:
		var o [4]byte
		for i, l := range labels {
			n, ok := parseOctet(l)
			if !ok {
				return netip.Addr{}, false
			}
			o[3-i] = n
		}
		return netip.AddrFrom4(o), true
	case 32:
		var o [16]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			v := strings.IndexByte("0123456789abcdef", l[0])
			if v < 0 {
				return netip.Addr{}, false
			}
			// labels[0] is the low nibble of the last byte.
			b := 15 - i/2
			if i%2 == 0 {
				o[b] |= byte(v)
			} else {
				o[b] |= byte(v) << 4
			}
		}
		return netip.AddrFrom16(o), true
	}
	return netip.Addr{}, false
}

// parseOctet reads a decimal 0-255 written without leading zeros, as
// RFC 5782 2.1 builds them.
func parseOctet(s string) (byte, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 255 {
		return 0, false
	}
	return byte(n), true
}

// isAncestor says whether labels name a strict ancestor of ip's reverse
// name inside the zone (an empty non-terminal: "0.127" above
// "2.0.0.127"), which exists as a node without records.
func isAncestor(labels []string, ip netip.Addr) bool {
	full := reverseLabels(ip)
	k := len(labels)
	if k == 0 || k >= len(full) {
		return false
	}
	tail := full[len(full)-k:]
	for i := range tail {
		if tail[i] != labels[i] {
			return false
		}
	}
	return true
}
