package diagnose

import (
	"net/mail"
	"testing"
)

// plainDateCases: plain says whether the fast path takes the string on
// its own; every case is also checked against mail.ParseDate.
var plainDateCases = []struct {
	in    string
	plain bool
}{
	{"Mon, 2 Jan 2006 15:04:05 -0700", true},
	{"Tue, 29 Feb 2028 23:59:59 +0000", true},
	{"29 Feb 2028 23:59 +1400", true},
	{"Sun, 31 Dec 1999 00:00:00 +0100", true},
	{"Thu, 29 Feb 2027 10:00:00 +0000", false},     // not a leap year
	{"Thu, 31 Apr 2027 10:00:00 +0000", false},     // April has 30 days
	{"Thu, 1 Apr 2027 24:00:00 +0000", false},      // hour
	{"Thu, 1 Apr 2027 10:60:00 +0000", false},      // minute
	{"Thu, 1 Apr 2027 10:00:60 +0000", false},      // leap second: ParseDate refuses it too
	{"Thu, 1 Apr 2027 10:00:00 +0000 (UTC)", true}, // smtp-source, Postfix
	{"Thu, 1 Apr 2027 10:00:00 +0000 (Coordinated Universal Time)", true},
	{"Thu, 1 Apr 2027 10:00:00 +0000 (UTC", false},
	{"Thu, 1 Apr 2027 10:00:00 +0000 ()", false},
	{"Thu, 1 Apr 2027 10:00:00 +0000(UTC)", false},
	{"Thu, 1 Apr 2027 10:00:00 +0000 (a (nested) one)", false}, // ParseDate decides
	{"Thu, 1 Apr 2027 10:00:00 +0000 (UTC) ", false},
	{"Thu, 1 Apr 2027 10:00:00 +0000 (U\\TC)", false},
	{"Thu, 1 Apr 2027 10:00:00 GMT", false}, // obs-zone: ParseDate decides
	{"Thu, 1 Apr 27 10:00:00 +0000", false}, // two-digit year: ParseDate decides
	{"Thx, 1 Apr 2027 10:00:00 +0000", false},
	{"Thu, 1 Apc 2027 10:00:00 +0000", false},
	{"Thu, 1 anF 2027 10:00:00 +0000", false},
	{"Thu, 0 Apr 2027 10:00:00 +0000", false},
	{"Thu, 123 Apr 2027 10:00:00 +0000", false},
	{"Thu, 1 Apr 2027 10:00:00 +00000", false},
	{"Thu, 1 Apr 2027 10:00:00 0000", false},
	{"Thu, 1 Apr 2027 1:00:00 +0000", false},
	{"2027-04-01T10:00:00Z", false},
	{"", false},
	{"yesterday", false},
}

func TestPlainDate(t *testing.T) {
	for _, tc := range plainDateCases {
		if got := plainDate(tc.in); got != tc.plain {
			t.Errorf("plainDate(%q) = %v, want %v", tc.in, got, tc.plain)
		}
		if _, err := mail.ParseDate(tc.in); tc.plain && err != nil {
			t.Errorf("plainDate takes %q, which ParseDate refuses: %v", tc.in, err)
		}
		if tc.plain && !validDate(tc.in) {
			t.Errorf("validDate(%q) = false", tc.in)
		}
	}
}

// validDate follows RFC 5322 3.3 where mail.ParseDate is lax or strict
// the wrong way: it takes tabs as the folding white space they are, and
// refuses what follows the zone unless it is a comment, and fractional
// seconds.
func TestValidDate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		valid bool
	}{
		{"Mon, 2 Jan 2006 15:04:05 -0700", true},
		{"Mon, 2 Jan 2006\t15:04:05 +0000", true},  // folded with a tab, then unfolded
		{"Mon, 2 Jan 2006 15:04:05\t+0000", true},  // ParseDate refuses both
		{"Mon,\t2 Jan 2006  15:04:05 +0000", true}, // FWS is any run of WSP
		{"Thu, 1 Apr 2027 10:00:00 +0000 (UTC) ", true},
		{"Thu, 1 Apr 2027 10:00:00 +0000(UTC)", true},
		{"Thu, 1 Apr 2027 10:00:00 +0000 (a (nested) one)", true},
		{"Thu, 1 Apr 2027 (noon) 10:00:00 +0000", true},
		{"Thu, 20 Nov 1997 09:55:06 MDT (MDT)", true},
		{"Thu, 1 Apr 2027 10:00:00 GMT", true},
		{"Thu, 1 Apr 27 10:00:00 +0000", true},
		{"2 Jan 2006 15:04 GMT", true},
		{"Tue, 1 Jul 2003 10:52:37 +0200 CEST", false}, // PHP's date('r T'): the name belongs in a comment
		{"Mon, 2 Jan 2006 15:04:05 +0000 +0000", false},
		{"Mon, 2 Jan 2006 15:04:05 +0000 garbage here", false},
		{"Mon, 2 Jan 2006 15:04:05.999 +0000", false}, // no fractions in time-of-day
		{"Thu, 1 Apr 2027 10:00:00 +00000", false},
		{"Thu, 1 Apr 2027 10:00:00 +0000 (UTC", false},
		{"Thu, 1 Apr 2027 10:00:00 +0000 UTC)", false},
		{"Thu, 29 Feb 2027 10:00:00 +0000", false},
		{"Thx, 1 Apr 2027 10:00:00 +0000", false},
		{"2027-04-01T10:00:00Z", false},
		{"", false},
		{"yesterday", false},
	} {
		if got := validDate(tc.in); got != tc.valid {
			t.Errorf("validDate(%q) = %v, want %v", tc.in, got, tc.valid)
		}
	}
}

// BenchmarkValidDate compares the fast path with ParseDate on the
// canonical form (go test -bench ValidDate ./internal/diagnose).
func BenchmarkValidDate(b *testing.B) {
	const d = "Thu, 21 Nov 2026 10:00:00 +0100"
	b.Run("validDate", func(b *testing.B) {
		for b.Loop() {
			validDate(d)
		}
	})
	b.Run("ParseDate", func(b *testing.B) {
		for b.Loop() {
			mail.ParseDate(d)
		}
	})
}
