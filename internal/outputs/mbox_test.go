package outputs

import (
	"bytes"
	"testing"
	"time"

	"fakesmtp/internal/store"
)

func TestWriteMbox(t *testing.T) {
	env := &store.Envelope{MailFrom: "a@example.org", ReceivedAt: time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)}
	var b bytes.Buffer
	if err := WriteMbox(&b, env, []byte("Subject: x\r\n\r\nFrom here\r\n>From there\r\nend")); err != nil {
		t.Fatal(err)
	}
	want := "From a@example.org Sat Nov 28 20:00:00 2026\nSubject: x\n\n>From here\n>>From there\nend\n\n"
	if b.String() != want {
		t.Fatalf("mbox:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	WriteMbox(&b, &store.Envelope{ReceivedAt: env.ReceivedAt}, []byte("x\r\n"))
	if b.String() != "From MAILER-DAEMON Sat Nov 28 20:00:00 2026\nx\n\n" {
		t.Fatalf("null sender: %q", b.String())
	}
}
