package smtpd

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseBDAT(t *testing.T) {
	tests := []struct {
		arg      string
		size     int64
		last, ok bool
	}{
		{"10", 10, false, true},
		{"0 LAST", 0, true, true},
		{"123 last", 123, true, true},
		{"  7   LAST ", 7, true, true},
		{"", 0, false, false},
		{"-1", 0, false, false},
		{"+5", 0, false, false},
		{"5 FIRST", 0, false, false},
		{"5 LAST extra", 0, false, false},
		{"99999999999999999999", 0, false, false},
		{"0x10", 0, false, false},
	}
	for _, tc := range tests {
		size, last, ok := parseBDAT(tc.arg)
		if ok != tc.ok || ok && (size != tc.size || last != tc.last) {
			t.Errorf("parseBDAT(%q) = %d %v %v", tc.arg, size, last, ok)
		}
	}
}

func FuzzParseBDAT(f *testing.F) {
	for _, s := range []string{"10", "0 LAST", "1 last", "", "9223372036854775807 LAST", "1 2", "٣ LAST"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		size, last, ok := parseBDAT(arg)
		if !ok {
			return
		}
		if size < 0 {
			t.Fatalf("negative size from %q", arg)
		}
		// What was accepted prints back to the same command.
		f := strings.Fields(arg)
		if strconv.FormatInt(size, 10) != strings.TrimLeft(f[0], "0") && !(size == 0 && strings.Trim(f[0], "0") == "") {
			t.Fatalf("size %d from %q", size, arg)
		}
		if last != (len(f) == 2) {
			t.Fatalf("LAST %v from %q", last, arg)
		}
	})
}
