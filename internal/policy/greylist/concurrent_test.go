package greylist

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentChecks runs Checks from 20 goroutines on shared triplets
// while the clock moves and the journal is appended to and compacted;
// run it with -race. Each triplet must be new exactly once, and the
// journal must end up holding exactly the state in memory.
func TestConcurrentChecks(t *testing.T) {
	const (
		goroutines = 20
		perG       = 500
		triplets   = 50
	)
	path := filepath.Join(t.TempDir(), "greylist.state")
	clk := newClock()
	l := openAt(t, path, clk)
	ts := make([]Triplet, triplets)
	for i := range ts {
		ts[i] = trip(fmt.Sprintf("192.0.%d.%d", i, i%7), fmt.Sprintf("s%d@example.org", i%3), "r@example.net")
	}

	var news, passes atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				// 20×500 seconds in all: under Expire, so nothing
				// expires and every triplet is new once.
				clk.Advance(time.Second)
				d := l.Check(ts[(g*perG+i*13)%triplets])
				if d.New {
					news.Add(1)
				}
				if d.Pass {
					passes.Add(1)
				}
				if d.Pass == (d.Wait > 0) || d.Wait > DefaultDelay {
					t.Errorf("inconsistent decision %+v", d)
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			l.Len()
			l.Prune()
		}
	})
	wg.Wait()

	if news.Load() != triplets {
		t.Errorf("%d new decisions for %d triplets", news.Load(), triplets)
	}
	if passes.Load() == 0 {
		t.Error("nothing passed")
	}
	if p, q := l.Len(); p+q != triplets {
		t.Errorf("Len = %d+%d, want %d", p, q, triplets)
	}

	crash(l)
	l2 := openAt(t, path, clk)
	defer l2.Close()
	if len(l2.entries) != len(l.entries) {
		t.Fatalf("journal holds %d entries, memory %d", len(l2.entries), len(l.entries))
	}
	for k, e := range l.entries {
		g, ok := l2.entries[k]
		if !ok || !g.first.Equal(e.first) || !g.last.Equal(e.last) {
			t.Errorf("%+v: journal %+v, memory %+v", k, g, e)
		}
	}
}
