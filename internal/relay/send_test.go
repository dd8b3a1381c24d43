package relay

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/store"
)

// scripted is a smarthost that plays a fixed script on one connection.
type scripted struct {
	addr string
	done chan struct{}
	hung chan struct{} // closed when the script reaches hang
	seen []string      // command lines read; "." stands for the content
	used int           // replies of the script played
}

// scriptedSmarthost accepts one connection and answers from script: the
// greeting, then one reply per command line, in order. An empty reply
// drops the connection there without answering (a crash, a reset, a
// timeout); the reply hang answers nothing and holds the connection open
// until the client closes it. After a 354 it reads the content up to the final dot and
// answers it with the next reply. Once the script is played it closes
// the connection at the next command (the QUIT).
func scriptedSmarthost(t *testing.T, script []string) *scripted {
	t.Helper()
	ln := listen(t)
	t.Cleanup(func() { ln.Close() })
	s := &scripted{addr: ln.Addr().String(), done: make(chan struct{}), hung: make(chan struct{})}
	go func() {
		defer close(s.done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		next := func() (string, bool) {
			if s.used == len(script) {
				return "", false
			}
			reply := script[s.used]
			s.used++
			if reply == "" {
				return "", false
			}
			if reply == hang {
				close(s.hung)
				io.Copy(io.Discard, r)
				return "", false
			}
			_, err := c.Write([]byte(reply + "\r\n"))
			return reply, err == nil
		}
		if _, ok := next(); !ok {
			return
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			s.seen = append(s.seen, strings.TrimRight(line, "\r\n"))
			reply, ok := next()
			if !ok {
				return
			}
			if !strings.HasPrefix(reply, "354") {
				continue
			}
			for line != ".\r\n" {
				if line, err = r.ReadString('\n'); err != nil {
					return
				}
			}
			s.seen = append(s.seen, ".")
			if _, ok := next(); !ok {
				return
			}
		}
	}()
	return s
}

// scriptedEntry starts a smarthost playing script and spools one message
// for rcpts on a queue (in a new folder, dir) that relays to it; mod
// adjusts the queue's Config.
func scriptedEntry(t *testing.T, script, rcpts []string, mod func(*Config)) (*scripted, string, *Queue, *store.Envelope) {
	t.Helper()
	up := scriptedSmarthost(t, script)
	dir := t.TempDir()
	q, _ := newQueue(t, dir, up.addr, mod)
	env := envelope("a@example.org", rcpts...)
	if err := q.Spool(env, received, body); err != nil {
		t.Fatal(err)
	}
	return up, dir, q, env
}

// Replies the scripted smarthosts play.
const (
	greet  = "220 smarthost ESMTP"
	ehlo   = "250 smarthost"
	mailOK = "250 2.1.0 ok"
	rcptOK = "250 2.1.5 ok"
	go354  = "354 go ahead"
	dataOK = "250 2.0.0 queued as X"
)

// hang in a script makes the scripted smarthost go silent.
const hang = "<hang>"

// wait returns the lines the smarthost read, once the connection is
// over, and fails the test unless the whole script was played: proof that
// the dialogue went as the case says.
func (s *scripted) wait(t *testing.T, script []string) []string {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the scripted smarthost is still talking")
	}
	if s.used != len(script) {
		t.Fatalf("the smarthost played %d of the %d replies of its script; it read %q", s.used, len(script), s.seen)
	}
	return s.seen
}

// TestOnlyFinalReplyMarksSent: a recipient is delivered only by the 2xx
// that answers the content (RFC 5321 4.1.1.4); a 250 to RCPT only says it
// would be accepted (RFC 5321 4.1.1.3). Whatever ends the transaction
// before that reply (a lost connection, a DATA refused or answered
// wrongly) leaves every accepted recipient pending, never "sent":
// otherwise the message is lost for it.
func TestOnlyFinalReplyMarksSent(t *testing.T) {
	const (
		mail = mailOK
		rcpt = rcptOK
		drop = ""
		lost = "reading reply" // the reply of a connection gone
	)
	for _, tc := range []struct {
		name   string
		rcpts  []string
		script []string
		want   []string // per recipient: status, then the start of its reply
	}{
		{"RcptAcceptedThenConnectionLost", []string{"a@example.net", "b@example.net"},
			[]string{greet, ehlo, mail, rcpt, drop},
			[]string{"pending " + lost, "pending " + lost}},
		{"RcptAcceptedRefusedThenConnectionLost", []string{"a@example.net", "b@example.net", "c@example.net"},
			[]string{greet, ehlo, mail, rcpt, "550 5.1.1 no such user", drop},
			[]string{"pending " + lost, "failed 550 5.1.1", "pending " + lost}},
		{"ConnectionLostAtData", []string{"a@example.net", "b@example.net"},
			[]string{greet, ehlo, mail, rcpt, rcpt, drop},
			[]string{"pending " + lost, "pending " + lost}},
		{"ConnectionLostBeforeFinalReply", []string{"a@example.net", "b@example.net"},
			[]string{greet, ehlo, mail, rcpt, rcpt, go354, drop},
			[]string{"pending " + lost, "pending " + lost}},
		{"DataAnsweredWith250", []string{"a@example.net"},
			[]string{greet, ehlo, mail, rcpt, "250 2.0.0 ok"},
			[]string{"pending DATA: unexpected reply 250"}},
		{"GreetingWith250", []string{"a@example.net"},
			[]string{"250 hello"},
			[]string{"pending greeting: unexpected reply 250"}},
		{"DataRefused", []string{"a@example.net"},
			[]string{greet, ehlo, mail, rcpt, "451 4.3.0 try later"},
			[]string{"pending 451 4.3.0"}},
		{"TemporaryAfterData", []string{"a@example.net"},
			[]string{greet, ehlo, mail, rcpt, go354, "451 4.3.0 try later"},
			[]string{"pending 451 4.3.0"}},
		// The control: the reply after the content is what delivers.
		{"FinalReplyDelivers", []string{"a@example.net", "b@example.net"},
			[]string{greet, ehlo, mail, rcpt, "550 5.1.1 no such user", go354, dataOK},
			[]string{"sent 250 2.0.0 queued as X", "failed 550 5.1.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, dir, q, env := scriptedEntry(t, tc.script, tc.rcpts, nil)
			q.attempt(context.Background(), env.ID)
			t.Logf("the smarthost read %q", up.wait(t, tc.script))
			var e *Entry
			for _, x := range queued(t, dir) {
				if x.ID == env.ID {
					e = &x
				}
			}
			if e == nil {
				t.Fatalf("entry %s gone from the queue and from failed/", env.ID)
			}
			if e.Size == 0 {
				t.Errorf("entry %s has lost its message", env.ID)
			}
			for i, r := range e.Rcpts {
				got := r.Status + " " + r.Reply
				if !strings.HasPrefix(got, tc.want[i]) {
					t.Errorf("<%s>: %q, want %q...", r.Addr, got, tc.want[i])
				}
			}
		})
	}
}

