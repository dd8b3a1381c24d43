package smtpd_test

import (
	"bytes"
	"fmt"
	"net/smtp"
	"strings"
	"testing"
)

func TestNetSMTPClientDelivers(t *testing.T) {
	e := start(t, devConfig())
	msg := "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n.leading dot\r\n"
	if err := smtp.SendMail(e.addr, nil, "a@example.org", []string{"b@example.net", "c@example.net"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	ms := e.messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages stored", len(ms))
	}
	m := ms[0]
	if string(m.body) != msg {
		t.Fatalf("body = %q, want %q", m.body, msg)
	}
	if m.env.MailFrom != "a@example.org" || strings.Join(m.env.RcptTo, ",") != "b@example.net,c@example.net" {
		t.Fatalf("envelope %+v", m.env)
	}
	if m.env.ClientIP.String() != "127.0.0.1" || m.env.ClientPort == 0 || m.env.Helo != "localhost" {
		t.Fatalf("client %v:%d helo %q", m.env.ClientIP, m.env.ClientPort, m.env.Helo)
	}
}

func TestEHLOAndHELO(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	r := c.Expect("EHLO client.example", 250)
	want := []string{"PIPELINING", fmt.Sprintf("SIZE %d", 1<<20), "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"}
	if len(r.Lines) != len(want)+1 || !strings.HasPrefix(r.Lines[0], "mx.fakesmtp.test") {
		t.Fatalf("EHLO reply %v", r)
	}
	for i, w := range want {
		if r.Lines[i+1] != w {
			t.Errorf("EHLO line %d = %q, want %q", i+1, r.Lines[i+1], w)
		}
	}
	if r := c.Expect("HELO client.example", 250); r.Lines[0] != "mx.fakesmtp.test" {
		t.Fatalf("HELO reply %v", r)
	}
	c.Expect("EHLO", 501)
	c.Expect("HELO", 501)
	c.Expect("QUIT", 221)
	c.ExpectClosed()
}

func TestEnhancedCodes(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	for _, tc := range []struct{ cmd, want string }{
		{"MAIL FROM:<a@b.example>", "503 5.5.1"},
		{"EHLO x.example", ""},
		{"NOOP", "250 2.0.0"},
		{"VRFY bob", "252 2.5.2"},
		{"EXPN list", "252 2.5.2"},
		{"HELP", "214 2.0.0"},
		{"RSET", "250 2.0.0"},
		{"FOO", "500 5.5.2"},
		{"STARTTLS", "502 5.5.1"},
		{"MAIL FROM:<a@b.example>", "250 2.1.0"},
		{"RCPT TO:<c@d.example>", "250 2.1.5"},
	} {
		r := c.Cmd(tc.cmd)
		if got := fmt.Sprintf("%d %s", r.Code, r.Lines[0]); tc.want != "" && !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want prefix %q", tc.cmd, got, tc.want)
		}
	}
}

func TestSequenceErrors(t *testing.T) {
	cfg := devConfig()
	cfg.MaxErrors = 100
	e := start(t, cfg)
	c := e.dial()
	c.Expect("MAIL FROM:<a@b.example>", 503)
	c.Expect("RCPT TO:<a@b.example>", 503)
	c.Expect("DATA", 503)
	c.Expect("EHLO x.example", 250)
	c.Expect("RCPT TO:<a@b.example>", 503)
	c.Expect("DATA", 503)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("DATA", 503)
	c.Expect("MAIL FROM:<a@b.example>", 503)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Expect("MAIL FROM:<a@b.example>", 503)
	// RSET clears the transaction, not the counters.
	c.Expect("RSET", 250)
	c.Expect("RCPT TO:<c@d.example>", 503)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("QUIT", 221)
	waitFor(t, "summary", func() bool { return hasLine(e.logs.String(), "errors=9") })
}

