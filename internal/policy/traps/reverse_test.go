package traps

import (
	"net/netip"
	"strings"
	"testing"
)

func TestReverseName(t *testing.T) {
	tests := []struct{ ip, zone, want string }{
		// RFC 5782 2.1
		{"192.0.2.99", "bl.example", "99.2.0.192.bl.example."},
		{"127.0.0.2", "trap.example.test.", "2.0.0.127.trap.example.test."},
		// RFC 5782 2.4, and the mapped test entry of section 5 stays IPv6.
		{"2001:db8::1", "bl.example", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example."},
		{"::FFFF:7F00:2", "bl.example", "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example."},
		{"fe80::1%eth0", "bl.example", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.bl.example."},
		{"192.0.2.1", "", "1.2.0.192."},
	}
	for _, tc := range tests {
		if got := ReverseName(netip.MustParseAddr(tc.ip), tc.zone); got != tc.want {
			t.Errorf("ReverseName(%s, %q) = %q, want %q", tc.ip, tc.zone, got, tc.want)
		}
	}
	if got := ReverseName(netip.Addr{}, "bl.example"); got != "" {
		t.Errorf("ReverseName(invalid) = %q", got)
	}
}

func TestParseReverse(t *testing.T) {
	for _, ip := range []string{"192.0.2.99", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::ffff:7f00:2", "ffff::abcd"} {
		a := netip.MustParseAddr(ip)
		labels := strings.Split(strings.TrimSuffix(ReverseName(a, ""), "."), ".")
		got, ok := parseReverse(labels)
		if !ok || got != a {
			t.Errorf("parseReverse(ReverseName(%s)) = %v, %v", ip, got, ok)
		}
	}
	bad := []string{
		"1.2.3",                        // too few labels: not an address
		"1.2.3.4.5",                    // too many
		"01.2.0.192",                   // leading zero
		"256.2.0.192",                  // out of range
		"x.2.0.192",                    // not a number
		"-1.2.0.192",                   // sign
		strings.Repeat("0.", 31) + "g", // not a nibble
		strings.Repeat("0.", 31) + "00",
	}
	for _, s := range bad {
		if a, ok := parseReverse(strings.Split(s, ".")); ok {
			t.Errorf("parseReverse(%q) = %v, want no address", s, a)
		}
	}
}

func TestIsAncestor(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.2")
	tests := []struct {
		labels string
		want   bool
	}{
		{"127", true},
		{"0.127", true},
		{"0.0.127", true},
		{"2.0.0.127", false}, // the name itself
		{"1.0.127", false},
		{"128", false},
	}
	for _, tc := range tests {
		if got := isAncestor(strings.Split(tc.labels, "."), ip); got != tc.want {
			t.Errorf("isAncestor(%s, %s) = %v", tc.labels, ip, got)
		}
	}
}
