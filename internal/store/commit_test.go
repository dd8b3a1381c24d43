package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"fakesmtp/internal/id"
)

// opLog records the file system calls of commits, in order, with the
// test's own "written" and "returned" marks, to check that each message
// is flushed before its rename and its rename flushed before Commit
// returns.
type opLog struct {
	mu     sync.Mutex
	seq    int
	events []opEvent
}

type opEvent struct {
	seq  int
	what string // written, file-flushed, flush-begin, flush-end, rename, dirsync-begin, dirsync-end, returned
	id   string // the message, for written, file-flushed, rename, returned
	pair int    // for an -end event, the seq of its -begin
}

func (l *opLog) add(what, msgID string, pair int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.events = append(l.events, opEvent{seq: l.seq, what: what, id: msgID, pair: pair})
	return l.seq
}

// idOf is the message ID of a temporary or final message path.
func idOf(path string) string { return strings.TrimSuffix(filepath.Base(path), Ext) }

// record wraps ops so that every call is logged to l; the real calls
// still run, so the files are real.
func (l *opLog) record(ops *fsOps) {
	if p := ops.prepare; p != nil {
		ops.prepare = func(f *os.File) error {
			err := p(f)
			l.add("file-flushed", idOf(f.Name()), 0)
			return err
		}
	}
	if fo := ops.flushOne; fo != nil {
		ops.flushOne = func(f *os.File) error {
			err := fo(f)
			l.add("file-flushed", idOf(f.Name()), 0)
			return err
		}
	}
	if fa := ops.flushAll; fa != nil {
		ops.flushAll = func() error {
			b := l.add("flush-begin", "", 0)
			err := fa()
			l.add("flush-end", "", b)
			return err
		}
	}
	r := ops.rename
	ops.rename = func(from, to string) error {
		err := r(from, to)
		l.add("rename", idOf(to), 0)
		return err
	}
	sd := ops.syncDir
	ops.syncDir = func() error {
		b := l.add("dirsync-begin", "", 0)
		err := sd()
		l.add("dirsync-end", "", b)
		return err
	}
}

// checkOrder fails t unless, for every message that Commit accepted,
// its data was flushed after it was written and before its rename (by a
// flushAll that began after the write, or by its own prepare), and a
// folder flush began after the rename and ended before Commit returned.
func (l *opLog) checkOrder(t *testing.T, ids []string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	at := func(what, msgID string) int {
		for _, e := range l.events {
			if e.what == what && e.id == msgID {
				return e.seq
			}
		}
		return 0
	}
	// covered reports whether some begin/end pair lies strictly inside
	// (after, before).
	covered := func(end string, after, before int) bool {
		for _, e := range l.events {
			if e.what == end && e.pair > after && e.seq < before {
				return true
			}
		}
		return false
	}
	for _, msgID := range ids {
		written, renamed, returned := at("written", msgID), at("rename", msgID), at("returned", msgID)
		if written == 0 || renamed == 0 || returned == 0 {
			t.Errorf("%s: written %d, renamed %d, returned %d: missing step", msgID, written, renamed, returned)
			continue
		}
		prepared := at("file-flushed", msgID)
		if !(prepared > written && prepared < renamed) && !covered("flush-end", written, renamed) {
			t.Errorf("%s: renamed (event %d) with no data flush since it was written (event %d)", msgID, renamed, written)
		}
		if !covered("dirsync-end", renamed, returned) {
			t.Errorf("%s: Commit returned (event %d) with no folder flush since its rename (event %d)", msgID, returned, renamed)
		}
	}
}

