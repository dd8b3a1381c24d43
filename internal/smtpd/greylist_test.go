package smtpd_test

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/policy/greylist"
	"fakesmtp/internal/smtpd"
)

func TestGreylist(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	state := filepath.Join(t.TempDir(), "greylist.db")
	gl, err := greylist.New(greylist.Config{Delay: 5 * time.Minute, Path: state}, clk.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer gl.Close()
	e := start(t, devConfig(), func(d *smtpd.Deps) { d.Greylist = gl; d.Now = clk.Now })
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	r := c.Cmd("RCPT TO:<c@d.example>")
	if r.Code != 451 || !strings.HasPrefix(r.Lines[0], "4.7.1 Greylisted, try again in 300 seconds") {
		t.Fatalf("first attempt: %v", r)
	}
	// A retry too early is still refused, with the time left.
	clk.advance(2 * time.Minute)
	if r := c.Cmd("RCPT TO:<c@d.example>"); r.Code != 451 || !strings.Contains(r.Lines[0], "180 seconds") {
		t.Fatalf("early retry: %v", r)
	}
	// After the delay the triplet passes, and the message goes through.
	clk.advance(3 * time.Minute)
	c.Expect("RCPT TO:<c@d.example>", 250)
	c.Expect("DATA", 354)
	c.Send("x\r\n.\r\n")
	if r := c.Read(); r.Code != 250 {
		t.Fatal(r)
	}
	if e.srv.Counters().Greylisted.Load() != 2 {
		t.Fatalf("greylisted = %d", e.srv.Counters().Greylisted.Load())
	}
	// Another sender is a new triplet.
	c.Expect("MAIL FROM:<other@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 451)
}

func TestGreylistSkipsAllowlisted(t *testing.T) {
	gl, err := greylist.New(greylist.Config{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg := listsConfig(true)
	e := start(t, cfg, realSleep, withLists(t, nil, []string{"wl.test"}), func(d *smtpd.Deps) { d.Greylist = gl })
	c := dialFrom(t, "127.0.0.2", e.addr)
	c.Expect("EHLO x.example", 250)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 250)
	// Not allowlisted: greylisted.
	c = dialFrom(t, "127.0.0.3", e.addr)
	c.Expect("EHLO x.example", 250)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	c.Expect("RCPT TO:<c@d.example>", 451)
}
