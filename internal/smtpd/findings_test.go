package smtpd_test

import (
	"fmt"
	"strings"
	"testing"
)

// A sloppy client's mistakes are logged and, in dev mode, written on the
// stored message.
func TestClientFindings(t *testing.T) {
	cfg := devConfig()
	cfg.FindingHeaders = true
	e := start(t, cfg)
	c := e.dial()
	c.Send("HELO my_laptop\n")
	if r := c.Read(); r.Code != 250 {
		t.Fatal(r)
	}
	c.Expect("MAIL FROM: <a@b.example>", 250)
	c.Expect("RCPT TO:c@d.example", 250)
	c.Expect("DATA", 354)
	c.Send("Subject: no date, no from\r\n\r\nbare\nline \xe9\r\n.\r\n")
	if r := c.Read(); r.Code != 250 {
		t.Fatal(r)
	}
	got := strings.Join(e.messages()[0].env.Extra, "\n")
	for _, code := range []string{"bare-lf-command", "helo-not-domain", "space-after-colon", "missing-angle-brackets",
		"missing-date", "missing-from", "missing-message-id", "bare-lf-data", "8bit-without-8bitmime"} {
		if !strings.Contains(got, "X-FakeSMTP-Finding: "+code+": ") {
			t.Errorf("no finding %s in:\n%s", code, got)
		}
	}
	// A clean second message in the same session carries the session's
	// findings, not the first message's.
	if r := sendMessage(t, c, "a@b.example", "c@d.example",
		"Date: Sat, 28 Nov 2026 20:00:00 +0000\r\nFrom: a@b.example\r\nMessage-ID: <2@b.example>\r\n\r\nok\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	second := strings.Join(e.messages()[1].env.Extra, "\n")
	if !strings.Contains(second, "helo-not-domain") || strings.Contains(second, "missing-date") || strings.Contains(second, "bare-lf-data") {
		t.Fatalf("second message's findings:\n%s", second)
	}
	c.Conn.Close()
	waitFor(t, "summary", func() bool { return hasLine(e.logs.String(), "no-quit") })
	// A clean client has no findings.
	c = e.dial()
	c.Expect("EHLO client.example", 250)
	if r := sendMessage(t, c, "a@b.example", "c@d.example",
		"Date: Sat, 28 Nov 2026 20:00:00 +0000\r\nFrom: a@b.example\r\nMessage-ID: <1@b.example>\r\nSubject: ok\r\n\r\nfine\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	c.Expect("QUIT", 221)
	ms := e.messages()
	if extra := ms[len(ms)-1].env.Extra; len(extra) != 0 {
		t.Fatalf("clean client got findings %q", extra)
	}
}

// A valid message whose header section is longer than what is checked
// before the file is created (64 KiB: nodemailer or Outlook sending to
// about a thousand recipients, with Date and Message-ID after To) is not
// told it lacks them: they are only beyond the checked part.
func TestBigHeaderNoFalseFindings(t *testing.T) {
	cfg := devConfig()
	cfg.FindingHeaders = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO client.example", 250)
	var b strings.Builder
	b.WriteString("From: Alice <alice@b.example>\r\nTo: ")
	for i := range 900 {
		if i > 0 {
			b.WriteString(",\r\n ")
		}
		fmt.Fprintf(&b, "\"Recipient Number %04d of the list\" <recipient.number.%04d@c.example>", i, i)
	}
	b.WriteString("\r\nSubject: hello\r\nMessage-ID: <1@b.example>\r\nDate: Sat, 28 Nov 2026 20:00:00 +0000\r\n\r\nbody\r\n.\r\n")
	if b.Len() < 64<<10 {
		t.Fatalf("header of %d bytes: not past the checked part", b.Len())
	}
	if r := sendMessage(t, c, "alice@b.example", "d@c.example", b.String()); r.Code != 250 {
		t.Fatal(r)
	}
	if extra := e.messages()[0].env.Extra; len(extra) != 0 {
		t.Fatalf("valid message got findings %q", extra)
	}
}
