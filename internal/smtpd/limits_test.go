package smtpd_test

import (
	"fmt"
	"strings"
	"testing"

	"fakesmtp/internal/smtptest"
)

// max_smtp_errors: every 5xx counts; MaxErrors of them get their normal
// reply, the next error is answered 421 4.7.0 and the session closes.
func TestMaxErrors(t *testing.T) {
	cfg := devConfig()
	cfg.MaxErrors = 4
	e := start(t, cfg)
	c := e.dial()
	cmd(t, c, "MAIL FROM:<a@b.example>", 503, "5.5.1")
	cmd(t, c, "FOO", 500, "5.5.2")
	cmd(t, c, "EHLO", 501, "5.5.4")
	cmd(t, c, "EHLO client.example", 250, "")
	cmd(t, c, "NOOP", 250, "2.0.0") // good commands do not clear the count
	cmd(t, c, "STARTTLS", 502, "5.5.1")
	cmd(t, c, "RCPT TO:<c@d.example>", 421, "4.7.0")
	c.ExpectClosed()
}

// 4yz replies are not errors: a client told 452 may go on.
func TestMaxErrorsCountsOnly5xx(t *testing.T) {
	cfg := devConfig()
	cfg.MaxErrors = 0
	cfg.MaxRcpt = 1
	e := start(t, cfg)
	c := e.dial()
	startTx(t, c)
	for i := range 5 {
		cmd(t, c, fmt.Sprintf("RCPT TO:<r%d@d.example>", i), 452, "4.5.3")
	}
	cmd(t, c, "NOOP", 250, "2.0.0")
	cmd(t, c, "FOO", 421, "4.7.0")
	c.ExpectClosed()
}

func TestMaxNoop(t *testing.T) {
	cfg := devConfig()
	cfg.MaxNoop = 7
	e := start(t, cfg)
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	for i := range 7 {
		cmd(t, c, "NOOP", 250, "2.0.0")
		if i == 3 {
			// RSET clears the transaction, never the counters.
			cmd(t, c, "RSET", 250, "2.0.0")
		}
	}
	cmd(t, c, "NOOP", 421, "4.7.0")
	c.ExpectClosed()
}

// VRFY and EXPN share one budget (max_smtp_vrfy).
func TestMaxVrfy(t *testing.T) {
	cfg := devConfig()
	cfg.MaxVrfy = 10
	e := start(t, cfg)
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	for i := range 10 {
		line := "VRFY root"
		if i%2 == 1 {
			line = "EXPN staff"
		}
		cmd(t, c, line, 252, "2.5.2")
		if i == 4 {
			cmd(t, c, "RSET", 250, "2.0.0")
		}
	}
	cmd(t, c, "EXPN staff", 421, "4.7.0")
	c.ExpectClosed()
}

// max_smtp_rcpt: RFC 5321 4.5.3.1.10, the excess RCPT gets 452 and the
// transaction goes on with the recipients already accepted.
func TestMaxRcpt(t *testing.T) {
	cfg := devConfig()
	cfg.MaxRcpt = 3
	e := start(t, cfg)
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	cmd(t, c, "MAIL FROM:<a@b.example>", 250, "2.1.0")
	for i := range 3 {
		cmd(t, c, fmt.Sprintf("RCPT TO:<r%d@d.example>", i), 250, "2.1.5")
	}
	cmd(t, c, "RCPT TO:<r3@d.example>", 452, "4.5.3")
	cmd(t, c, "DATA", 354, "")
	c.Send("Subject: three\r\n\r\nbody\r\n.\r\n")
	wantReply(t, "end of data", c.Read(), 250, "2.0.0")
	ms := e.messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages stored", len(ms))
	}
	if got := strings.Join(ms[0].env.RcptTo, ","); got != "r0@d.example,r1@d.example,r2@d.example" {
		t.Fatalf("recipients %s", got)
	}
	if n := rcptHeaders(t, e.store, ms[0].env.ID); n != 3 {
		t.Fatalf("%d X-FakeSMTP-Rcpt-To headers, want 3", n)
	}
	// The limit is per message: the next transaction has a fresh one.
	startTx(t, c)
	cmd(t, c, "RCPT TO:<r1@d.example>", 250, "2.1.5")
}

