package relay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fakesmtp/internal/safeio"
)

// Run delivers the queue until ctx ends: it scans the folder, starts up
// to Workers deliveries of the entries that are due, and sleeps until the
// next one is due, a Kick, or the next scan. When ctx ends it waits for
// the running deliveries, which are cut short and stay queued.
func (q *Queue) Run(ctx context.Context) {
	sem := make(chan struct{}, q.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		due, wait := q.scan()
		for _, msgID := range due {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			q.mu.Lock()
			q.inflight[msgID] = true
			q.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer func() {
					q.mu.Lock()
					delete(q.inflight, msgID)
					q.mu.Unlock()
					q.Kick() // a worker is free, and this entry may be due again
				}()
				q.attempt(ctx, msgID)
			}()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-q.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// scan returns the entries due now that no worker holds, and how long to
// sleep before the next is due (at most ScanInterval, so that changes
// made by `fakesmtp queue retry` are seen).
func (q *Queue) scan() ([]string, time.Duration) {
	wait := q.cfg.ScanInterval
	ids, err := stateIDs(q.cfg.Dir)
	if err != nil {
		q.logger.Error("relay: scan", "err", err)
		return nil, wait
	}
	now := q.now()
	var due []string
	for _, msgID := range ids {
		q.mu.Lock()
		busy := q.inflight[msgID]
		q.mu.Unlock()
		if busy {
			continue
		}
		st, err := loadState(filepath.Join(q.cfg.Dir, msgID+stateExt))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				q.logger.Error("relay: unreadable queue entry", "id", msgID, "err", err)
			}
			continue
		}
		if d := st.Next.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		due = append(due, msgID)
	}
	return due, wait
}

// attempt makes one delivery attempt of an entry and records its outcome.
func (q *Queue) attempt(ctx context.Context, msgID string) {
	statePath := filepath.Join(q.cfg.Dir, msgID+stateExt)
	st, err := loadState(statePath)
	if err != nil {
		return // deleted meanwhile
	}
	data, err := os.ReadFile(filepath.Join(q.cfg.Dir, msgID+msgExt))
	if err != nil {
		// A state without its message: a move to failed/ was cut short
		// (the entry is whole there), or the message was deleted by hand.
		if _, ferr := os.Stat(filepath.Join(q.cfg.Dir, failedDir, msgID+msgExt)); ferr != nil {
			q.logger.Error("relay: queue entry without its message; dropped", "id", msgID, "err", err)
		}
		os.Remove(statePath)
		return
	}
	pending := st.Pending()
	if len(pending) == 0 {
		q.finish(st)
		return
	}
	start := q.now()
	res := q.send(ctx, transaction{from: st.From, rcpts: pending, data: data})
	if ctx.Err() != nil {
		// Shutdown cut the attempt short: it does not count, and the
		// entry is tried again at the next start. But what the smarthost
		// had already answered for good stands: a recipient whose
		// content it accepted (the stop came during QUIT, say) is not
		// sent the message a second time.
		if q.settle(st, res) {
			if len(st.Pending()) == 0 {
				st.Attempts++ // it did settle the entry: say so in its record
				q.finish(st)
				return
			}
			if err := q.update(statePath, st); err != nil {
				q.logger.Error("relay: cannot record the attempt's final replies; they will be repeated", "id", msgID, "err", err)
			}
		}
		q.logger.Info("relay: attempt interrupted by shutdown; stays queued", "id", msgID, "pending", len(st.Pending()))
		return
	}
	st.Attempts++
	now := q.now()
	q.settle(st, res)
	for i := range st.Rcpts {
		if r, ok := res[st.Rcpts[i].Addr]; ok && st.Rcpts[i].Status == StatusPending {
			st.Rcpts[i].Reply = r.String() // the latest temporary reply
		}
	}
	q.logger.Info("relay: attempt", "id", msgID, "attempt", st.Attempts, "took", now.Sub(start).Round(time.Millisecond),
		"results", strings.TrimSpace(strings.ReplaceAll(res.describe(pending), "\n", "; ")))
	if len(st.Pending()) > 0 {
		if now.Sub(st.Created) >= q.cfg.MaxAge {
			for i := range st.Rcpts {
				if st.Rcpts[i].Status == StatusPending {
					st.Rcpts[i].Status = StatusFailed
					st.Rcpts[i].Reply = fmt.Sprintf("expired after %d attempts in %s; last: %s",
						st.Attempts, now.Sub(st.Created).Round(time.Second), st.Rcpts[i].Reply)
				}
			}
		} else {
			step := q.cfg.Schedule[min(st.Attempts, len(q.cfg.Schedule))-1]
			st.Next = now.Add(step)
			if err := q.update(statePath, st); err != nil {
				q.logger.Error("relay: cannot record the attempt; it will be repeated", "id", msgID, "err", err)
			}
			return
		}
	}
	q.finish(st)
}

