package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/id"
)

func TestPrune(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	fill := func(t *testing.T) (*Store, []string) {
		s := newStore(t)
		g := id.NewGenerator(nil)
		var ids []string
		for i := 0; i < 10; i++ {
			env := testEnvelope(g)
			if err := s.Put(context.Background(), env, strings.NewReader(strings.Repeat("x", 1000))); err != nil {
				t.Fatal(err)
			}
			p, _ := s.FilePath(env.ID)
			// Message i is 10-i hours old.
			mt := now.Add(-time.Duration(10-i) * time.Hour)
			os.Chtimes(p, mt, mt)
			ids = append(ids, env.ID)
		}
		return s, ids
	}
	tests := []struct {
		name    string
		r       Retention
		removed int
	}{
		{"none", Retention{}, 0},
		{"age", Retention{MaxAge: 3*time.Hour + time.Minute}, 7},
		{"count", Retention{MaxMessages: 4}, 6},
		{"size", Retention{MaxSize: 5 * 1400}, 6},
		{"within", Retention{MaxMessages: 20, MaxAge: 24 * time.Hour}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ids := fill(t)
			res, err := s.Prune(tc.r, now)
			if err != nil {
				t.Fatal(err)
			}
			if res.Removed != tc.removed || res.Left != 10-tc.removed {
				t.Fatalf("result %+v, want %d removed", res, tc.removed)
			}
			left, _ := s.List()
			// The oldest went first: what is left is the newest.
			if strings.Join(left, ",") != strings.Join(ids[tc.removed:], ",") {
				t.Fatalf("left %v, want the newest %v", left, ids[tc.removed:])
			}
		})
	}
}