func TestMaxMessages(t *testing.T) {
	t.Run("2", func(t *testing.T) {
		cfg := devConfig()
		cfg.MaxMessages = 2
		e := start(t, cfg)
		c := connect(t, e.addr)
		cmd(t, c, "EHLO client.example", 250, "")
		for i := range 2 {
			r := sendMessage(t, c, "a@b.example", "c@d.example", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n.\r\n", i))
			wantReply(t, "message", r, 250, "2.0.0")
		}
		cmd(t, c, "MAIL FROM:<a@b.example>", 421, "4.7.0")
		c.ExpectClosed()
		if n := len(e.messages()); n != 2 {
			t.Fatalf("%d messages stored", n)
		}
	})
	t.Run("0 is unlimited", func(t *testing.T) {
		cfg := devConfig()
		cfg.MaxMessages = 0
		e := start(t, cfg)
		c := connect(t, e.addr)
		cmd(t, c, "EHLO client.example", 250, "")
		for i := range 20 {
			r := sendMessage(t, c, "a@b.example", "c@d.example", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n.\r\n", i))
			wantReply(t, "message", r, 250, "2.0.0")
		}
		cmd(t, c, "QUIT", 221, "2.0.0")
		if n := len(e.messages()); n != 20 {
			t.Fatalf("%d messages stored", n)
		}
	})
}

// max_sessions: the connection over the limit gets 421 4.7.0 as its only
// line, without a banner; a freed slot is served again.
func TestMaxSessions(t *testing.T) {
	cfg := devConfig()
	cfg.MaxSessions = 2
	e := start(t, cfg)
	c1 := e.dial()
	c2 := e.dial()
	waitFor(t, "2 active sessions", func() bool { return e.srv.ActiveSessions() == 2 })

	c3 := smtptest.Dial(t, e.addr)
	wantReply(t, "third connection", c3.Read(), 421, "4.7.0")
	c3.ExpectClosed()

	cmd(t, c2, "EHLO client.example", 250, "") // the others are unaffected
	cmd(t, c1, "QUIT", 221, "2.0.0")
	c1.ExpectClosed()
	waitFor(t, "1 active session", func() bool { return e.srv.ActiveSessions() == 1 })
	c4 := e.dial()
	cmd(t, c4, "EHLO client.example", 250, "")
	if !hasLine(e.logs.String(), "connection refused: too many sessions") {
		t.Fatal("refusal not logged")
	}
}

// max_data_size: the whole content is read, then refused with 552 5.3.4
// (RFC 1870 6.3), nothing is kept, and the session stays in step.
func TestMaxDataSize(t *testing.T) {
	cfg := devConfig()
	cfg.MaxDataSize = 1000
	e := start(t, cfg)
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	cmd(t, c, "MAIL FROM:<a@b.example>", 250, "2.1.0")
	cmd(t, c, "RCPT TO:<c@d.example>", 250, "2.1.5")
	cmd(t, c, "DATA", 354, "")
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 100)
	// Smuggled-looking lines inside the content must stay content.
	c.Send(big + "NOOP\r\n.\r\n")
	wantReply(t, "end of data", c.Read(), 552, "5.3.4")
	if n := len(e.messages()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	if tmp := e.tmpFiles(); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
	// The next transaction in the same session works.
	r := sendMessage(t, c, "a@b.example", "c@d.example", "Subject: small\r\n\r\nok\r\n.\r\n")
	wantReply(t, "small message", r, 250, "2.0.0")
	if n := len(e.messages()); n != 1 {
		t.Fatalf("%d messages stored", n)
	}
	// A declared size over the limit is refused at once (RFC 1870 6.1).
	cmd(t, c, "MAIL FROM:<a@b.example> SIZE=1001", 552, "5.3.4")
	cmd(t, c, "MAIL FROM:<a@b.example> SIZE=1000", 250, "2.1.0")
}
