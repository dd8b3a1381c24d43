package smtpd_test

import (
	"strings"
	"sync"
	"testing"

	"fakesmtp/internal/smtpd"
)

// The session record: what the summary line says, as data, with the
// transcript (AUTH redacted, no message content) and the message IDs.
func TestSessionRecord(t *testing.T) {
	var mu sync.Mutex
	var got []smtpd.SessionRecord
	done := make(chan struct{})
	cfg := devConfig()
	cfg.Transcript = true
	e := start(t, cfg, func(d *smtpd.Deps) {
		d.OnSessionEnd = func(r smtpd.SessionRecord) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
			close(done)
		}
	})
	c := e.dial()
	c.Expect("EHLO client.test", 250)
	c.Expect("MAIL FROM:<a@example.org>", 250)
	c.Expect("RCPT TO:<b@example.net>", 250)
	c.Expect("DATA", 354)
	c.Send("Subject: secret-body-text\r\n\r\nbody\r\n.\r\n")
	r := c.Read()
	c.Expect("FOO", 500)
	c.Expect("QUIT", 221)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d records", len(got))
	}
	rec := got[0]
	ids := e.messages()
	if rec.Accepted != 1 || rec.Errors != 1 || rec.Helo != "client.test" || rec.Reason != "quit" ||
		len(rec.MessageIDs) != 1 || rec.MessageIDs[0] != ids[0].env.ID || rec.ID != ids[0].env.Session {
		t.Errorf("record %+v (reply %v)", rec, r)
	}
	for _, want := range []string{"C: EHLO client.test", "S: 250-mx.fakesmtp.test", "C: DATA", "S: 354 ", "S: 250 2.0.0 Ok: queued as " + rec.MessageIDs[0], "C: QUIT"} {
		if !strings.Contains(rec.Transcript, want) {
			t.Errorf("transcript lacks %q:\n%s", want, rec.Transcript)
		}
	}
	if strings.Contains(rec.Transcript, "secret-body-text") {
		t.Error("message content in the transcript")
	}
	if !rec.Start.Before(rec.End) && !rec.Start.Equal(rec.End) {
		t.Errorf("start %v end %v", rec.Start, rec.End)
	}
}