// A stop that comes after the smarthost accepted the content, while the
// relay waits for its reply to QUIT, cuts the attempt short; but the
// delivery happened, so the entry is done, and the next start does not
// send the message again. A permanent refusal that came before the stop
// stands too; a recipient still pending stays queued.
func TestStopAfterFinalReplyKeepsOutcome(t *testing.T) {
	const ok, final = mailOK, dataOK
	for _, tc := range []struct {
		name   string
		rcpts  []string
		script []string
		want   []string // "" when the entry must be gone (all delivered)
	}{
		{"AllDelivered", []string{"a@example.net", "b@example.net"},
			[]string{greet, ehlo, ok, ok, ok, go354, final, hang}, nil},
		{"OneRefused", []string{"a@example.net", "b@example.net"},
			[]string{greet, ehlo, ok, ok, "550 5.1.1 no such user", go354, final, hang},
			[]string{"sent 250 2.0.0", "failed 550 5.1.1"}},
		{"StopBeforeFinalReply", []string{"a@example.net", "b@example.net"},
			[]string{greet, ehlo, ok, ok, "550 5.1.1 no such user", go354, hang},
			[]string{"pending", "failed 550 5.1.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, dir, q, env := scriptedEntry(t, tc.script, tc.rcpts, nil)
			ctx, stop := context.WithCancel(context.Background())
			go func() {
				select {
				case <-up.hung:
				case <-time.After(10 * time.Second):
				}
				stop()
			}()
			q.attempt(ctx, env.ID)
			stop()
			up.wait(t, tc.script)
			entries := queued(t, dir)
			if tc.want == nil {
				if len(entries) != 0 {
					t.Fatalf("delivered entry still listed: %+v (it would be sent again)", entries)
				}
				return
			}
			if len(entries) != 1 {
				t.Fatalf("entries %+v", entries)
			}
			for i, r := range entries[0].Rcpts {
				if got := r.Status + " " + r.Reply; !strings.HasPrefix(got, tc.want[i]) {
					t.Errorf("<%s>: %q, want %q...", r.Addr, got, tc.want[i])
				}
			}
			// The attempt counts only when it settled the entry (then its
			// failed/ record says "after 1 attempts"); one that leaves a
			// recipient pending does not move the retry schedule.
			want := 0
			if len(entries[0].Rcpts) > 0 && !slices.ContainsFunc(entries[0].Rcpts, func(r Rcpt) bool { return r.Status == StatusPending }) {
				want = 1
			}
			if entries[0].Attempts != want {
				t.Errorf("attempts = %d, want %d", entries[0].Attempts, want)
			}
		})
	}
}

// TestStartTLSRefused: a smarthost that offers STARTTLS and then refuses
// it leaves the session plain (RFC 3207 4). With relay_tls = "starttls"
// the message goes on without TLS, as at Postfix's "may" level; with
// "starttls-required" it waits for a later attempt, and the refusal is
// never taken for a verdict on the message.
func TestStartTLSRefused(t *testing.T) {
	const (
		ehloTLS = "250-smarthost\r\n250 STARTTLS"
		refused = "454 4.7.0 TLS not available"
	)
	for _, tc := range []struct {
		tls    string
		script []string
		want   string
	}{
		{TLSStartTLS, []string{greet, ehloTLS, refused, mailOK, rcptOK, go354, dataOK}, "sent 250 2.0.0"},
		{TLSStartTLSRequired, []string{greet, ehloTLS, refused}, "pending smarthost refused STARTTLS (454 4.7.0"},
	} {
		t.Run(tc.tls, func(t *testing.T) {
			up, dir, q, env := scriptedEntry(t, tc.script, []string{"a@example.net"}, func(c *Config) { c.TLS = tc.tls })
			q.attempt(context.Background(), env.ID)
			up.wait(t, tc.script)
			if tc.tls == TLSStartTLS {
				if es := queued(t, dir); len(es) != 0 {
					t.Fatalf("still queued: %+v", es)
				}
				return
			}
			es := queued(t, dir)
			if len(es) != 1 || !strings.HasPrefix(es[0].Rcpts[0].Status+" "+es[0].Rcpts[0].Reply, tc.want) {
				t.Fatalf("queue: %+v, want %q...", es, tc.want)
			}
		})
	}
}