// batchOps are like Linux's (one flush for the batch, no fsync per file)
// on every platform, for the order tests; flushAll syncs the temporary
// files one by one, which is slow but real everywhere.
func batchOps(s *Store) *fsOps {
	ops := portableOps(s.Path())
	ops.prepare = nil
	ops.flushAll = func() error {
		ents, err := os.ReadDir(s.tmp)
		if err != nil {
			return err
		}
		for _, e := range ents {
			f, err := os.OpenFile(filepath.Join(s.tmp, e.Name()), os.O_RDWR, 0)
			if err != nil {
				continue // renamed meanwhile by the previous batch
			}
			err = f.Sync()
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	return ops
}

// useOps makes s commit with ops.
func useOps(s *Store, ops *fsOps) {
	*s.ops = *ops
}

// putMarked stores a message like Put, logging when its bytes are
// written and when Commit returned nil.
func putMarked(s *Store, l *opLog, env *Envelope, body string) error {
	w, err := s.CreateWith(context.Background(), env, []byte(body))
	if err != nil {
		return err
	}
	defer w.Abort()
	l.add("written", env.ID, 0)
	if err := w.Commit(context.Background()); err != nil {
		return err
	}
	l.add("returned", env.ID, 0)
	return nil
}

func TestConcurrentCommitsFlushBeforeRenameBeforeReturn(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  func(s *Store) *fsOps
	}{
		{"platform", func(s *Store) *fsOps { o := *s.ops; return &o }},
		{"batch flush", batchOps},
		{"fsync per file", func(s *Store) *fsOps { return portableOps(s.Path()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			ops := tc.ops(s)
			var l opLog
			l.record(ops)
			useOps(s, ops)
			g := id.NewGenerator(nil)
			const n = 40
			ids := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				env := testEnvelope(g)
				ids[i] = env.ID
				wg.Go(func() {
					if err := putMarked(s, &l, env, "body "+env.ID+"\r\n"); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			l.checkOrder(t, ids)
			assertStored(t, s, ids)
		})
	}
}

// assertStored fails t unless the store holds exactly the messages ids,
// each complete, and nothing in .tmp.
func assertStored(t *testing.T, s *Store, ids []string) {
	t.Helper()
	got, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	for _, msgID := range got {
		p, _ := s.FilePath(msgID)
		env, body, err := ReadFile(p)
		if err != nil || env.ID != msgID || string(body) != "body "+msgID+"\r\n" {
			t.Errorf("%s: read back %q, %v", msgID, body, err)
		}
	}
	if ents, _ := os.ReadDir(s.tmp); len(ents) != 0 {
		t.Errorf("left in .tmp: %v", ents)
	}
}

// A commit alone flushes only its own file (flushOne), and still in the
// order flush, rename, folder flush.
func TestLoneCommitFlushesItsFileOnly(t *testing.T) {
	s := newStore(t)
	ops := batchOps(s)
	ops.flushOne = (*os.File).Sync
	var l opLog
	l.record(ops)
	flushAll := ops.flushAll
	ops.flushAll = func() error {
		t.Error("a lone commit flushed everything")
		return flushAll()
	}
	useOps(s, ops)
	g := id.NewGenerator(nil)
	var ids []string
	for range 3 {
		env := testEnvelope(g)
		ids = append(ids, env.ID)
		if err := putMarked(s, &l, env, "body "+env.ID+"\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	l.checkOrder(t, ids)
	assertStored(t, s, ids)
}

var errInjected = errors.New("injected I/O error")

func TestFlushErrorFailsTheWholeBatchAndLeavesNothing(t *testing.T) {
	s := newStore(t)
	ops := batchOps(s)
	ops.flushAll = func() error { return errInjected }
	useOps(s, ops)
	g := id.NewGenerator(nil)
	var wg sync.WaitGroup
	for range 20 {
		env := testEnvelope(g)
		wg.Go(func() {
			err := s.Put(context.Background(), env, strings.NewReader("body "+env.ID+"\r\n"))
			if !errors.Is(err, errInjected) {
				t.Errorf("%s: Commit = %v, want the flush error", env.ID, err)
			}
		})
	}
	wg.Wait()
	assertStored(t, s, nil)
}

// Only the batch whose flush failed fails: the writers that queued
// behind it are flushed by the next batch.
func TestFlushErrorFailsOnlyItsBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		ops := batchOps(s)
		gate := make(chan error)
		flushAll := ops.flushAll
		ops.flushAll = func() error {
			if err := <-gate; err != nil {
				return err
			}
			return flushAll()
		}
		useOps(s, ops)
		g := id.NewGenerator(nil)
		first := testEnvelope(g)
		firstErr := make(chan error, 1)
		go func() { firstErr <- s.Put(context.Background(), first, strings.NewReader("body "+first.ID+"\r\n")) }()
		synctest.Wait() // first leads, alone, and waits in its flush
		var ids []string
		errs := make(chan error, 5)
		for range 5 {
			env := testEnvelope(g)
			ids = append(ids, env.ID)
			go func() { errs <- s.Put(context.Background(), env, strings.NewReader("body "+env.ID+"\r\n")) }()
		}
		synctest.Wait() // the five are queued
		gate <- errInjected
		if err := <-firstErr; !errors.Is(err, errInjected) {
			t.Fatalf("first Commit = %v, want the flush error", err)
		}
		gate <- nil // the second batch: the five together
		for range 5 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		assertStored(t, s, ids)
	})
}

func TestGroupCommitSharesOneFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		ops := batchOps(s)
		gate := make(chan struct{})
		var flushes atomic.Int32
		flushAll := ops.flushAll
		ops.flushAll = func() error {
			flushes.Add(1)
			<-gate
			return flushAll()
		}
		useOps(s, ops)
		g := id.NewGenerator(nil)
		errs := make(chan error, 11)
		put := func(env *Envelope) {
			errs <- s.Put(context.Background(), env, strings.NewReader("body "+env.ID+"\r\n"))
		}
		var ids []string
		env := testEnvelope(g)
		ids = append(ids, env.ID)
		go put(env)
		synctest.Wait()
		for range 10 {
			env := testEnvelope(g)
			ids = append(ids, env.ID)
			go put(env)
		}
		synctest.Wait()
		close(gate)
		for range 11 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if n := flushes.Load(); n != 2 {
			t.Errorf("%d flushes for 1 message and then 10 queued together, want 2", n)
		}
		assertStored(t, s, ids)
	})
}

