package greylist

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCheck measures Check on a list of 100k passed triplets: a
// lookup, a renewal and (with a file) its one-line append, plus the
// amortised prunes and compactions that renewals cause.
func BenchmarkCheck(b *testing.B) {
	const n = 100_000
	for _, file := range []bool{false, true} {
		name := "memory"
		if file {
			name = "file"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "greylist.state")
			ts := seedJournal(b, path, n)
			if !file {
				path = ""
			}
			clk := newClock()
			clk.Advance(time.Hour)
			l, err := New(Config{Path: path}, clk.Now, discard)
			if err != nil {
				b.Fatal(err)
			}
			if !file {
				for _, t := range ts { // the same state, in memory
					l.entries[keyOf(t)] = entry{first: epoch, last: epoch.Add(DefaultDelay)}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				clk.Advance(time.Millisecond)
				if !l.Check(ts[i%n]).Pass {
					b.Fatal("refused")
				}
				i += 7919 // a prime: visits every triplet, not in file order
			}
			b.StopTimer()
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