func TestAddressesAndParameters(t *testing.T) {
	cfg := devConfig()
	cfg.MaxErrors = 100
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	for _, tc := range []struct {
		cmd  string
		code int
	}{
		{"MAIL FROM:<a@b.example> FOO=1", 555},
		{"MAIL FROM:<a@b.example> SIZE=abc", 501},
		{fmt.Sprintf("MAIL FROM:<a@b.example> SIZE=%d", 2<<20), 552},
		{"MAIL FROM:<a@b.example> BODY=BINARY", 501},
		{"MAIL FROM:<bad>", 501},
		{"MAIL FROM:<ü@b.example>", 553},
		{"MAIL FROM:<" + strings.Repeat("a", 70) + "@b.example>", 501},
		{"MAIL FROM:<ü@b.example> SMTPUTF8 BODY=8BITMIME SIZE=100", 250},
		{"RCPT TO:<ö@d.example>", 250},
		{"RCPT TO:<postmaster>", 250},
		{"RCPT TO:<@r.example:e@d.example>", 250},
		{`RCPT TO:<"quoted local"@d.example>`, 250},
		{"RCPT TO:<e@d.example> XFOO=1", 555},
		{"RCPT TO:<e@d.example> NOTIFY=NEVER,SUCCESS", 501},
		{"RCPT TO:<e@d.example> NOTIFY=SOMETIMES", 501},
		{"RCPT TO:<e@d.example> ORCPT=rfc822", 501},
		{"RCPT TO:<e@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;e+40d.example", 250},
		{"RCPT TO:<>", 501},
		{"RSET", 250},
		{"MAIL FROM:<>", 250},
		{"RCPT TO:<ö@d.example>", 553},
	} {
		if r := c.Cmd(tc.cmd); r.Code != tc.code {
			t.Errorf("%s: %v, want %d", tc.cmd, r, tc.code)
		}
	}
}

func TestUTF8MessageStored(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	c.Expect("MAIL FROM:<jörg@bücher.example> SMTPUTF8", 250)
	c.Expect("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>", 250)
	c.Expect("DATA", 354)
	body := "Subject: Grüße\r\n\r\n€ 100 — 日本語\r\n"
	c.Send(body + ".\r\n")
	if r := c.Read(); r.Code != 250 {
		t.Fatal(r)
	}
	m := e.messages()[0]
	if string(m.body) != body || m.env.MailFrom != "jörg@bücher.example" || m.env.RcptTo[0] != "δοκιμή@παράδειγμα.δοκιμή" {
		t.Fatalf("stored %+v %q", m.env, m.body)
	}
	if !bytes.Contains(m.body, []byte("日本語")) {
		t.Fatal("UTF-8 body changed")
	}
}

func TestByteExactStorage(t *testing.T) {
	binary := make([]byte, 0, 512)
	for i := 0; i < 256; i++ {
		if i != '\r' && i != '\n' {
			binary = append(binary, byte(i))
		}
	}
	cases := map[string]string{
		"8bit":        "Subject: x\r\n\r\n" + string(binary) + "\r\n",
		"dot-stuffed": "a\r\n.\r\n..\r\n.x\r\n",
		"line-1000":   strings.Repeat("L", 998) + "\r\n" + strings.Repeat("M", 998) + "\r\n",
		"long-line":   strings.Repeat("N", 5000) + "\r\n",
		"bare-lf-cr":  "one\ntwo\rthree\r\n",
		"empty":       "",
		"no-headers":  "just a line\r\n",
	}
	e := start(t, devConfig())
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			before := len(e.messages())
			c := e.dial()
			c.Expect("EHLO x.example", 250)
			r := sendMessage(t, c, "a@b.example", "c@d.example", stuffForWire(content)+".\r\n")
			if r.Code != 250 || !strings.HasPrefix(r.Lines[0], "2.0.0 Ok: queued as ") {
				t.Fatalf("reply %v", r)
			}
			ms := e.messages()
			if len(ms) != before+1 {
				t.Fatalf("stored %d", len(ms))
			}
			var got *stored
			for i := range ms {
				if strings.HasSuffix(r.Lines[0], ms[i].env.ID) {
					got = &ms[i]
				}
			}
			if got == nil {
				t.Fatalf("no file for %v", r)
			}
			if string(got.body) != content {
				t.Fatalf("stored %q\nwant   %q", got.body, content)
			}
		})
	}
}

// stuffForWire dot-stuffs content like a client (RFC 5321 4.5.2).
func stuffForWire(content string) string {
	lines := strings.SplitAfter(content, "\r\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.HasPrefix(l, ".") {
			b.WriteByte('.')
		}
		b.WriteString(l)
	}
	return b.String()
}

