package smtpd_test

import (
	"strings"
	"testing"
	"time"
)

// receive_timeout needs a real deadline to fire; 150ms keeps it short.
const shortTimeout = 150 * time.Millisecond

func TestReceiveTimeoutIdle(t *testing.T) {
	cfg := devConfig()
	cfg.ReceiveTimeout = shortTimeout
	e := start(t, cfg)
	c := e.dial()
	// Say nothing after the banner.
	wantReply(t, "idle client", c.Read(), 421, "4.4.2")
	c.ExpectClosed()
	if !hasLine(e.logs.String(), `reason=timeout`) {
		t.Fatalf("summary without timeout reason:\n%s", e.logs)
	}
}

func TestReceiveTimeoutInsideData(t *testing.T) {
	cfg := devConfig()
	cfg.ReceiveTimeout = shortTimeout
	e := start(t, cfg)
	c := e.dial()
	startTx(t, c)
	cmd(t, c, "DATA", 354, "")
	// More than headerPeek, so that the file exists before the stall.
	c.Send("Subject: stalled\r\n\r\n" + strings.Repeat("first part of the body\r\n", 4000))
	waitFor(t, "temporary file", func() bool { return len(e.tmpFiles()) == 1 })
	// Then stall.
	wantReply(t, "stalled DATA", c.Read(), 421, "4.4.2")
	c.ExpectClosed()
	if n := len(e.messages()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	if tmp := e.tmpFiles(); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}