func TestCheckErrorFailsOnlyThatMessage(t *testing.T) {
	s := newStore(t)
	ops := batchOps(s)
	g := id.NewGenerator(nil)
	bad := testEnvelope(g)
	ops.check = func(f *os.File) error {
		if filepath.Base(f.Name()) == bad.ID {
			return errInjected
		}
		return nil
	}
	useOps(s, ops)
	var ids []string
	var wg sync.WaitGroup
	for i := range 10 {
		env := testEnvelope(g)
		if i == 3 {
			env = bad
		} else {
			ids = append(ids, env.ID)
		}
		wg.Go(func() {
			err := s.Put(context.Background(), env, strings.NewReader("body "+env.ID+"\r\n"))
			if want := env == bad; errors.Is(err, errInjected) != want || (err != nil) != want {
				t.Errorf("%s: Commit = %v", env.ID, err)
			}
		})
	}
	wg.Wait()
	assertStored(t, s, ids)
}

func TestFolderFlushErrorTakesTheNamesBack(t *testing.T) {
	s := newStore(t)
	ops := batchOps(s)
	ops.syncDir = func() error { return errInjected }
	useOps(s, ops)
	g := id.NewGenerator(nil)
	var wg sync.WaitGroup
	for range 10 {
		env := testEnvelope(g)
		wg.Go(func() {
			if err := s.Put(context.Background(), env, strings.NewReader("x")); !errors.Is(err, errInjected) {
				t.Errorf("%s: Commit = %v, want the folder flush error", env.ID, err)
			}
		})
	}
	wg.Wait()
	assertStored(t, s, nil)
}

