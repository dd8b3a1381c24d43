package smtp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		verb Verb
		arg  string
		err  error
	}{
		{"EHLO client.example", VerbEhlo, "client.example", nil},
		{"ehlo client.example", VerbEhlo, "client.example", nil},
		{"HeLo x", VerbHelo, "x", nil},
		{"MAIL FROM:<a@b.example> SIZE=10", VerbMail, "FROM:<a@b.example> SIZE=10", nil},
		{"rcpt to:<a@b>", VerbRcpt, "to:<a@b>", nil},
		{"DATA", VerbData, "", nil},
		{"DATA  ", VerbData, "", nil},
		{"QUIT", VerbQuit, "", nil},
		{"NOOP whatever", VerbNoop, "whatever", nil},
		{"VRFY bob", VerbVrfy, "bob", nil},
		{"EXPN list", VerbExpn, "list", nil},
		{"HELP", VerbHelp, "", nil},
		{"RSET", VerbRset, "", nil},
		{"STARTTLS", VerbStartTLS, "", nil},
		{"AUTH PLAIN", VerbAuth, "PLAIN", nil},
		{"BDAT 10 LAST", VerbBdat, "10 LAST", nil},
		{"GET / HTTP/1.1", VerbUnknown, "/ HTTP/1.1", nil},
		{"Subject: hi", VerbUnknown, "hi", nil},
		{"", VerbUnknown, "", nil},
		{"MAILX FROM:<>", VerbUnknown, "FROM:<>", nil},
		{"HELO a\x00b", VerbUnknown, "", ErrBadCharacter},
		{"HELO a\rb", VerbUnknown, "", ErrBadCharacter},
	}
	for _, tc := range tests {
		c, err := ParseCommand(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			continue
		}
		if c.Verb != tc.verb || (err == nil && c.Arg != tc.arg) {
			t.Errorf("%q = %v %q, want %v %q", tc.in, c.Verb, c.Arg, tc.verb, tc.arg)
		}
	}
}

