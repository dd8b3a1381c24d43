package hooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"fakesmtp/internal/id"
	"fakesmtp/internal/safeio"
	"fakesmtp/internal/store"
)

// A pending hook is a marker file, <store_path>/.hooks/<ID>, written and
// flushed before the 250 and removed once the hooks have run (or given
// up). The marker's name is what counts: the message is found by its ID
// in the store folder, in whichever form it is. The marker holds the
// message's path too, which is only a hint (for a Dir that is not in the
// store folder), since a crash while it was written can leave it empty
// or cut short.

// Pending records that the message msgID, stored at path, needs its
// hooks. Call it before the 250: it returns once the marker's name is
// on disk (the file and its folder flushed), so that neither a crash nor
// a power loss after the 250 loses the hook.
func (r *Runner) Pending(msgID, path string) error {
	if !id.Valid(msgID) {
		return fmt.Errorf("hooks: marker: invalid message id %q", msgID)
	}
	// Written in place, not through a temporary file and a rename: a
	// marker cut short is still a whole marker, so the rename and its
	// cost would buy nothing. The file's flush writes its inode, which a
	// flush of the folder alone does not on every file system (ext4
	// without a journal); the folder's flush, shared with the sessions
	// that wait for one at the same time, makes the name durable.
	if err := safeio.WriteNew(filepath.Join(r.cfg.Dir, msgID), []byte(path), 0o644); err != nil {
		return fmt.Errorf("hooks: marker %s: %w", msgID, err)
	}
	if err := r.dir.sync(); err != nil {
		// The marker may still be on disk: then the hook runs at the
		// next start rather than not at all.
		return fmt.Errorf("hooks: marker %s: flush %s: %w", msgID, r.cfg.Dir, err)
	}
	return nil
}

// Start starts the workers and queues the hooks left pending by an
// earlier run: one per marker, whatever the marker holds.
func (r *Runner) Start() {
	for i := 0; i < r.cfg.Concurrency; i++ {
		r.wg.Add(1)
		go r.work()
	}
	ents, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		r.log.Error("hooks left pending by an earlier run not read", "dir", r.cfg.Dir, "err", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !id.Valid(e.Name()) {
			continue
		}
		r.log.Info("hook left pending by an earlier run: running it", "id", e.Name())
		r.enqueue(job{id: e.Name()})
	}
}

// locate returns the path of the message a marker left by an earlier run
// stands for: by its ID in the store folder (Dir's parent), or else the
// path the marker holds if that names this ID's file and it exists. The
// error wraps os.ErrNotExist when the message is gone.
func (r *Runner) locate(msgID string) (string, error) {
	p, err := store.LocateIn(r.root, msgID)
	if err == nil {
		return p, nil
	}
	if hint, rerr := os.ReadFile(filepath.Join(r.cfg.Dir, msgID)); rerr == nil {
		h := string(hint)
		if store.MessageID(filepath.Base(h)) == msgID {
			if _, serr := os.Stat(h); serr == nil {
				return h, nil
			}
		}
	}
	return "", err
}

// dropMarker removes the marker of msgID: its hooks are done with. The
// removal is not flushed: should it be lost, the hook runs once more.
func (r *Runner) dropMarker(msgID string) {
	if err := os.Remove(filepath.Join(r.cfg.Dir, msgID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.log.Error("hook marker not removed; the hook runs again at the next start", "id", msgID, "err", err)
	}
}

// folderSync flushes the marker folder for Pending, one flush for all the
// calls that wait at the same time (group commit, as the store does for
// message files): sessions that finish messages together share a folder
// flush instead of queueing for one each.
type folderSync struct {
	flush func() error // safeio.SyncDir of the folder; tests wrap it

	mu       sync.Mutex
	cond     sync.Cond // signalled when a flush ends
	running  bool
	started  uint64 // flushes begun
	finished uint64 // flushes ended
	err      error  // of the last flush ended
}

func newFolderSync(dir string) *folderSync {
	s := &folderSync{flush: func() error { return safeio.SyncDir(dir) }}
	s.cond.L = &s.mu
	return s
}

// sync returns once a flush that began after the call has ended, with
// the error of the last flush ended (which began after the call too).
// The caller's file must be in the folder before the call.
func (s *folderSync) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A flush running now may have missed the caller's file: only the
	// next one counts.
	need := s.started + 1
	for s.finished < need {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		s.mu.Unlock()
		err := s.flush()
		s.mu.Lock()
		s.running = false
		s.finished = s.started
		s.err = err
		s.cond.Broadcast()
	}
	return s.err
}
