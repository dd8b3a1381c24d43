package traps

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injected clock: time moves only when a test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTraps builds Traps on cfg, filling StatePath with a temp file when
// it is empty.
func newTraps(t *testing.T, cfg Config, clk *fakeClock) *Traps {
	t.Helper()
	if cfg.StatePath == "" {
		cfg.StatePath = filepath.Join(t.TempDir(), "traps.json")
	}
	tr, err := New(cfg, clk.Now, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tr
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustRecord(t *testing.T, tr *Traps, ip, rcpt, reason string) {
	t.Helper()
	if err := tr.Record(netip.MustParseAddr(ip), rcpt, reason); err != nil {
		t.Fatalf("Record %s: %v", ip, err)
	}
}

func listed(tr *Traps, ip string) bool {
	_, ok := tr.Listed(netip.MustParseAddr(ip))
	return ok
}
