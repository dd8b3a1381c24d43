package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"fakesmtp/internal/safeio"
)

// fsOps are the file system calls that make message files durable. New
// picks them for the platform (flush_linux.go, flush_other.go); tests
// wrap them to record their order and to inject failures.
type fsOps struct {
	// prepare runs in the writer's own goroutine on its file, before the
	// file joins a batch. Where there is no flushAll it is the file's
	// fsync: concurrent sessions then fsync side by side rather than one
	// after the other in the leader. Nil when flushAll covers the data.
	prepare func(f *os.File) error
	// flushAll makes the data and metadata of every file written so far
	// durable, with one flush of the device's write cache for the whole
	// batch. Nil where prepare did the flushing.
	flushAll func() error
	// flushOne replaces flushAll for a batch of one file, where flushing
	// just that file is cheaper than flushing everything: the common case
	// with one or two sessions. Nil to use flushAll for every batch.
	flushOne func(f *os.File) error
	// check reports a write error on f that flushAll may not have
	// reported: a file-system-wide flush reports an error once, to
	// whichever batch asks first, while each file's own descriptor sees
	// every error of that file. It runs after flushAll, before the close.
	// Nil where prepare is an fsync, which reports the file's errors.
	check func(f *os.File) error
	// rename gives a flushed and closed file its final name. It must not
	// replace an existing file.
	rename func(from, to string) error
	// syncDir makes the renames in the store folder durable.
	syncDir func() error
}

// portableOps flushes each message file with its own fsync, run by its
// writer before it joins a batch, and groups only the renames and the
// folder flush. It is what every platform can do; Linux does better (see
// flush_linux.go) where it can.
func portableOps(path string) *fsOps {
	return &fsOps{
		prepare: (*os.File).Sync,
		rename:  renameNoReplace,
		syncDir: func() error { return safeio.SyncDir(path) },
	}
}

// renameIfAbsent renames from to to unless to exists: an ID clash must
// not replace a stored message. The check and the rename are two steps,
// which is enough here: IDs are unique, and this only guards against a
// clash, not against a race.
func renameIfAbsent(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrExist}
	}
	return os.Rename(from, to)
}

// committer makes message files durable in batches (group commit). A
// batch has one flush of its files' data (fsOps.flushAll), then the
// renames into the store folder, then one flush of the folder. A flush
// costs nearly the same for twenty files as for one, so sessions that
// finish a message together share it instead of queueing behind each
// other's.
//
// There is no committer goroutine: the first Commit that finds no batch
// running leads one, and the messages that queue meanwhile are handed,
// as the next batch, to one of their own writers, who leads it. So
// nothing has to be started or stopped with the Store, and the leader is
// always a writer that has to wait for a flush anyway.
//
// The next batch is handed over as soon as the data flush is done, not
// after the renames and the folder flush: its data flush then runs while
// the previous leader renames, which shortens each writer's wait. The
// order within a batch is all that durability needs; two batches can be
// in their rename steps at once.
type committer struct {
	ops *fsOps

	mu      sync.Mutex
	running bool          // a leader is flushing data
	queue   []*commitItem // waiting for the next batch; empty unless running
}

// commitItem is one message file waiting for a batch.
type commitItem struct {
	f     *os.File // open until the batch has checked it for write errors
	final string   // the message's final path in the store folder
	err   error    // the result, set by the leader before it sends on wake
	// wake receives once: nil when the item's batch is done, or the next
	// batch, which this item's writer must lead (the item is its first
	// element).
	wake chan []*commitItem
}

// commit makes the open, written file f durable under the name final and
// closes it; on error it removes f and leaves no final name behind.
//
// ctx counts only while the message is still queued for a batch. A
// writer whose context ends then withdraws: its file is removed and it
// gets the context's error. Once a leader has taken the batch, the flush,
// renames and folder flush run to their end (a flush cannot be called
// back, and the leader does not watch its followers' contexts), and the
// writer waits for them, at most one batch, and gets the batch's result.
// nil then still means the message is durable and may be acknowledged;
// if the connection is gone meanwhile, the client will send it again, as
// after any reply lost in transit (RFC 5321 6.1).
func (c *committer) commit(ctx context.Context, f *os.File, final string) error {
	it := &commitItem{f: f, final: final, wake: make(chan []*commitItem, 1)}
	c.mu.Lock()
	if !c.running {
		c.running = true
		c.mu.Unlock()
		c.lead([]*commitItem{it})
		return it.err
	}
	c.queue = append(c.queue, it)
	c.mu.Unlock()

	var batch []*commitItem
	select {
	case batch = <-it.wake:
	case <-ctx.Done():
		c.mu.Lock()
		if i := slices.Index(c.queue, it); i >= 0 {
			c.queue = slices.Delete(c.queue, i, i+1)
			c.mu.Unlock()
			discard(f)
			return fmt.Errorf("store: commit %s: %w", filepath.Base(final), ctx.Err())
		}
		c.mu.Unlock()
		batch = <-it.wake // taken already: see it through
	}
	if batch != nil {
		c.lead(batch)
	}
	return it.err
}

// lead makes batch durable and releases its writers; batch[0] is the
// caller's own item. Once the data is flushed, it hands what queued
// meanwhile to a new leader.
func (c *committer) lead(batch []*commitItem) {
	var err error
	switch {
	case len(batch) == 1 && c.ops.flushOne != nil:
		err = c.ops.flushOne(batch[0].f)
	case c.ops.flushAll != nil:
		err = c.ops.flushAll()
	}
	c.handOff()
	if err != nil {
		for _, it := range batch {
			it.err = fmt.Errorf("store: flush %s: %w", filepath.Base(it.final), err)
			discard(it.f)
		}
	} else {
		c.name(batch)
	}
	for _, it := range batch[1:] {
		it.wake <- nil
	}
}

// handOff gives the queued messages to the first of their writers as the
// next batch, or marks the committer idle when none are queued.
func (c *committer) handOff() {
	c.mu.Lock()
	next := c.queue
	c.queue = nil
	c.running = len(next) > 0
	c.mu.Unlock()
	if len(next) > 0 {
		next[0].wake <- next
	}
}

// name gives each file of a flushed batch its final name, then flushes
// the folder, so that each name is durable before its writer hears nil.
// A file fails alone when its own check, close or rename fails; a
// failed folder flush fails every file renamed in this batch.
func (c *committer) name(batch []*commitItem) {
	renamed := 0
	for _, it := range batch {
		name := filepath.Base(it.final)
		if c.ops.check != nil {
			if err := c.ops.check(it.f); err != nil {
				it.err = fmt.Errorf("store: flush %s: %w", name, err)
				discard(it.f)
				continue
			}
		}
		tmp := it.f.Name()
		if err := it.f.Close(); err != nil {
			it.err = fmt.Errorf("store: close %s: %w", name, err)
			os.Remove(tmp)
			continue
		}
		if err := c.ops.rename(tmp, it.final); err != nil {
			it.err = fmt.Errorf("store: rename %s: %w", name, err)
			os.Remove(tmp)
			continue
		}
		renamed++
	}
	if renamed == 0 {
		return
	}
	if err := c.ops.syncDir(); err != nil {
		for _, it := range batch {
			if it.err == nil {
				it.err = fmt.Errorf("store: flush folder for %s: %w", filepath.Base(it.final), err)
				// The name may not be durable: take the file back, so
				// that the client's retry does not leave a duplicate.
				os.Remove(it.final)
			}
		}
	}
}

// discard closes and removes a temporary file that will not be committed.
func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}
