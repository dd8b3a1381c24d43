package relay

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/safeio"
)

// Recipient states.
const (
	StatusPending = "pending" // not delivered yet; tried again later
	StatusSent    = "sent"    // the smarthost took it (2xx after the data)
	StatusFailed  = "failed"  // refused for good (5xx) or expired
)

// Rcpt is one recipient of a queued message and where it stands.
type Rcpt struct {
	Addr   string `json:"addr"`
	Status string `json:"status"`
	// Reply is the smarthost's last answer for this recipient, or the
	// local reason (connection refused, expired, ...).
	Reply string `json:"reply,omitempty"`
}

// State is the mutable half of a queue entry, <ID>.json beside the
// immutable <ID>.eml. It is replaced atomically after every attempt.
type State struct {
	ID string `json:"id"`
	// From is the sender used upstream (after relay_sender); ClientFrom
	// the one the client gave.
	From       string    `json:"from"`
	ClientFrom string    `json:"client_from"`
	Created    time.Time `json:"created"`
	Attempts   int       `json:"attempts"`
	Next       time.Time `json:"next"`
	Rcpts      []Rcpt    `json:"rcpts"`
	// Reason says why the message is in failed/.
	Reason string `json:"reason,omitempty"`
}

// Pending returns the addresses still to deliver.
func (s *State) Pending() []string {
	var out []string
	for _, r := range s.Rcpts {
		if r.Status == StatusPending {
			out = append(out, r.Addr)
		}
	}
	return out
}

func saveState(path string, st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return safeio.WriteFile(path, append(data, '\n'), 0o640)
}

func loadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	st := &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Entry is a queue entry as the queue command shows it.
type Entry struct {
	State
	Failed bool  // in failed/
	Size   int64 // bytes of the content sent upstream
}

// List returns the entries of the queue folder dir, queued first then
// failed, each oldest first.
func List(dir string) ([]Entry, error) {
	var out []Entry
	for _, failed := range []bool{false, true} {
		d := dir
		if failed {
			d = filepath.Join(dir, failedDir)
		}
		ids, err := stateIDs(d)
		if err != nil {
			return nil, err
		}
		for _, msgID := range ids {
			st, err := loadState(filepath.Join(d, msgID+stateExt))
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue // delivered meanwhile
				}
				return nil, err
			}
			e := Entry{State: *st, Failed: failed}
			if fi, err := os.Stat(filepath.Join(d, msgID+msgExt)); err == nil {
				e.Size = fi.Size()
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// stateIDs lists the IDs that have a state file in d, sorted (IDs sort by
// time).
func stateIDs(d string) ([]string, error) {
	entries, err := os.ReadDir(d)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("relay: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if msgID, ok := strings.CutSuffix(e.Name(), stateExt); ok && id.Valid(msgID) {
			ids = append(ids, msgID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Retry makes the entries due now: a queued one is tried at the next scan
// of a running fakesmtp; a failed one goes back to the queue with its
// failed recipients pending again and a fresh age. It returns the IDs it
// changed; an ID in neither place is an error.
func Retry(dir string, ids []string, now time.Time) ([]string, error) {
	var done []string
	var errs []error
	for _, msgID := range ids {
		if !id.Valid(msgID) {
			errs = append(errs, fmt.Errorf("%q is not a message ID", msgID))
			continue
		}
		queued := filepath.Join(dir, msgID+stateExt)
		if st, err := loadState(queued); err == nil {
			st.Next = now
			if err := saveState(queued, st); err != nil {
				errs = append(errs, err)
				continue
			}
			done = append(done, msgID)
			continue
		}
		fdir := filepath.Join(dir, failedDir)
		st, err := loadState(filepath.Join(fdir, msgID+stateExt))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: not in the queue", msgID))
			continue
		}
		for i := range st.Rcpts {
			if st.Rcpts[i].Status == StatusFailed {
				st.Rcpts[i].Status = StatusPending
			}
		}
		st.Reason, st.Attempts, st.Created, st.Next = "", 0, now, now
		if err := retryFailed(dir, msgID, st); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", msgID, err))
			continue
		}
		done = append(done, msgID)
	}
	return done, errors.Join(errs...)
}

// retryFailed moves a failed entry back into the queue with its new
// state st. The message goes first, then the queued state, which makes
// the entry queued (a running queue only sees entries by their state, so
// it never finds one without its message), and only then the failed
// state and reason go. A crash at any point leaves the entry whole in
// failed/ or in the queue, with at most leftovers that recover sorts
// out at the next start: in particular a queued message without a
// queued state is put back in failed/ while failed/ has its state, not
// removed as an interrupted spool.
func retryFailed(dir, msgID string, st *State) error {
	fdir := filepath.Join(dir, failedDir)
	failedMsg, queuedMsg := filepath.Join(fdir, msgID+msgExt), filepath.Join(dir, msgID+msgExt)
	queued := filepath.Join(dir, msgID+stateExt)
	if err := safeio.Rename(failedMsg, queuedMsg); err != nil {
		return err
	}
	// saveState flushes the queue folder: both the message and its state
	// are durable there before failed/ loses anything.
	if err := saveState(queued, st); err != nil {
		// Undo, so that the entry stays whole in failed/. The queued
		// state goes first, as saveState may have put it in place before
		// it failed: without it a running queue does not take the message
		// that is moving away.
		os.Remove(queued)
		if uerr := safeio.Rename(queuedMsg, failedMsg); uerr != nil {
			return fmt.Errorf("%w; moving the message back to failed/: %v (the next start does it)", err, uerr)
		}
		safeio.SyncDir(fdir)
		safeio.SyncDir(dir)
		return err
	}
	// The entry is queued now; what failed to go here recover removes.
	os.Remove(filepath.Join(fdir, msgID+stateExt))
	os.Remove(filepath.Join(fdir, msgID+reasonExt))
	safeio.SyncDir(fdir)
	return nil
}

// Delete removes entries, queued or failed. A delivery running at that
// moment in a live fakesmtp may still complete.
func Delete(dir string, ids []string) ([]string, error) {
	var done []string
	var errs []error
	for _, msgID := range ids {
		if !id.Valid(msgID) {
			errs = append(errs, fmt.Errorf("%q is not a message ID", msgID))
			continue
		}
		found := false
		for _, d := range []string{dir, filepath.Join(dir, failedDir)} {
			// The state goes first: without it the entry is gone for the
			// queue even if removing the message fails.
			if err := os.Remove(filepath.Join(d, msgID+stateExt)); err == nil {
				found = true
			}
			os.Remove(filepath.Join(d, msgID+msgExt))
			os.Remove(filepath.Join(d, msgID+reasonExt))
			safeio.SyncDir(d)
		}
		if !found {
			errs = append(errs, fmt.Errorf("%s: not in the queue", msgID))
			continue
		}
		done = append(done, msgID)
	}
	return done, errors.Join(errs...)
}
