package smtpd_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The session log: a connect line and a disconnect summary, and every
// line of a session tagged with its id, even with sessions interleaved.
func TestSessionLog(t *testing.T) {
	e := start(t, devConfig()) // verbose
	c1 := e.dial()
	c2 := e.dial()
	cmd(t, c1, "EHLO one.example", 250, "")
	cmd(t, c2, "HELO two.example", 250, "")
	cmd(t, c1, "FOO", 500, "5.5.2")
	r := sendMessage(t, c2, "a@b.example", "c@d.example", "Subject: hi\r\n\r\nx\r\n.\r\n")
	wantReply(t, "message", r, 250, "2.0.0")
	cmd(t, c1, "QUIT", 221, "2.0.0")
	cmd(t, c2, "QUIT", 221, "2.0.0")
	c1.ExpectClosed() // the summary is logged before the close
	c2.ExpectClosed()

	logs := e.logs.String()
	line1, id1 := connectLine(t, logs, c1.Conn.LocalAddr().String())
	line2, id2 := connectLine(t, logs, c2.Conn.LocalAddr().String())
	if id1 == id2 {
		t.Fatalf("two sessions share id %s", id1)
	}
	if !strings.Contains(line1, " sessions=1") || !strings.Contains(line2, " sessions=2") {
		t.Errorf("connect lines without the session count:\n%s\n%s", line1, line2)
	}

	byID := map[string][]string{}
	for _, l := range logLines(logs) {
		m := sessionAttr.FindAllStringSubmatch(l, -1)
		if len(m) != 1 {
			t.Errorf("line with %d session ids: %s", len(m), l)
			continue
		}
		byID[m[0][1]] = append(byID[m[0][1]], l)
	}
	if len(byID) != 2 {
		t.Fatalf("log lines of %d sessions, want 2:\n%s", len(byID), logs)
	}
	for _, tc := range []struct {
		id, client string
		summary    []string
	}{
		{id1, c1.Conn.LocalAddr().String(), []string{"helo=one.example", "accepted=0", "refused=0", "errors=1"}},
		{id2, c2.Conn.LocalAddr().String(), []string{"helo=two.example", "accepted=1", "refused=0", "errors=0"}},
	} {
		lines := byID[tc.id]
		if len(lines) < 2 || !strings.Contains(lines[0], "msg=connect ") {
			t.Errorf("session %s: first line is not connect: %v", tc.id, lines)
			continue
		}
		last := lines[len(lines)-1]
		if !strings.Contains(last, "msg=disconnect ") {
			t.Errorf("session %s: last line is not the summary: %s", tc.id, last)
			continue
		}
		want := append(tc.summary, "client="+tc.client, "early_talk=false", "duration=", "reason=quit")
		for _, w := range want {
			if !strings.Contains(last, " "+w) {
				t.Errorf("summary lacks %s: %s", w, last)
			}
		}
	}
}

// Verbose logging shows commands and replies, never message content,
// even when the content arrives in the same packet as DATA.
func TestVerboseLogOmitsContent(t *testing.T) {
	e := start(t, devConfig())
	const marker = "Zq7-content-marker-9fK"
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	r := sendMessage(t, c, "a@b.example", "c@d.example",
		"Subject: "+marker+"\r\n\r\n"+marker+"\r\nMAIL FROM:<"+marker+"@x.example>\r\n.\r\n")
	wantReply(t, "message", r, 250, "2.0.0")
	startTx(t, c)
	c.Send("DATA\r\nSubject: pipelined " + marker + "\r\n\r\nbody\r\n.\r\n")
	wantReply(t, "DATA", c.Read(), 354, "")
	wantReply(t, "end of data", c.Read(), 250, "2.0.0")
	cmd(t, c, "QUIT", 221, "2.0.0")
	c.ExpectClosed()

	logs := e.logs.String()
	if !strings.Contains(logs, "msg=command") || !strings.Contains(logs, "msg=reply") {
		t.Fatalf("verbose log has no commands or replies:\n%s", logs)
	}
	if strings.Contains(logs, marker) {
		t.Fatalf("message content in the log:\n%s", logs)
	}
	if n := len(e.messages()); n != 2 {
		t.Fatalf("%d messages stored", n)
	}
}

// Session ids are unique across sessions and across a restart (a second
// server created after the first is gone), and the stored message
// carries its session's id.
func TestSessionIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		e := start(t, devConfig())
		var prev string
		for range 3 {
			c := e.dial()
			cmd(t, c, "EHLO client.example", 250, "")
			r := sendMessage(t, c, "a@b.example", "c@d.example", "Subject: id\r\n\r\nx\r\n.\r\n")
			wantReply(t, "message", r, 250, "2.0.0")
			cmd(t, c, "QUIT", 221, "2.0.0")
			c.ExpectClosed()
			_, id := connectLine(t, e.logs.String(), c.Conn.LocalAddr().String())
			if seen[id] {
				t.Fatalf("session id %s used twice", id)
			}
			seen[id] = true
			// Within one server ids also sort in session order.
			if id <= prev {
				t.Fatalf("session id %s after %s", id, prev)
			}
			prev = id
			ms := e.messages()
			if got := ms[len(ms)-1].env.Session; got != id {
				t.Fatalf("stored session %s, logged %s", got, id)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}