func TestParseMailArg(t *testing.T) {
	tests := []struct {
		in     string
		path   string
		null   bool
		params []string
		slips  int
		err    error
	}{
		{in: "FROM:<a@b.example>", path: "a@b.example"},
		{in: "from:<a@b.example>", path: "a@b.example"},
		{in: "FROM:<>", null: true},
		{in: "FROM:<> SIZE=100 BODY=8BITMIME", null: true, params: []string{"SIZE=100", "BODY=8BITMIME"}},
		{in: "FROM:<a@b> smtputf8", path: "a@b", params: []string{"SMTPUTF8"}},
		{in: "FROM: <a@b.example>", path: "a@b.example", slips: 1},
		{in: "FROM:a@b.example", path: "a@b.example", slips: 1},
		{in: "FROM: a@b.example SIZE=1", path: "a@b.example", slips: 2, params: []string{"SIZE=1"}},
		{in: `FROM:<"john doe"@b.example>`, path: `"john doe"@b.example`},
		{in: `FROM:<"a>b"@b.example>`, path: `"a>b"@b.example`},
		{in: `FROM:<"a\"b"@b.example>`, path: `"a\"b"@b.example`},
		{in: "FROM:<@r1.example,@r2.example:a@b.example>", path: "a@b.example"},
		{in: "FROM:<a@[192.0.2.1]>", path: "a@[192.0.2.1]"},
		{in: "FROM:<a@[IPv6:2001:db8::1]>", path: "a@[IPv6:2001:db8::1]"},
		{in: "FROM:<δοκιμή@παράδειγμα.δοκιμή>", path: "δοκιμή@παράδειγμα.δοκιμή"},
		{in: "FROM:<a@b", err: ErrBadAddress},
		{in: "FROM:<a>", err: ErrBadAddress},
		{in: "FROM:<a..b@c>", err: ErrBadAddress},
		{in: "FROM:<a@-b>", err: ErrBadAddress},
		{in: "FROM:<a@[300.1.1.1]>", err: ErrBadAddress},
		{in: "FROM:<a b@c>", err: ErrBadAddress},
		{in: "FROM:<" + strings.Repeat("a", 65) + "@b>", err: ErrPathTooLong},
		{in: "FROM:<a@" + strings.Repeat("b", 300) + ">", err: ErrPathTooLong},
		{in: "FROM:<a@b> SIZE", path: "a@b", params: []string{"SIZE"}},
		{in: "FROM:<a@b> SIZE=1 SIZE=2", err: ErrDupParam},
		{in: "FROM:<a@b> size=1 SMTPUTF8 SMTPUTF8 BODY=8BITMIME", path: "a@b", params: []string{"SIZE=1", "SMTPUTF8", "BODY=8BITMIME"}, slips: 1},
		{in: "FROM:<a@b> =x", err: ErrBadParam},
		{in: "FROM:<a@b>SIZE=1", err: ErrSyntax},
		{in: "TO:<a@b>", err: ErrSyntax},
		{in: "FROM", err: ErrSyntax},
	}
	for _, tc := range tests {
		pa, err := ParseMailArg(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if pa.Path.String() != tc.path || pa.Path.Null != tc.null {
			t.Errorf("%q: path %q null %v, want %q %v", tc.in, pa.Path.String(), pa.Path.Null, tc.path, tc.null)
		}
		var ps []string
		for _, p := range pa.Params {
			s := p.Key
			if p.HasValue {
				s += "=" + p.Value
			}
			ps = append(ps, s)
		}
		if strings.Join(ps, " ") != strings.Join(tc.params, " ") {
			t.Errorf("%q: params %v, want %v", tc.in, ps, tc.params)
		}
		if len(pa.Slips) != tc.slips {
			t.Errorf("%q: slips %v, want %d", tc.in, pa.Slips, tc.slips)
		}
	}
}

func TestParseRcptArg(t *testing.T) {
	tests := []struct {
		in, path   string
		postmaster bool
		err        error
	}{
		{in: "TO:<b@c.example>", path: "b@c.example"},
		{in: "TO:<postmaster>", path: "postmaster", postmaster: true},
		{in: "TO:<PostMaster>", path: "PostMaster", postmaster: true},
		{in: "TO:<Postmaster@c.example>", path: "Postmaster@c.example"},
		{in: "TO:<>", err: ErrNullNotValid},
		{in: "TO:<bob>", err: ErrBadAddress},
		{in: "TO:<@a.example,@b.example:u@local.example>", path: "u@local.example"},
	}
	for _, tc := range tests {
		pa, err := ParseRcptArg(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (pa.Path.String() != tc.path || pa.Path.IsPostmaster() != tc.postmaster) {
			t.Errorf("%q: %q postmaster=%v", tc.in, pa.Path.String(), pa.Path.IsPostmaster())
		}
	}
}

func TestPathASCII(t *testing.T) {
	pa, _ := ParseMailArg("FROM:<ü@b.example>")
	if pa.Path.ASCII() {
		t.Fatal("UTF-8 path reported ASCII")
	}
	pa, _ = ParseMailArg("FROM:<u@b.example>")
	if !pa.Path.ASCII() {
		t.Fatal("ASCII path reported non-ASCII")
	}
}

func TestReplyFormat(t *testing.T) {
	tests := []struct {
		r    Reply
		want string
	}{
		{ReplyOK, "250 2.0.0 Ok\r\n"},
		{ReplyStartData, "354 End data with <CR><LF>.<CR><LF>\r\n"},
		{Reply{Code: 250, Enhanced: EnhancedCode{2, 0, 0}, Lines: []string{"host", "SIZE 10", "PIPELINING"}}, "250-2.0.0 host\r\n250-2.0.0 SIZE 10\r\n250 2.0.0 PIPELINING\r\n"},
		{Reply{Code: 250, Lines: []string{"a", "b"}}, "250-a\r\n250 b\r\n"},
		{NewReply(550, EnhancedCode{5, 1, 1}, "no %s\r\n250 forged", "x"), "550 5.1.1 no x  250 forged\r\n"},
	}
	for _, tc := range tests {
		if got := string(tc.r.Format()); got != tc.want {
			t.Errorf("Format = %q, want %q", got, tc.want)
		}
		// AppendFormat keeps what dst held (the session reuses one buffer).
		if got := string(tc.r.AppendFormat([]byte("prev"))); got != "prev"+tc.want {
			t.Errorf("AppendFormat = %q, want %q", got, "prev"+tc.want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"EHLO x", "MAIL FROM:<a@b> SIZE=1", "RCPT TO:<\"q\"@[IPv6:::1]>", "MAIL FROM:<@a,@b:c@d>", "DATA", "\x00", "RCPT TO:<postmaster>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			return
		}
		if c.Verb != VerbUnknown && !strings.EqualFold(c.Name, c.Verb.String()) {
			t.Fatalf("verb %v from name %q", c.Verb, c.Name)
		}
		for _, parse := range []func(string) (PathArg, error){ParseMailArg, ParseRcptArg} {
			pa, err := parse(c.Arg)
			if err != nil {
				continue
			}
			if len(pa.Path.Local) > MaxLocalPartLen || len(pa.Path.Domain) > MaxDomainLen {
				t.Fatalf("accepted over-long path %q", pa.Path.String())
			}
			if strings.ContainsAny(pa.Path.String(), "\r\n\x00") {
				t.Fatalf("control character in path %q", pa.Path.String())
			}
		}
	})
}
