package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/store"
)

// TestKeepPlain: compaction leaves alone a file this process wrote in the
// last settleTime (its outputs and hook marker may still read it), going
// by the file's time and not its ID's (made when DATA began), and a file
// whose hook is pending; what an earlier run wrote is fair game.
func TestKeepPlain(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	started := now.Add(-time.Hour)
	// The ID says DATA began a minute ago: a slow client.
	g := id.NewGenerator(func() time.Time { return now.Add(-time.Minute) })
	write := func(modified time.Time) string {
		msgID := g.New()
		p := filepath.Join(dir, msgID+store.Ext)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, modified, modified); err != nil {
			t.Fatal(err)
		}
		return msgID
	}
	justCommitted := write(now.Add(-time.Second))
	settled := write(now.Add(-settleTime - time.Second))
	earlierRun := write(started.Add(-time.Second))
	hooked := write(now.Add(-time.Hour / 2))
	if err := os.MkdirAll(filepath.Join(dir, ".hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".hooks", hooked), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for msgID, want := range map[string]bool{justCommitted: true, settled: false, earlierRun: false, hooked: true} {
		if got := keepPlain(dir, msgID, started, now); got != want {
			t.Errorf("keepPlain(%s) = %v, want %v", msgID, got, want)
		}
	}
	// A run that started just now: a file from before it is not in flight.
	if keepPlain(dir, justCommitted, now, now) {
		t.Error("a file written before this process started is kept plain")
	}
}
