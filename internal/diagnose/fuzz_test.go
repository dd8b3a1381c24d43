package diagnose

import (
	"net/mail"
	"strings"
	"testing"
)

// FuzzMessage checks that Message never panics and that every finding it
// returns is a complete, single-line header value.
func FuzzMessage(f *testing.F) {
	f.Add([]byte(clean), false)
	f.Add([]byte(clean+"Subject: é\r\n\r\nbody\r\n"), true)
	f.Add([]byte("Date: x\nFrom: y\nno colon\n"), false)
	f.Fuzz(func(t *testing.T, header []byte, smtputf8 bool) {
		for _, fd := range Message(header, smtputf8) {
			s := fd.String()
			if strings.ContainsAny(s, "\r\n") {
				t.Errorf("finding %q has CR or LF", s)
			}
			if fd.Code == "" || fd.Text == "" || fd.RFC == "" {
				t.Errorf("incomplete finding %+v", fd)
			}
		}
	})
}

// FuzzPlainDate checks that the hand-written fast path accepts nothing
// net/mail.ParseDate refuses: validDate must answer as ParseDate does.
func FuzzPlainDate(f *testing.F) {
	for _, s := range plainDateCases {
		f.Add(s.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainDate(s) {
			return
		}
		if _, err := mail.ParseDate(s); err != nil {
			t.Fatalf("plainDate accepts %q, ParseDate refuses it: %v", s, err)
		}
	})
}
