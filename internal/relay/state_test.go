package relay

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// failedEntry spools a message and moves it to failed/ as a 5xx would,
// and returns its ID and the content of its message.
func failedEntry(t *testing.T, q *Queue) (string, []byte) {
	t.Helper()
	env := envelope("a@example.org", "x@example.net", "y@example.net")
	if err := q.Spool(env, received, body); err != nil {
		t.Fatal(err)
	}
	st, err := loadState(filepath.Join(q.cfg.Dir, env.ID+stateExt))
	if err != nil {
		t.Fatal(err)
	}
	st.Attempts = 1
	st.Rcpts[0].Status, st.Rcpts[0].Reply = StatusSent, "250 2.0.0 ok"
	st.Rcpts[1].Status, st.Rcpts[1].Reply = StatusFailed, "550 5.1.1 no such user"
	if err := q.moveFailed(st, "x failed\n"); err != nil {
		t.Fatal(err)
	}
	return env.ID, append([]byte(received), body...)
}

// entryFiles lists the files of an entry, as "queue/.json" or
// "failed/.eml", and any other file left in either folder.
func entryFiles(t *testing.T, dir, msgID string) []string {
	t.Helper()
	var out []string
	for _, d := range []string{"queue", "failed"} {
		path := dir
		if d == "failed" {
			path = filepath.Join(dir, failedDir)
		}
		es, err := os.ReadDir(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.IsDir() {
				continue
			}
			name := e.Name()
			if len(name) > len(msgID) && name[:len(msgID)] == msgID {
				name = name[len(msgID):]
			}
			out = append(out, d+"/"+name)
		}
	}
	slices.Sort(out)
	return out
}

var (
	wholeQueued = []string{"queue/.eml", "queue/.json"}
	wholeFailed = []string{"failed/.eml", "failed/.json", "failed/.reason"}
)

// checkWhole fails unless the entry is whole in exactly one place, with
// its message unchanged.
func checkWhole(t *testing.T, dir, msgID string, want []string, content []byte) {
	t.Helper()
	if got := entryFiles(t, dir, msgID); !slices.Equal(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
	d := dir
	if want[0] == "failed/.eml" {
		d = filepath.Join(dir, failedDir)
	}
	if got, err := os.ReadFile(filepath.Join(d, msgID+msgExt)); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("message changed or unreadable: %v", err)
	}
	if _, err := loadState(filepath.Join(d, msgID+stateExt)); err != nil {
		t.Fatal(err)
	}
}

// TestRetryInterruptedKeepsMessage: `fakesmtp queue retry` of a failed
// entry moves the message into the queue before it writes the queued
// state. A crash between the two leaves a queued message without a state,
// like an interrupted spool; the next start must not delete it but put it
// back in failed/, from where a retry works again.
func TestRetryInterruptedKeepsMessage(t *testing.T) {
	dir := t.TempDir()
	q, _ := newQueue(t, dir, "127.0.0.1:1", nil)
	msgID, content := failedEntry(t, q)
	fdir := filepath.Join(dir, failedDir)
	// Retry's first step, then the crash.
	if err := os.Rename(filepath.Join(fdir, msgID+msgExt), filepath.Join(dir, msgID+msgExt)); err != nil {
		t.Fatal(err)
	}
	newQueue(t, dir, "127.0.0.1:1", nil) // the restart
	checkWhole(t, dir, msgID, wholeFailed, content)
	if _, err := Retry(dir, []string{msgID}, time.Now()); err != nil {
		t.Fatalf("retry after the restart: %v", err)
	}
	checkWhole(t, dir, msgID, wholeQueued, content)
	st, _ := loadState(filepath.Join(dir, msgID+stateExt))
	if st.Rcpts[0].Status != StatusSent || st.Rcpts[1].Status != StatusPending {
		t.Errorf("after the retry: %+v", st.Rcpts)
	}
}

