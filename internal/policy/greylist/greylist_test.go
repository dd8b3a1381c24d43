package greylist

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is an injected clock that tests move by hand; it is safe for
// concurrent use so that the race test can advance it while Checks run.
type fakeClock struct{ ns atomic.Int64 }

var epoch = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(epoch.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// logTo returns a logger writing text records to buf.
func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }

var discard = slog.New(slog.DiscardHandler)

func trip(client, sender, rcpt string) Triplet {
	return Triplet{Client: netip.MustParseAddr(client), Sender: sender, Recipient: rcpt}
}

func TestNetwork(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		{"192.0.2.1", "192.0.2.0/24"},
		{"192.0.2.200", "192.0.2.0/24"},
		{"192.0.3.1", "192.0.3.0/24"},
		{"::ffff:192.0.2.1", "192.0.2.0/24"},
		{"2001:db8::1", "2001:db8::/64"},
		{"2001:db8::ffff", "2001:db8::/64"},
		{"2001:db8:0:1::1", "2001:db8:0:1::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	}
	for _, tt := range tests {
		if got := Network(netip.MustParseAddr(tt.addr)); got.String() != tt.want {
			t.Errorf("Network(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if got := Network(netip.Addr{}); got.IsValid() {
		t.Errorf("Network(zero) = %s, want the zero Prefix", got)
	}
}

// step is one RCPT in a scenario: move the clock by after, then Check.
type step struct {
	after time.Duration
	t     Triplet
	want  Decision
}

var (
	alice   = trip("192.0.2.1", "alice@example.org", "bob@example.net")
	first   = Decision{New: true, Wait: DefaultDelay}
	pass    = Decision{Pass: true}
	waitFor = func(d time.Duration) Decision { return Decision{Wait: d} }
)

const day = 24 * time.Hour

// scenarios are the behaviour with the default Config.
var scenarios = []struct {
	name  string
	steps []step
}{
	{"first attempt is refused for Delay", []step{
		{0, alice, first},
	}},
	{"retry before Delay is refused with the remaining wait", []step{
		{0, alice, first},
		{2 * time.Minute, alice, waitFor(3 * time.Minute)},
		{2*time.Minute + 59*time.Second, alice, waitFor(time.Second)},
	}},
	{"retry at Delay passes", []step{
		{0, alice, first},
		{DefaultDelay, alice, pass},
	}},
	{"refused retries do not restart the delay", []step{
		{0, alice, first},
		{time.Minute, alice, waitFor(4 * time.Minute)},
		{time.Minute, alice, waitFor(3 * time.Minute)},
		{3 * time.Minute, alice, pass},
	}},
	{"retry at Expire still passes", []step{
		{0, alice, first},
		{DefaultExpire, alice, pass},
	}},
	{"not retried within Expire starts over", []step{
		{0, alice, first},
		{DefaultExpire + time.Second, alice, first},
		{time.Minute, alice, waitFor(4 * time.Minute)},
		{4 * time.Minute, alice, pass},
	}},
	{"passed triplet passes for PassTTL and is renewed", []step{
		{0, alice, first},
		{DefaultDelay, alice, pass},
		{DefaultPassTTL, alice, pass},
		{DefaultPassTTL, alice, pass},
		{30 * day, alice, pass},
	}},
	{"passed triplet not seen for PassTTL starts over", []step{
		{0, alice, first},
		{DefaultDelay, alice, pass},
		{DefaultPassTTL + time.Second, alice, first},
	}},
	{"IPv4 clients are grouped by /24", []step{
		{0, trip("192.0.2.1", "a@example.org", "b@example.net"), first},
		{DefaultDelay, trip("192.0.2.200", "a@example.org", "b@example.net"), pass},
		{0, trip("192.0.3.1", "a@example.org", "b@example.net"), first},
	}},
	{"IPv6 clients are grouped by /64", []step{
		{0, trip("2001:db8::1", "a@example.org", "b@example.net"), first},
		{DefaultDelay, trip("2001:db8::ffff", "a@example.org", "b@example.net"), pass},
		{0, trip("2001:db8:0:1::1", "a@example.org", "b@example.net"), first},
	}},
	{"IPv4-mapped IPv6 is its IPv4 /24", []step{
		{0, trip("::ffff:192.0.2.1", "a@example.org", "b@example.net"), first},
		{DefaultDelay, trip("192.0.2.77", "a@example.org", "b@example.net"), pass},
	}},
	{"addresses compare case-insensitively", []step{
		{0, trip("192.0.2.1", "Alice@Example.ORG", "BOB@example.net"), first},
		{DefaultDelay, trip("192.0.2.1", "alice@example.org", "bob@EXAMPLE.NET"), pass},
	}},
	{"sender and recipient are both in the triplet", []step{
		{0, trip("192.0.2.1", "a@example.org", "b@example.net"), first},
		{DefaultDelay, trip("192.0.2.1", "a@example.org", "c@example.net"), first},
		{0, trip("192.0.2.1", "c@example.org", "b@example.net"), first},
		{0, trip("192.0.2.1", "a@example.org", "b@example.net"), pass},
	}},
	{"the null sender is a sender of its own", []step{
		{0, trip("192.0.2.1", "", "b@example.net"), first},
		{time.Minute, trip("192.0.2.1", "", "b@example.net"), waitFor(4 * time.Minute)},
		{0, trip("192.0.2.1", "postmaster@example.org", "b@example.net"), first},
		{0, trip("192.0.2.1", `""`, "b@example.net"), first},
		{4 * time.Minute, trip("192.0.2.1", "", "b@example.net"), pass},
	}},
	{"odd characters in addresses", []step{
		{0, trip("192.0.2.1", "a\tb\"c\\d\n@example.org", "ünïcode@example.net"), first},
		{DefaultDelay, trip("192.0.2.1", "A\tB\"C\\D\n@example.org", "ÜNÏCODE@example.net"), pass},
	}},
	{"a client without an address is still greylisted", []step{
		{0, Triplet{Sender: "a@example.org", Recipient: "b@example.net"}, first},
		{DefaultDelay, Triplet{Sender: "a@example.org", Recipient: "b@example.net"}, pass},
	}},
}

// TestCheck runs every scenario in memory, with a state file, and with
// the List reopened before every step, cleanly (Close, New) and after a
// simulated crash (the file closed without Close's compaction): the
// answers must be the same in all four.
func TestCheck(t *testing.T) {
	modes := []struct {
		name     string
		file     bool
		reopen   bool
		crashing bool
	}{
		{"memory", false, false, false},
		{"file", true, false, false},
		{"reopen", true, true, false},
		{"crash", true, true, true},
	}
	for _, m := range modes {
		for _, sc := range scenarios {
			t.Run(m.name+"/"+sc.name, func(t *testing.T) {
				clk := newClock()
				cfg := Config{}
				if m.file {
					cfg.Path = filepath.Join(t.TempDir(), "greylist.state")
				}
				open := func() *List {
					l, err := New(cfg, clk.Now, discard)
					if err != nil {
						t.Fatal(err)
					}
					return l
				}
				l := open()
				for i, s := range sc.steps {
					if m.reopen && i > 0 {
						if m.crashing {
							l.j.f.Close()
						} else if err := l.Close(); err != nil {
							t.Fatal(err)
						}
						l = open()
					}
					clk.Advance(s.after)
					if got := l.Check(s.t); got != s.want {
						t.Fatalf("step %d (%+v after %v): got %+v, want %+v", i, s.t, s.after, got, s.want)
					}
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestCheckCustomConfig(t *testing.T) {
	clk := newClock()
	l, err := New(Config{Delay: time.Minute, Expire: 10 * time.Minute, PassTTL: time.Hour}, clk.Now, discard)
	if err != nil {
		t.Fatal(err)
	}
	steps := []step{
		{0, alice, Decision{New: true, Wait: time.Minute}},
		{30 * time.Second, alice, waitFor(30 * time.Second)},
		{30 * time.Second, alice, pass},
		{time.Hour, alice, pass},
		{time.Hour + time.Second, alice, Decision{New: true, Wait: time.Minute}},
		{10*time.Minute + time.Second, alice, Decision{New: true, Wait: time.Minute}},
	}
	for i, s := range steps {
		clk.Advance(s.after)
		if got := l.Check(s.t); got != s.want {
			t.Fatalf("step %d: got %+v, want %+v", i, got, s.want)
		}
	}
}

func TestCheckClockStepsBack(t *testing.T) {
	clk := newClock()
	l, _ := New(Config{}, clk.Now, discard)
	l.Check(alice)
	clk.Advance(-time.Hour)
	if got := l.Check(alice); got != waitFor(DefaultDelay) {
		t.Errorf("after the clock went back: got %+v, want a full delay", got)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings; none = valid
	}{
		{"zero is the defaults", Config{}, nil},
		{"custom", Config{Delay: time.Minute, Expire: time.Hour, PassTTL: day}, nil},
		{"negative delay", Config{Delay: -time.Second}, []string{"greylist: negative delay"}},
		{"every problem at once", Config{Expire: -1, PassTTL: -1}, []string{"negative expire", "negative pass TTL"}},
		{"delay not shorter than expire", Config{Delay: time.Hour, Expire: time.Hour}, []string{"no retry could ever pass"}},
		{"delay over the default expire", Config{Delay: 5 * time.Hour}, []string{"not shorter than expire 4h0m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.cfg, nil, nil)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				want := tt.cfg
				want, _ = want.withDefaults()
				if l.cfg != want || l.cfg.Delay == 0 || l.cfg.Expire == 0 || l.cfg.PassTTL == 0 {
					t.Errorf("config %+v, want %+v", l.cfg, want)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLenAndPrune(t *testing.T) {
	clk := newClock()
	l, _ := New(Config{}, clk.Now, discard)
	a := trip("192.0.2.1", "a@example.org", "x@example.net")
	b := trip("192.0.2.1", "b@example.org", "x@example.net")
	c := trip("192.0.2.1", "c@example.org", "x@example.net")
	l.Check(a)
	l.Check(b)
	clk.Advance(DefaultDelay)
	l.Check(a) // passes
	l.Check(c) // pending, 5 minutes younger than b
	if p, q := l.Len(); p != 2 || q != 1 {
		t.Fatalf("Len = %d pending, %d passed; want 2, 1", p, q)
	}

	clk.Advance(DefaultExpire - DefaultDelay + time.Second) // b expired, c not
	if p, q := l.Len(); p != 1 || q != 1 {
		t.Fatalf("Len after b expired = %d, %d; want 1, 1", p, q)
	}
	if len(l.entries) != 3 {
		t.Fatalf("%d entries in memory before Prune, want 3", len(l.entries))
	}
	l.Prune()
	if len(l.entries) != 2 {
		t.Fatalf("%d entries in memory after Prune, want 2", len(l.entries))
	}

	clk.Advance(DefaultPassTTL)
	l.Prune()
	if p, q := l.Len(); p != 0 || q != 0 || len(l.entries) != 0 {
		t.Fatalf("after PassTTL: Len = %d, %d with %d in memory; want empty", p, q, len(l.entries))
	}
}

// TestCheckPrunesAmortised: expired entries leave memory without Prune
// once pruneMinChecks Checks have run.
func TestCheckPrunesAmortised(t *testing.T) {
	clk := newClock()
	l, _ := New(Config{}, clk.Now, discard)
	const n = 500
	for i := range n {
		l.Check(trip("192.0.2.1", fmt.Sprintf("s%d@example.org", i), "r@example.net"))
	}
	clk.Advance(DefaultExpire + time.Second)
	for range pruneMinChecks - n - 1 {
		l.Check(alice)
	}
	if len(l.entries) != n+1 {
		t.Fatalf("%d entries in memory before the %dth Check, want %d", len(l.entries), pruneMinChecks, n+1)
	}
	l.Check(alice)
	if len(l.entries) != 1 {
		t.Fatalf("%d entries in memory after %d Checks, want only alice's", len(l.entries), pruneMinChecks)
	}
}