// Smuggling (antispam.md 4.1, CVE-2023-51764): the smuggled MAIL/RCPT/DATA
// are content; exactly one message is accepted, holding them.
func TestSmuggling(t *testing.T) {
	variants := map[string]string{
		"S2_LFDotLF":         "\n.\n",
		"S3_LFDotCRLF":       "\n.\r\n",
		"S4_CRLFDotLF":       "\r\n.\n",
		"S5_CRDotCR":         "\r.\r",
		"S6_CRDotLF":         "\r.\n",
		"S6_LFDotCR":         "\n.\r",
		"S6_CRDotCRLF":       "\r.\r\n",
		"S6_CRLFDotCR":       "\r\n.\r",
		"S7_CRLFDotCRCRLF":   "\r\n.\r\r\n",
		"S7_CRCRLFDotCRCRLF": "\r\r\n.\r\r\n",
		"S8_NULDot":          "\r\n\x00.\r\n",
		"S8_DotNUL":          "\r\n.\x00\r\n",
		"S8_CRNULLF":         "\r\x00\n.\r\n",
		"S8_DotCRNULLF":      "\r\n.\r\x00\n",
	}
	e := start(t, devConfig())
	for name, seq := range variants {
		t.Run(name, func(t *testing.T) {
			before := len(e.messages())
			c := e.dial()
			c.Expect("EHLO x.example", 250)
			c.Expect("MAIL FROM:<a@b.example>", 250)
			c.Expect("RCPT TO:<trap@local.example>", 250)
			c.Expect("DATA", 354)
			smuggled := "MAIL FROM:<evil@x.example>\r\nRCPT TO:<trap@local.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nbody"
			c.Send("Subject: t\r\n\r\nline1" + seq + smuggled + "\r\n.\r\n")
			r := c.Read()
			if r.Code != 250 {
				t.Fatalf("final reply %v", r)
			}
			if r := c.Cmd("QUIT"); r.Code != 221 {
				t.Fatalf("after message: %v (a smuggled command was answered)", r)
			}
			ms := e.messages()
			if len(ms) != before+1 {
				t.Fatalf("%d messages stored, want 1", len(ms)-before)
			}
			body := string(ms[len(ms)-1].body)
			if !strings.Contains(body, "MAIL FROM:<evil@x.example>") {
				t.Fatalf("smuggled text not kept as content: %q", body)
			}
		})
	}
	t.Run("S8_NULAfterEnd", func(t *testing.T) {
		c := e.dial()
		c.Expect("EHLO x.example", 250)
		c.Expect("MAIL FROM:<a@b.example>", 250)
		c.Expect("RCPT TO:<trap@local.example>", 250)
		c.Expect("DATA", 354)
		c.Send("x\r\n.\r\n\x00MAIL FROM:<evil@x.example>\r\n")
		if r := c.Read(); r.Code != 250 {
			t.Fatal(r)
		}
		if r := c.Read(); r.Code != 500 {
			t.Fatalf("NUL command: %v", r)
		}
	})
}

func TestStrictLineEndings(t *testing.T) {
	cfg := devConfig()
	cfg.MaxErrors = 100
	cfg.StrictLineEndings = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	r := sendMessage(t, c, "a@b.example", "c@d.example", "a\nb\r\n.\r\n")
	if r.Code != 550 || !strings.HasPrefix(r.Lines[0], "5.5.2") {
		t.Fatalf("bare LF message: %v", r)
	}
	if len(e.messages()) != 0 || len(e.tmpFiles()) != 0 {
		t.Fatal("refused message left a file")
	}
	// The session is in step: a clean message goes through.
	if r := sendMessage(t, c, "a@b.example", "c@d.example", "ok\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	c.Send("NOOP\n")
	if r := c.Read(); r.Code != 500 {
		t.Fatalf("bare LF command: %v", r)
	}
}

func TestBareLFCommandTolerated(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	c.Send("EHLO x.example\n")
	if r := c.Read(); r.Code != 250 {
		t.Fatal(r)
	}
	waitFor(t, "log note", func() bool { return hasLine(e.logs.String(), "code=bare-lf-command") })
}

func TestLongCommandLine(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	r := c.Cmd("EHLO " + strings.Repeat("a", 3000))
	if r.Code != 500 || !strings.HasPrefix(r.Lines[0], "5.5.6") {
		t.Fatalf("long line: %v", r)
	}
	c.Expect("EHLO x.example", 250)
	// 1 MiB without LF: drained, memory bounded, session in step.
	c.Send(strings.Repeat("x", 1<<20) + "\r\n")
	if r := c.Read(); r.Code != 500 {
		t.Fatal(r)
	}
	c.Expect("NOOP", 250)
	// A line of exactly 2048 bytes with CRLF is accepted.
	arg := strings.Repeat("b", 2048-len("NOOP \r\n"))
	c.Expect("NOOP "+arg, 250)
}

func TestControlCharacterInCommand(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	if r := c.Cmd("HELO a\x00b.example"); r.Code != 500 {
		t.Fatal(r)
	}
}

func TestVRFYEXPNAnswer252(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	if r := c.Cmd("VRFY root"); r.Code != 252 || !strings.HasPrefix(r.Lines[0], "2.5.2") {
		t.Fatal(r)
	}
	if r := c.Cmd("EXPN staff"); r.Code != 252 {
		t.Fatal(r)
	}
}
