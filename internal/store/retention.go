package store

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Retention bounds the store; zero fields are no bound. The junk a
// collector keeps "may take up quite a bunch of storage space" (the C#
// original's author): these keep it in check.
type Retention struct {
	MaxSize     int64         // bytes of message files, a deduplicated body counted once
	MaxAge      time.Duration // by file time
	MaxMessages int
}

// Enabled reports whether any bound is set.
func (r Retention) Enabled() bool { return r.MaxSize > 0 || r.MaxAge > 0 || r.MaxMessages > 0 }

// PruneResult says what Prune removed and what is left.
type PruneResult struct {
	// RemovedIDs are the messages removed, for the index.
	RemovedIDs   []string
	Removed      int
	RemovedBytes int64
	Left         int
	LeftBytes    int64
}

// Prune removes message files, oldest first (IDs sort by arrival), until
// the store is within r: files older than MaxAge, then as many of the
// oldest as it takes to get under MaxMessages and MaxSize.
func (s *Store) Prune(r Retention, now time.Time) (PruneResult, error) {
	var res PruneResult
	ids, err := s.List()
	if err != nil {
		return res, err
	}
	type file struct {
		id   string
		path string
		size int64
		mod  time.Time
		body string // the shared body a .ref file names (dedup)
	}
	files := make([]file, 0, len(ids))
	// A deduplicated body counts once, with the first message that
	// names it, and its bytes are freed with the last one.
	bodies := map[string]int64{} // hash -> stored size
	refs := map[string]int{}     // hash -> messages left that name it
	for _, msgID := range ids {
		p, err := s.Locate(msgID)
		if err != nil {
			continue // removed meanwhile
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		f := file{id: msgID, path: p, size: fi.Size(), mod: fi.ModTime()}
		if strings.HasSuffix(p, ExtRef) {
			if f.body, err = refHash(p); err != nil {
				continue // removed meanwhile, or unreadable: not counted
			}
		}
		if f.body != "" {
			if _, seen := bodies[f.body]; !seen {
				bodies[f.body] = 0
				if bp := bodyPath(s.cfg.Path, f.body); bp != "" {
					if bi, err := os.Stat(bp); err == nil {
						bodies[f.body] = bi.Size()
					}
				}
				res.LeftBytes += bodies[f.body]
			}
			refs[f.body]++
		}
		files = append(files, f)
		res.LeftBytes += f.size
	}
	res.Left = len(files)
	for _, f := range files {
		over := r.MaxAge > 0 && now.Sub(f.mod) > r.MaxAge ||
			r.MaxMessages > 0 && res.Left > r.MaxMessages ||
			r.MaxSize > 0 && res.LeftBytes > r.MaxSize
		if !over {
			break
		}
		if err := s.Remove(f.id); err != nil {
			return res, fmt.Errorf("store: prune: %w", err)
		}
		res.Removed++
		res.RemovedIDs = append(res.RemovedIDs, f.id)
		freed := f.size
		if f.body != "" {
			if refs[f.body]--; refs[f.body] == 0 {
				freed += bodies[f.body] // collected below
			}
		}
		res.RemovedBytes += freed
		res.Left--
		res.LeftBytes -= freed
	}
	if res.Removed > 0 {
		// Bodies only the pruned messages named (dedup) go too.
		if _, err := s.collectBodies(now, bodyGrace); err != nil {
			return res, err
		}
	}
	return res, nil
}

// bodyGrace keeps a stored body that no .ref names yet: a compaction
// writes the body before the .ref that names it.
const bodyGrace = 10 * time.Minute
