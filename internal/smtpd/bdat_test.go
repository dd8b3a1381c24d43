package smtpd_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestBDAT(t *testing.T) {
	cfg := devConfig()
	cfg.Chunking = true
	cfg.MaxErrors = 100
	e := start(t, cfg)
	c := e.dial()
	if r := c.Expect("EHLO x.example", 250); !ehloHas(r, "CHUNKING") || !ehloHas(r, "BINARYMIME") {
		t.Fatalf("EHLO %v", r)
	}
	// Two chunks, binary content with a line that would end DATA.
	part1 := "Subject: bdat\r\n\r\n.\r\nbinary \x00\xff"
	part2 := "\r\n.\r\nend\r\n"
	c.Expect("MAIL FROM:<a@b.example> BODY=BINARYMIME", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Send(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	if r := c.Read(); r.Code != 250 || !strings.Contains(r.Lines[0], fmt.Sprintf("%d octets", len(part1))) {
		t.Fatal(r)
	}
	// DATA cannot follow BDAT.
	c.Expect("DATA", 503)
	c.Send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	r := c.Read()
	if r.Code != 250 || !strings.HasPrefix(r.Lines[0], "2.0.0 Ok: queued as ") {
		t.Fatal(r)
	}
	if got := string(e.messages()[0].body); got != part1+part2 {
		t.Fatalf("stored %q", got)
	}
	// Pipelined in one write, with BINARYMIME refused for DATA.
	c.Expect("MAIL FROM:<a@b.example> BODY=BINARYMIME", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Expect("DATA", 503)
	c.Send("BDAT 3\r\nabcBDAT 0 LAST\r\nNOOP\r\n")
	for _, want := range []int{250, 250, 250} {
		if r := c.Read(); r.Code != want {
			t.Fatalf("pipelined: %v, want %d", r, want)
		}
	}
	if got := string(e.messages()[1].body); got != "abc" {
		t.Fatalf("stored %q", got)
	}
}

func TestBDATRefusalsStayInStep(t *testing.T) {
	cfg := devConfig()
	cfg.Chunking = true
	cfg.MaxErrors = 100
	cfg.MaxDataSize = 10
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	// BDAT before MAIL: refused, and its chunk is still consumed.
	c.Send("BDAT 5\r\nHELO!")
	if r := c.Read(); r.Code != 503 {
		t.Fatal(r)
	}
	c.Expect("NOOP", 250)
	// Over max_data_size across chunks: 552 after the last chunk.
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Send("BDAT 8\r\n12345678")
	c.Read()
	c.Send("BDAT 8 LAST\r\n12345678")
	if r := c.Read(); r.Code != 552 || !strings.HasPrefix(r.Lines[0], "5.3.4") {
		t.Fatal(r)
	}
	if len(e.messages()) != 0 || len(e.tmpFiles()) != 0 {
		t.Fatal("refused BDAT message left a file")
	}
	c.Expect("NOOP", 250)
	// A size that is no number cannot be skipped: refuse and close.
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	if r := c.Cmd("BDAT lots"); r.Code != 501 {
		t.Fatal(r)
	}
	c.ExpectClosed()
}

func TestBDATRsetDropsChunks(t *testing.T) {
	cfg := devConfig()
	cfg.Chunking = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Send("BDAT 4\r\nhalf")
	c.Read()
	c.Expect("RSET", 250)
	if len(e.messages()) != 0 || len(e.tmpFiles()) != 0 {
		t.Fatal("RSET left the chunked message behind")
	}
}

// A BDAT line refused before its chunk could be read closes the session:
// the chunk's bytes must never be taken for commands.
func TestBDATBadLineCloses(t *testing.T) {
	cfg := devConfig()
	cfg.Chunking = true
	cfg.StrictLineEndings = true
	cfg.MaxErrors = 100
	e := start(t, cfg)
	for _, line := range []string{"BDAT 6 LAST\n", "BDAT 6\x00 LAST\r\n"} {
		c := e.dial()
		c.Expect("EHLO x.example", 250)
		c.Expect("MAIL FROM:<a@b.example>", 250)
		c.Expect("RCPT TO:<c@d.example>", 250)
		c.Send(line + "RSET\r\n")
		if r := c.Read(); r.Code != 500 {
			t.Fatalf("%q: %v", line, r)
		}
		c.ExpectClosed()
	}
}

// A huge chunk size after a first chunk must not wrap the size check.
func TestBDATSizeDoesNotWrap(t *testing.T) {
	cfg := devConfig()
	cfg.Chunking = true
	cfg.MaxDataSize = 1024
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Send("BDAT 100\r\n" + strings.Repeat("x", 100))
	c.Read()
	c.Send("BDAT 9223372036854775800 LAST\r\n" + strings.Repeat("y", 4096))
	c.Conn.Close()
	waitFor(t, "session end", func() bool { return e.srv.ActiveSessions() == 0 })
	if len(e.messages()) != 0 || len(e.tmpFiles()) != 0 {
		t.Fatal("oversized BDAT left a file")
	}
}

// A BDAT message gets the same header checks as a DATA one, however its
// header section is cut into chunks, and is stored byte for byte also
// when it is larger than what is held back for the checks.
func TestBDATFindings(t *testing.T) {
	cfg := devConfig()
	cfg.Chunking = true
	cfg.FindingHeaders = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	body := strings.Repeat("0123456789abcdef", 9000) // 144,000 octets: past the held-back head
	msg := "Subject: no date, no from\r\n\r\n" + body
	chunks := []string{msg[:7], msg[7:70000], msg[70000:]}
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	for i, ch := range chunks {
		last := ""
		if i == len(chunks)-1 {
			last = " LAST"
		}
		c.Send(fmt.Sprintf("BDAT %d%s\r\n%s", len(ch), last, ch))
		if r := c.Read(); r.Code != 250 {
			t.Fatalf("chunk %d: %v", i, r)
		}
	}
	m := e.messages()[0]
	if string(m.body) != msg {
		t.Fatalf("stored %d octets, sent %d", len(m.body), len(msg))
	}
	got := strings.Join(m.env.Extra, "\n")
	for _, code := range []string{"missing-date", "missing-from", "missing-message-id"} {
		if !strings.Contains(got, "X-FakeSMTP-Finding: "+code+": ") {
			t.Errorf("no finding %s in:\n%s", code, got)
		}
	}
	// A short clean message in one chunk: no findings, stored as sent.
	clean := "Date: Sat, 28 Nov 2026 20:00:00 +0000\r\nFrom: a@b.example\r\nMessage-ID: <1@b.example>\r\n\r\nok\r\n"
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(clean), clean))
	if r := c.Read(); r.Code != 250 {
		t.Fatal(r)
	}
	m = e.messages()[1]
	if string(m.body) != clean || len(m.env.Extra) != 0 {
		t.Fatalf("clean message: %q, findings %q", m.body, m.env.Extra)
	}
}

// A BDAT command line over the line limit closes the session: its chunk
// cannot be skipped, and its octets must not be read as commands.
func TestBDATLongLineCloses(t *testing.T) {
	cfg := devConfig()
	cfg.Chunking = true
	cfg.MaxErrors = 100
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	chunk := "RSET\r\nMAIL FROM:<injected@evil.example>\r\n"
	c.Send(fmt.Sprintf("BDAT %d LAST%s\r\n%s", len(chunk), strings.Repeat(" ", 2100), chunk))
	if r := c.Read(); r.Code != 500 {
		t.Fatalf("reply to an over-long BDAT line: %v", r)
	}
	if r, err := c.TryRead(); err == nil {
		t.Fatalf("the session went on after an over-long BDAT line: %v", r)
	}
}
