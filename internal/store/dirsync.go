package store

import (
	"sync"

	"fakesmtp/internal/safeio"
)

// dirSyncer flushes a folder with group commit: sessions that finish a
// message while a folder fsync is running wait for the next one together,
// and that one fsync covers all their renames. With 20 concurrent
// sessions this turns 20 folder flushes into a few, without ever
// acknowledging a rename that no completed flush covers.
type dirSyncer struct {
	path    string
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	next    *syncBatch
}

// syncBatch is one folder fsync and the callers waiting for it.
type syncBatch struct {
	finished bool
	err      error
}

func newDirSyncer(path string) *dirSyncer {
	d := &dirSyncer{path: path}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// Sync returns once a folder fsync that started after the call began has
// completed.
func (d *dirSyncer) Sync() error {
	d.mu.Lock()
	if d.next == nil {
		d.next = &syncBatch{}
	}
	b := d.next
	for d.running {
		d.cond.Wait()
		if b.finished {
			err := b.err
			d.mu.Unlock()
			return err
		}
	}
	// No flush is running and ours has not been done: lead it. Every
	// rename made before this point is covered by the fsync below.
	d.running = true
	d.next = nil
	d.mu.Unlock()
	err := safeio.SyncDir(d.path)
	d.mu.Lock()
	b.finished, b.err = true, err
	d.running = false
	d.cond.Broadcast()
	d.mu.Unlock()
	return err
}