// settle records the final outcomes in res for st's pending recipients:
// sent for a 2xx to the content, failed for a permanent reply. It
// reports whether any recipient was settled.
func (q *Queue) settle(st *State, res result) bool {
	settled := false
	for i := range st.Rcpts {
		rc := &st.Rcpts[i]
		r, ok := res[rc.Addr]
		if !ok || rc.Status != StatusPending {
			continue
		}
		switch {
		case r.OK():
			rc.Status = StatusSent
		case !r.Temporary():
			rc.Status = StatusFailed
		default:
			continue
		}
		rc.Reply = r.String()
		settled = true
	}
	return settled
}

// update replaces the state of an entry that is still queued; an entry
// deleted meanwhile (fakesmtp queue delete) is not brought back.
func (q *Queue) update(statePath string, st *State) error {
	if _, err := os.Stat(statePath); err != nil {
		return nil
	}
	return saveState(statePath, st)
}

// finish ends an entry with no recipient pending: removed when all were
// delivered, moved to failed/ with a reason file when any failed.
func (q *Queue) finish(st *State) {
	statePath := filepath.Join(q.cfg.Dir, st.ID+stateExt)
	msgPath := filepath.Join(q.cfg.Dir, st.ID+msgExt)
	var failed []Rcpt
	for _, r := range st.Rcpts {
		if r.Status == StatusFailed {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		q.logger.Info("relay: delivered", "id", st.ID, "rcpts", len(st.Rcpts), "attempts", st.Attempts)
		// The state goes first: a crash between leaves a message without
		// a state, which recover removes, never a second delivery.
		os.Remove(statePath)
		os.Remove(msgPath)
		safeio.SyncDir(q.cfg.Dir)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "message %s from <%s> failed after %d attempts (queued %s)\n", st.ID, st.From, st.Attempts, st.Created.UTC().Format(time.RFC3339))
	for _, r := range st.Rcpts {
		fmt.Fprintf(&b, "<%s>: %s: %s\n", r.Addr, r.Status, r.Reply)
	}
	st.Reason = strings.TrimSpace(b.String())
	if err := q.moveFailed(st, b.String()); errors.Is(err, errDeleted) {
		q.logger.Info("relay: entry deleted during its delivery attempt", "id", st.ID)
		return
	} else if err != nil {
		q.logger.Error("relay: cannot move to failed/; stays queued", "id", st.ID, "err", err)
		return
	}
	q.logger.Warn("relay: failed", "id", st.ID, "failed", len(failed), "rcpts", len(st.Rcpts), "reason", strings.ReplaceAll(st.Reason, "\n", "; "))
}

// errDeleted says that an entry was deleted while it was being worked on.
var errDeleted = errors.New("relay: entry deleted meanwhile")

// moveFailed moves an entry into failed/: reason and state first, then
// the message, then the queued state goes. A crash at any point leaves
// the entry either still queued or whole in failed/; the leftovers on the
// other side are removed by recover at the next start (and a queued
// state whose message has moved, also by attempt).
func (q *Queue) moveFailed(st *State, reason string) error {
	fdir := filepath.Join(q.cfg.Dir, failedDir)
	if err := safeio.WriteFile(filepath.Join(fdir, st.ID+reasonExt), []byte(reason), 0o640); err != nil {
		return err
	}
	if err := saveState(filepath.Join(fdir, st.ID+stateExt), st); err != nil {
		return err
	}
	if err := safeio.Rename(filepath.Join(q.cfg.Dir, st.ID+msgExt), filepath.Join(fdir, st.ID+msgExt)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// `fakesmtp queue delete` (another process) took the entry
			// during the attempt: what was just written in failed/
			// would bring it back, without its message.
			os.Remove(filepath.Join(fdir, st.ID+stateExt))
			os.Remove(filepath.Join(fdir, st.ID+reasonExt))
			safeio.SyncDir(fdir)
			return errDeleted
		}
		return err
	}
	if err := safeio.SyncDir(fdir); err != nil {
		return err
	}
	os.Remove(filepath.Join(q.cfg.Dir, st.ID+stateExt))
	return safeio.SyncDir(q.cfg.Dir)
}
