package diagnose

import (
	"strings"
	"testing"
)

func TestHeloArg(t *testing.T) {
	tests := []struct {
		arg  string
		want bool
	}{
		{"mail.example.com", true},
		{"localhost", true},
		{"MAIL.Example.COM", true},
		{"xn--bcher-kva.example", true},
		{"a-b.example", true},
		{"1st.example", true},
		{"[192.0.2.1]", true},
		{"[010.000.002.001]", true}, // Snum allows leading zeros
		{"[IPv6:2001:db8::1]", true},
		{"[ipv6:2001:db8::1]", true},
		{"[IPv6:::ffff:192.0.2.1]", true},
		{strings.Repeat("a", 63) + ".example", true},

		{"", false},
		{"mail_server", false},
		{"[300.1.1.1]", false},
		{"-x.example", false},
		{"x-.example", false},
		{"a..b", false},
		{".example", false},
		{"example.", false},
		{"192.0.2.1", false}, // an IP address without its brackets
		{"[192.0.2]", false},
		{"[192.0.2.1.5]", false},
		{"[1920.0.2.1]", false},
		{"[2001:db8::1]", false}, // IPv6 needs the tag
		{"[IPv6:192.0.2.1]", false},
		{"[IPv6:fe80::1%eth0]", false},
		{"[IPv6:]", false},
		{"[]", false},
		{"[", false},
		{"[x:y]", false}, // general literal, no such tag registered
		{"mail example", false},
		{"bücher.example", false},
		{strings.Repeat("a", 64) + ".example", false},
		{strings.Repeat("a.", 128) + "com", false}, // over 255 octets
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			if got := HeloArg(tt.arg); got != tt.want {
				t.Errorf("HeloArg(%q) = %v, want %v", tt.arg, got, tt.want)
			}
		})
	}
}
