package traps

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}

// TestLocksExclude runs a read-increment-write cycle from many goroutines
// under each lock kind; without mutual exclusion increments get lost.
func TestLocksExclude(t *testing.T) {
	for name, lock := range map[string]func(string) (func(), error){"lockFile": lockFile, "lockExcl": lockExcl} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			counter := filepath.Join(dir, "n")
			writeFile(t, counter, "0")
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					unlock, err := lock(filepath.Join(dir, "lock"))
					if err != nil {
						t.Error(err)
						return
					}
					defer unlock()
					b, _ := os.ReadFile(counter)
					n, _ := strconv.Atoi(string(b))
					os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o600)
				})
			}
			wg.Wait()
			if got := readFile(t, counter); got != "16" {
				t.Errorf("counter = %s, want 16", got)
			}
		})
	}
}

func TestLockExclStale(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "traps.json.lock")
	writeFile(t, name, "12345\n") // left by a crashed process
	old := time.Now().Add(-2 * staleLockAge)
	if err := os.Chtimes(name, old, old); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockExcl(name)
	if err != nil {
		t.Fatalf("stale lock not taken over: %v", err)
	}
	if s := readFile(t, name); !strings.HasPrefix(s, strconv.Itoa(os.Getpid())) {
		t.Errorf("lock file holds %q, want our pid", s)
	}
	unlock()
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("lock file left after unlock: %v", err)
	}
}
