package id

import (
	"sort"
	"sync"
	"testing"
	"time"
)

func TestMonotonicAndUnique(t *testing.T) {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	g := NewGenerator(func() time.Time { return now })
	var ids []string
	for i := 0; i < 1000; i++ {
		ids = append(ids, g.New())
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs within one millisecond are not increasing")
	}
	seen := map[string]bool{}
	for _, s := range ids {
		if seen[s] || !Valid(s) {
			t.Fatalf("duplicate or invalid ID %q", s)
		}
		seen[s] = true
	}
}

func TestTimeSortable(t *testing.T) {
	tm := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewGenerator(func() time.Time { return tm }).New()
	b := NewGenerator(func() time.Time { return tm.Add(time.Millisecond) }).New()
	c := NewGenerator(func() time.Time { return tm.Add(time.Hour) }).New()
	if !(a < b && b < c) {
		t.Fatalf("not time-ordered: %s %s %s", a, b, c)
	}
}

func TestConcurrentUnique(t *testing.T) {
	g := NewGenerator(nil)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				s := g.New()
				mu.Lock()
				if seen[s] {
					t.Errorf("duplicate %s", s)
				}
				seen[s] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestValid(t *testing.T) {
	for _, s := range []string{"", "../../etc/passwd", "01ARZ3NDEKTSV4RRFFQ69G5FAI", "01arz3ndektsv4rrffq69g5fav"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
	if !Valid("01ARZ3NDEKTSV4RRFFQ69G5FAV") {
		t.Error("valid ID refused")
	}
}
