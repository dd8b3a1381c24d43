// Package dnsbl checks client addresses against DNS allowlists and
// blocklists (RFC 5782) the way Postfix postscreen does: every list is
// queried in parallel at connect time, answers are filtered and weighted,
// and a client's score decides whether it is listed or allowlisted. Lists
// that fail the RFC 5782 section 5 self-test, or answer with error codes,
// are logged and never count.
package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Entry is one configured list, written like a postscreen_dnsbl_sites
// entry: "zone", "zone=127.0.0.[2..11]" (only answers matching the filter
// count) and "zone*3" (weight; negative for an allowlist), or both,
// "zone=127.0.0.2*3".
type Entry struct {
	Zone   string
	Filter *Filter // nil: any valid answer counts
	Weight int
	Raw    string
}

// ParseEntry parses one entry; defaultWeight applies when none is written
// (the original's lists: +1 for rbl_providers, -1 for rwl_providers).
func ParseEntry(s string, defaultWeight int) (Entry, error) {
	e := Entry{Raw: s, Weight: defaultWeight}
	rest := strings.TrimSpace(s)
	if i := strings.LastIndexByte(rest, '*'); i >= 0 {
		w, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			return e, fmt.Errorf("dnsbl: entry %q: bad weight %q", s, rest[i+1:])
		}
		e.Weight, rest = w, rest[:i]
	}
	if zone, pattern, ok := strings.Cut(rest, "="); ok {
		f, err := ParseFilter(pattern)
		if err != nil {
			return e, fmt.Errorf("dnsbl: entry %q: %w", s, err)
		}
		e.Filter, rest = f, zone
	}
	e.Zone = strings.ToLower(strings.TrimSuffix(rest, "."))
	if e.Zone == "" || strings.ContainsAny(e.Zone, " \t/") {
		return e, fmt.Errorf("dnsbl: entry %q: bad zone", s)
	}
	return e, nil
}

// Filter matches list answers (IPv4 addresses) octet by octet. Each octet
// is a number, or a bracketed list of numbers and ranges separated by ';':
// "127.0.0.[2..11]", "127.0.0.[2;4..7;9]", "127.0.[0..255].[1..3]".
type Filter struct {
	octets [4][]octetRange
	text   string
}

type octetRange struct{ lo, hi uint8 }

// ParseFilter parses a filter pattern.
func ParseFilter(p string) (*Filter, error) {
	f := &Filter{text: p}
	parts := splitOctets(p)
	if len(parts) != 4 {
		return nil, fmt.Errorf("filter %q: want four octets", p)
	}
	for i, part := range parts {
		rs, err := parseOctet(part)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %w", p, err)
		}
		f.octets[i] = rs
	}
	return f, nil
}

// splitOctets splits on dots outside brackets ("[1..3]" holds dots).
func splitOctets(p string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				parts = append(parts, p[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, p[start:])
}

func parseOctet(s string) ([]octetRange, error) {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		var rs []octetRange
		for _, item := range strings.Split(s[1:len(s)-1], ";") {
			lo, hi, isRange := strings.Cut(item, "..")
			a, err := parseByte(lo)
			if err != nil {
				return nil, err
			}
			b := a
			if isRange {
				if b, err = parseByte(hi); err != nil {
					return nil, err
				}
			}
			if b < a {
				return nil, fmt.Errorf("empty range %q", item)
			}
			rs = append(rs, octetRange{a, b})
		}
		return rs, nil
	}
	a, err := parseByte(s)
	if err != nil {
		return nil, err
	}
	return []octetRange{{a, a}}, nil
}

func parseByte(s string) (uint8, error) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("bad octet %q", s)
	}
	return uint8(n), nil
}

// Match reports whether answer a matches the filter.
func (f *Filter) Match(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	for i, rs := range f.octets {
		ok := false
		for _, r := range rs {
			if b[i] >= r.lo && b[i] <= r.hi {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// String returns the pattern as written.
func (f *Filter) String() string { return f.text }

// ErrNotWorking marks an answer that shows the list is not working for us:
// outside 127.0.0.0/8, or in 127.255.255.0/24 (Spamhaus: typo in the zone,
// query through a public resolver, rate limit). Such answers must never
// count as a listing.
var ErrNotWorking = errors.New("dnsbl: list answered with an error code")

var (
	loopback8  = netip.MustParsePrefix("127.0.0.0/8")
	errorCodes = netip.MustParsePrefix("127.255.255.0/24")
)

// checkAnswer classifies one A record from a list.
func checkAnswer(a netip.Addr) error {
	a = a.Unmap()
	if !loopback8.Contains(a) || errorCodes.Contains(a) {
		return fmt.Errorf("%w: %s", ErrNotWorking, a)
	}
	return nil
}

// QueryName returns the RFC 5782 query name for ip in zone: reversed IPv4
// octets (section 2.1) or 32 reversed nibbles for IPv6 (section 2.4). An
// IPv4-mapped IPv6 address is looked up as IPv4, so a dual-stack listener
// does not turn every IPv4 client into an IPv6 query.
func QueryName(ip netip.Addr, zone string) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		o := ip.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.", o[3], o[2], o[1], o[0])
	} else {
		const hexd = "0123456789abcdef"
		o := ip.As16()
		for i := 15; i >= 0; i-- {
			b.WriteByte(hexd[o[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hexd[o[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(strings.TrimSuffix(zone, "."))
	b.WriteByte('.')
	return b.String()
}

// SkipCheck reports whether ip is private or special, so that DNS lists
// are not asked about it (the original's rule): loopback, RFC 1918,
// link-local, unique-local (fc00::/7), CGNAT 100.64.0.0/10, unspecified.
func SkipCheck(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