// A writer whose context ends while its message is still queued gets the
// context's error and leaves nothing behind; the batch ahead of it is
// not disturbed.
func TestCommitCancelledWhileQueuedWithdraws(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		ops := batchOps(s)
		gate := make(chan struct{})
		flushAll := ops.flushAll
		ops.flushAll = func() error { <-gate; return flushAll() }
		useOps(s, ops)
		g := id.NewGenerator(nil)
		first := testEnvelope(g)
		firstErr := make(chan error, 1)
		go func() { firstErr <- s.Put(context.Background(), first, strings.NewReader("body "+first.ID+"\r\n")) }()
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		late := testEnvelope(g)
		w, err := s.CreateWith(ctx, late, []byte("body\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		lateErr := make(chan error, 1)
		go func() { lateErr <- w.Commit(ctx) }()
		synctest.Wait() // queued behind first
		cancel()
		synctest.Wait()
		select {
		case err := <-lateErr:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Commit = %v, want context.Canceled", err)
			}
		default:
			t.Fatal("a queued Commit did not return when its context ended")
		}
		if _, err := os.Stat(filepath.Join(s.tmp, late.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("withdrawn message's temporary file: %v", err)
		}
		close(gate)
		if err := <-firstErr; err != nil {
			t.Fatal(err)
		}
		assertStored(t, s, []string{first.ID})
	})
}

// A writer whose batch is already being flushed waits for it, whatever
// its context does, and gets the batch's result: the file is durable and
// named, so nil is the truth.
func TestCommitCancelledOnceTakenSeesTheBatchThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStore(t)
		ops := batchOps(s)
		gate := make(chan struct{})
		flushAll := ops.flushAll
		ops.flushAll = func() error { <-gate; return flushAll() }
		useOps(s, ops)
		g := id.NewGenerator(nil)
		errs := make(chan error, 2)
		a, b := testEnvelope(g), testEnvelope(g)
		go func() { errs <- s.Put(context.Background(), a, strings.NewReader("body "+a.ID+"\r\n")) }()
		synctest.Wait() // a leads, alone
		go func() { errs <- s.Put(context.Background(), b, strings.NewReader("body "+b.ID+"\r\n")) }()
		synctest.Wait() // b queued first, so b leads the next batch

		ctx, cancel := context.WithCancel(context.Background())
		c := testEnvelope(g)
		w, err := s.CreateWith(ctx, c, []byte("body "+c.ID+"\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		cErr := make(chan error, 1)
		go func() { cErr <- w.Commit(ctx) }()
		synctest.Wait()    // c queued behind b
		gate <- struct{}{} // a's flush; b now leads [b c]
		synctest.Wait()    // b waits in the second flush
		cancel()
		synctest.Wait()
		select {
		case err := <-cErr:
			t.Fatalf("Commit returned %v while its batch was being flushed", err)
		default:
		}
		close(gate)
		if err := <-cErr; err != nil {
			t.Fatalf("Commit of a flushed batch = %v, want nil", err)
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		assertStored(t, s, []string{a.ID, b.ID, c.ID})
	})
}

func TestCommitWithoutFsync(t *testing.T) {
	s, err := New(Config{Path: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if s.ops != nil || s.commits != nil {
		t.Fatal("a store without fsync has a flush")
	}
	env := testEnvelope(id.NewGenerator(nil))
	if err := s.Put(context.Background(), env, strings.NewReader("body "+env.ID+"\r\n")); err != nil {
		t.Fatal(err)
	}
	assertStored(t, s, []string{env.ID})
}

func TestCommitTwice(t *testing.T) {
	s := newStore(t)
	w, err := s.Create(context.Background(), testEnvelope(id.NewGenerator(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err == nil {
		t.Fatal("second Commit succeeded")
	}
	w.Abort() // after Commit: nothing
	if ids, _ := s.List(); len(ids) != 1 {
		t.Fatalf("stored %v after Commit and Abort", ids)
	}
}

// An ID clash must not replace a stored message.
func TestCommitDoesNotReplace(t *testing.T) {
	s := newStore(t)
	env := testEnvelope(id.NewGenerator(nil))
	if err := s.Put(context.Background(), env, strings.NewReader("body "+env.ID+"\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), env, strings.NewReader("other\r\n")); err == nil {
		t.Fatalf("a second message with ID %s was committed", env.ID)
	}
	assertStored(t, s, []string{env.ID})
}
