package smtpd_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/smtpd"
)

// fakeClock is a clock that the recorded Sleep advances, so tarpit
// budgets are tested without waiting.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func withClock(e **env, c *fakeClock) option {
	return func(d *smtpd.Deps) {
		d.Now = c.Now
		d.Sleep = func(ctx context.Context, dur time.Duration) bool {
			(*e).mu.Lock()
			(*e).slept = append((*e).slept, dur)
			(*e).mu.Unlock()
			c.advance(dur)
			return true
		}
	}
}

func stutterConfig() smtpd.Config {
	cfg := devConfig()
	cfg.Stutter = true
	cfg.StutterInterval = time.Second
	cfg.ErrorDelay = time.Second
	cfg.ErrorDelayMax = 10 * time.Second
	cfg.MaxErrors = 10
	return cfg
}

func TestStutterBanner(t *testing.T) {
	cfg := stutterConfig()
	cfg.BannerDelay = 2 * time.Second
	cfg.DoEarlyTalk = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	banner := "220 mx.fakesmtp.test ESMTP fakesmtp\r\n"
	sl := e.sleeps()
	if len(sl) != len(banner)-1 {
		t.Fatalf("%d stutter pauses, want %d", len(sl), len(banner)-1)
	}
	for _, d := range sl {
		if d != time.Second {
			t.Fatalf("pause %v, want the stutter interval", d)
		}
	}
	// A well-behaved session without errors is not stuttered after that.
	c.Expect("NOOP", 250)
	if n := len(e.sleeps()); n != len(sl) {
		t.Fatalf("clean reply stuttered (%d more pauses)", n-len(sl))
	}
}

func TestStutterEarlyTalkDuringBanner(t *testing.T) {
	cfg := stutterConfig()
	cfg.BannerDelay = time.Second
	cfg.DoEarlyTalk = true
	// Real pauses, so the client's early EHLO arrives mid-banner.
	cfg.StutterInterval = 20 * time.Millisecond
	e := start(t, cfg, realSleep)
	c := dialRaw(t, e.addr)
	c.Send("EHLO early.example\r\n")
	r := c.Read()
	if r.Code != 220 {
		t.Fatalf("banner %v", r)
	}
	if r := c.Read(); r.Code != 554 {
		t.Fatalf("early talker during a stuttered banner got %v", r)
	}
}

func TestStutterAfterErrors(t *testing.T) {
	e := start(t, stutterConfig())
	c := e.dial()
	c.Expect("FOO", 500) // error 1: this reply is stuttered
	n := len(e.sleeps())
	want := len("500 5.5.2 Error: command not recognized\r\n") - 1
	if n != want {
		t.Fatalf("%d pauses for the error reply, want %d", n, want)
	}
	c.Expect("NOOP", 250)
	if got := len(e.sleeps()) - n; got != len("250 2.0.0 Ok\r\n")-1 {
		t.Fatalf("%d pauses after an error, want every reply stuttered", got)
	}
	if e.srv.Counters().Tarpitted.Load() != 2 {
		t.Fatalf("tarpitted = %d", e.srv.Counters().Tarpitted.Load())
	}
}

func TestTarpitMaxTime(t *testing.T) {
	cfg := stutterConfig()
	cfg.TarpitMaxTime = 5 * time.Second
	var e *env
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e = start(t, cfg, withClock(&e, clk))
	c := e.dial()
	c.Expect("FOO", 500)
	// 5 one-second pauses, then the rest of the reply at once.
	if n := len(e.sleeps()); n != 5 {
		t.Fatalf("%d pauses, want the 5 s budget", n)
	}
	c.Expect("NOOP", 250)
	if n := len(e.sleeps()); n != 5 {
		t.Fatalf("budget spent, yet %d pauses", n)
	}
}

func TestMaxTarpitted(t *testing.T) {
	cfg := devConfig()
	cfg.ErrorDelay = time.Second
	cfg.MaxTarpitted = 1
	cfg.MaxErrors = 10
	release := make(chan struct{})
	var once sync.Once
	entered := make(chan struct{})
	var mu sync.Mutex
	var sleeps int
	e := start(t, cfg, func(d *smtpd.Deps) {
		d.Sleep = func(ctx context.Context, dur time.Duration) bool {
			mu.Lock()
			sleeps++
			mu.Unlock()
			once.Do(func() { close(entered) })
			<-release
			return true
		}
	})
	a := e.dial()
	a.Send("FOO\r\n") // held in the tarpit
	<-entered
	if e.srv.Tarpitting() != 1 {
		t.Fatalf("tarpitting = %d", e.srv.Tarpitting())
	}
	b := e.dial()
	// The tarpit is full: b's error reply comes at once.
	b.Expect("FOO", 500)
	b.Expect("NOOP", 250)
	mu.Lock()
	n := sleeps
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d tarpit waits, want only a's", n)
	}
	close(release)
	if r := a.Read(); r.Code != 500 {
		t.Fatal(r)
	}
}

func TestStressMode(t *testing.T) {
	cfg := devConfig()
	cfg.MaxSessions = 10
	cfg.BannerDelay = 3 * time.Second
	e := start(t, cfg)
	var cs []*client
	for i := 0; i < 9; i++ {
		cs = append(cs, e.dialClient())
	}
	// 10th session: 10 > 0.9×10, stress mode.
	c := e.dialClient()
	waitFor(t, "stress log", func() bool { return hasLine(e.logs.String(), "entering stress mode") })
	sl := e.sleeps()
	if got := sl[len(sl)-1]; got != time.Second {
		t.Fatalf("banner delay under stress %v, want 3s/3", got)
	}
	c.Expect("QUIT", 221)
	for _, c := range cs[:3] {
		c.Expect("QUIT", 221)
	}
	// Sessions drop to 6 (< 0.8×10); the next one leaves stress mode.
	waitFor(t, "sessions", func() bool { return e.srv.ActiveSessions() == 6 })
	e.dialClient()
	waitFor(t, "leave log", func() bool { return hasLine(e.logs.String(), "leaving stress mode") })
	if sl := e.sleeps(); !strings.Contains(e.logs.String(), "max_sessions=10") || sl[len(sl)-1] != 3*time.Second {
		t.Fatalf("banner delay after stress %v", sl[len(sl)-1])
	}
}

// With tarpit = stutter and a banner delay, only the banner is
// stuttered for the delay: STARTTLS's 220 to a client that made no
// error goes out at once.
func TestStutterOnlyTheBanner(t *testing.T) {
	cfg := tlsConfig(t)
	cfg.Stutter = true
	cfg.StutterInterval = time.Second
	cfg.BannerDelay = 2 * time.Second
	cfg.DoEarlyTalk = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	before := len(e.sleeps())
	c.Expect("STARTTLS", 220)
	if n := len(e.sleeps()) - before; n > 0 {
		t.Fatalf("clean client's STARTTLS reply stuttered: %d pauses of %v", n, cfg.StutterInterval)
	}
}
