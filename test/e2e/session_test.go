package e2e

import (
	"strings"
	"testing"

	"fakesmtp/internal/smtptest"
)

// Raw SMTP sessions over TCP, as a person with telnet (or a bot) would
// have them, against the modes meant for the Internet.

func TestCollectorEarlyTalk(t *testing.T) {
	t.Parallel()
	srv := startDev(t, "--mode", "collector", "--banner-delay", "300ms")
	if srv.Mode != "collector" {
		t.Fatalf("started in %q mode, want collector", srv.Mode)
	}

	t.Run("EHLO before the banner", func(t *testing.T) {
		c := smtptest.Dial(t, srv.Addr)
		c.Send("EHLO early.example\r\n")
		wantReply(t, "EHLO before the banner", c.Read(), 554, "5.5.1")
		c.ExpectClosed()
	})

	t.Run("EHLO after the banner", func(t *testing.T) {
		c := smtptest.Dial(t, srv.Addr)
		greet(t, c)
		c.Expect("QUIT", 221)
	})
}

func TestFakeMXTempFailsData(t *testing.T) {
	t.Parallel()
	srv := startDev(t, "--mode", "fakemx", "--banner-delay", "0", "--error-delay", "0")
	if srv.Mode != "fakemx" || !strings.HasPrefix(srv.Store, "not stored") {
		t.Fatalf("started in %q mode storing in %q, want fakemx storing nothing", srv.Mode, srv.Store)
	}
	c := smtptest.Dial(t, srv.Addr)
	greet(t, c)
	c.Expect("MAIL FROM:<a@example.org>", 250)
	c.Expect("RCPT TO:<b@example.net>", 250)
	wantReply(t, "DATA", c.Cmd("DATA"), 421, "4.3.2")
	c.ExpectClosed()
	srv.stop(t)
	// No message is written to the store path: only the session index
	// (index.db, with SQLite's -wal and -shm) that the dashboard reads.
	for _, f := range filesUnder(t, srv.StorePath) {
		if !strings.HasPrefix(f, "index.db") {
			t.Errorf("fakemx wrote %s", f)
		}
	}
}