// TestRetryStateWriteFailsUndoesMove: when Retry cannot write the queued
// state, it moves the message back: the entry stays whole in failed/
// rather than leave a queued message without a state.
func TestRetryStateWriteFailsUndoesMove(t *testing.T) {
	dir := t.TempDir()
	q, _ := newQueue(t, dir, "127.0.0.1:1", nil)
	msgID, content := failedEntry(t, q)
	// A folder where the queued state goes makes its write fail.
	block := filepath.Join(dir, msgID+stateExt)
	if err := os.MkdirAll(filepath.Join(block, "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	done, err := Retry(dir, []string{msgID}, time.Now())
	if err == nil || len(done) != 0 {
		t.Fatalf("Retry = %v, %v; want an error", done, err)
	}
	t.Log(err)
	checkWhole(t, dir, msgID, wholeFailed, content)
	if err := os.RemoveAll(block); err != nil {
		t.Fatal(err)
	}
	if _, err := Retry(dir, []string{msgID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	checkWhole(t, dir, msgID, wholeQueued, content)
}

// TestRecoverInterruptedMoves: a crash at any step of a move to failed/
// (moveFailed) or back (Retry) leaves the entry, after the next start,
// whole in exactly one place: never lost, never listed twice.
func TestRecoverInterruptedMoves(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string // what the crash left
		want  []string
	}{
		{"Queued", wholeQueued, wholeQueued},
		{"Failed", wholeFailed, wholeFailed},
		{"MoveFailedAfterReason", []string{"queue/.eml", "queue/.json", "failed/.reason"}, wholeQueued},
		// The failed state has the last attempt's results: the move is
		// finished, so no recipient that attempt delivered gets it again.
		{"MoveFailedAfterFailedState", []string{"queue/.eml", "queue/.json", "failed/.json", "failed/.reason"}, wholeFailed},
		{"MoveFailedAfterMessage", []string{"failed/.eml", "failed/.json", "failed/.reason", "queue/.json"}, wholeFailed},
		{"MoveFailedWritingState", []string{"queue/.eml", "queue/.json", "failed/.reason", "failed/tmp"}, wholeQueued},
		{"RetryAfterMessage", []string{"queue/.eml", "failed/.json", "failed/.reason"}, wholeFailed},
		{"RetryAfterQueuedState", []string{"queue/.eml", "queue/.json", "failed/.json", "failed/.reason"}, wholeQueued},
		{"RetryAfterFailedState", []string{"queue/.eml", "queue/.json", "failed/.reason"}, wholeQueued},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q, _ := newQueue(t, dir, "127.0.0.1:1", nil)
			msgID, content := failedEntry(t, q)
			// Every file of both places, from which the case keeps its own.
			fdir := filepath.Join(dir, failedDir)
			st, _ := loadState(filepath.Join(fdir, msgID+stateExt))
			st.Reason = ""
			if strings.HasPrefix(tc.name, "Retry") {
				st.Created = st.Created.Add(time.Hour) // Retry gives the entry a new Created
			}
			if err := os.WriteFile(filepath.Join(dir, msgID+msgExt), content, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := saveState(filepath.Join(dir, msgID+stateExt), st); err != nil {
				t.Fatal(err)
			}
			paths := map[string]string{
				"queue/.eml": filepath.Join(dir, msgID+msgExt), "queue/.json": filepath.Join(dir, msgID+stateExt),
				"failed/.eml": filepath.Join(fdir, msgID+msgExt), "failed/.json": filepath.Join(fdir, msgID+stateExt),
				"failed/.reason": filepath.Join(fdir, msgID+reasonExt),
			}
			for name, p := range paths {
				if !slices.Contains(tc.files, name) {
					os.Remove(p)
				}
			}
			if slices.Contains(tc.files, "failed/tmp") {
				// What safeio.WriteFile leaves when a crash cuts it short.
				os.WriteFile(filepath.Join(fdir, "."+msgID+stateExt+".tmp-123"), []byte("{"), 0o640)
			}
			newQueue(t, dir, "127.0.0.1:1", nil) // the restart
			checkWhole(t, dir, msgID, tc.want, content)
			if es := queued(t, dir); len(es) != 1 || es[0].ID != msgID || es[0].Failed != (tc.want[0] == "failed/.eml") {
				t.Errorf("listed: %+v", es)
			}
		})
	}
}
