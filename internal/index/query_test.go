package index

import (
	"errors"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"hello", "hello"},
		{"  hello   world ", "hello world"},
		{"FROM:Bob", "from:Bob"},
		{"from:bob@example.com to:alice", "from:bob@example.com to:alice"},
		{`subject:"hello world"`, `subject:"hello world"`},
		{`subject:"say \"hi\" \\ there"`, `subject:"say \"hi\" \\ there"`},
		{`"quoted phrase" -"not this"`, `"quoted phrase" -"not this"`},
		{"-from:spam", "-from:spam"},
		{"is:unread", "is:unread"},
		{"-is:unread", "is:read"},
		{"IS:READ", "is:read"},
		{"has:attachment -has:attachments", "has:attachment -has:attachments"},
		{"ip:10.0.0.0/8 ip:192.0.2.1 ip:192.168.", "ip:10.0.0.0/8 ip:192.0.2.1 ip:192.168."},
		{"before:2026-01-02 after:2026-01-02T10:00:00+01:00", "before:2026-01-02 after:2026-01-02T10:00:00+01:00"},
		{"re:hello", "re:hello"}, // unknown key: free text
		{"-", "-"},               // a lone dash is a word
		{"--x", "--x"},           // negated word "-x"
		{"a\tb\x00c", "a b c"},   // control characters separate
		{`from:a"b`, `from:a"b`}, // a quote inside a bare value
		{`tag:"two words"`, `tag:"two words"`},
		{"verdict:dnsbl:zen.example", "verdict:dnsbl:zen.example"},
	} {
		q, err := ParseQuery(c.in)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", c.in, err)
			continue
		}
		if got := q.String(); got != c.want {
			t.Errorf("ParseQuery(%q).String() = %q, want %q", c.in, got, c.want)
		}
		again, err := ParseQuery(q.String())
		if err != nil || again.String() != q.String() {
			t.Errorf("%q does not round-trip: %q, %v", c.in, again.String(), err)
		}
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, c := range []struct {
		in  string
		pos int
		msg string
	}{
		{`"unterminated`, 0, "unterminated quote"},
		{`hello "open`, 6, "unterminated quote"},
		{`subject:"x`, 8, "unterminated quote"},
		{`from:`, 5, "needs a value"},
		{`from: x`, 5, "needs a value"},
		{`to:""`, 3, "needs a value"},
		{`is:maybe`, 3, "is:read or is:unread"},
		{`has:pdf`, 4, "has:attachment"},
		{`x before:yesterday`, 9, "not a date"},
		{`after:2026-13-01`, 6, "not a date"},
		{`ip:10.0.0.0/33`, 3, "not an IP address"},
		{`ip:10.0.0.1.2`, 3, "not an IP address"},
		{`ip:256.`, 3, "not an IP address"},
		{`ip:host.example`, 3, "not an IP address"},
		{`from:%`, 5, "no letters or digits"},
		{`-subject:"***"`, 9, "no letters or digits"},
		{`"a"b`, 3, "space must follow"},
		{strings.Repeat("a ", maxTerms+1), 2 * maxTerms, "more than"},
	} {
		_, err := ParseQuery(c.in)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("ParseQuery(%q): err = %v, want a *QueryError", c.in, err)
			continue
		}
		if qe.Pos != c.pos || !strings.Contains(qe.Msg, c.msg) {
			t.Errorf("ParseQuery(%q): %v (pos %d), want pos %d and %q", c.in, err, qe.Pos, c.pos, c.msg)
		}
	}
}

func TestParseSort(t *testing.T) {
	for _, s := range []string{"", "received", "-received", "size", "-size", "subject", "-subject", "from", "-from"} {
		if _, err := parseSort(s); err != nil {
			t.Errorf("parseSort(%q): %v", s, err)
		}
	}
	for _, s := range []string{"date", "--size", "received; DROP TABLE messages", "-"} {
		if _, err := parseSort(s); err == nil {
			t.Errorf("parseSort(%q): no error", s)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "hello", `from:"a b" -is:read`, `"x \" y"`, "ip:10.0.0.0/8", "before:2026-01-02", "-", "--",
		`subject:"`, "a\x00b", "\xff\xfe", `verdict:dnsbl: tag:"" "NEAR(a b)" OR *`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Pos < 0 || qe.Pos > len(s) {
				t.Fatalf("ParseQuery(%q): bad error %v", s, err)
			}
			return
		}
		again, err := ParseQuery(q.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, q.String(), err)
		}
		if again.String() != q.String() {
			t.Fatalf("round trip of %q: %q then %q", s, q.String(), again.String())
		}
		pl := q.plan()
		for _, st := range []string{"received", "-received", "size"} {
			sq, args := pl.page(sortSpec{key: st, order: sortKeys[strings.TrimPrefix(st, "-")]})
			if strings.Count(sq, "?") != len(args)+2 {
				t.Fatalf("%q: %d placeholders, %d args + 2", s, strings.Count(sq, "?"), len(args))
			}
		}
	})
}
