package hooks

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/id"
)

// TestEmptyMarker: a pending hook is known by its marker's name, the
// message ID. A marker left empty, cut short or garbled (a crash while it
// was written) used to be queued as the path "", which failed and then
// removed ".hooks/." rather than the marker: the hook never ran, and the
// marker stayed for good, keeping its message from being compacted.
func TestEmptyMarker(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"empty", ""},
		{"cut short", "/var/lib/fakes"},
		{"garbled", "\x00\x00\x00\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, env := storeOne(t)
			dir := filepath.Join(filepath.Dir(path), ".hooks") // <store_path>/.hooks, as fakesmtp sets it
			out := filepath.Join(t.TempDir(), "out")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(dir, env.ID)
			if err := os.WriteFile(marker, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := New(Config{Exec: `echo "$FAKESMTP_ID $FAKESMTP_PATH" > ` + out, Dir: dir}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			r.Start()
			r.Close(context.Background()) // runs what Start queued
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("the hook of %s never ran: %v", env.ID, err)
			}
			if want := env.ID + " " + path; strings.TrimSpace(string(got)) != want {
				t.Errorf("hook ran with %q, want %q", got, want)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("marker left after the hook ran: %v", err)
			}
		})
	}
}

// TestMarkerOfRemovedMessage: a marker whose message is gone (pruned or
// deleted while fakesmtp was down) is removed, with a log line, instead
// of being tried at every start.
func TestMarkerOfRemovedMessage(t *testing.T) {
	path, env := storeOne(t)
	dir := filepath.Join(filepath.Dir(path), ".hooks")
	out := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, env.ID)
	if err := os.WriteFile(marker, []byte(path), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r, err := New(Config{Exec: `echo ran > ` + out, Dir: dir}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	r.Close(context.Background())
	if _, err := os.Stat(out); err == nil {
		t.Error("the hook ran for a message that is gone")
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("marker of a removed message left: %v", err)
	}
	if !strings.Contains(logs.String(), "id="+env.ID) {
		t.Errorf("no log line about %s:\n%s", env.ID, logs.String())
	}
}

// TestPendingFlushesFolder: Pending returns only after a flush of the
// marker folder that began once its marker was there (so the marker's
// name survives a power loss after the 250), and sessions that record
// markers at the same time share flushes.
func TestPendingFlushesFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hooks")
	r, err := New(Config{Exec: "true", Dir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	type flush struct {
		saw  map[string]bool // the markers there when it began
		done bool
	}
	var (
		mu      sync.Mutex
		flushes []*flush
		first   = make(chan struct{})
		release = make(chan struct{})
	)
	sync0 := r.dir.flush
	r.dir.flush = func() error {
		f := &flush{saw: map[string]bool{}}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			f.saw[e.Name()] = true
		}
		mu.Lock()
		flushes = append(flushes, f)
		n := len(flushes)
		mu.Unlock()
		if n == 1 { // hold the first flush while the others queue
			close(first)
			<-release
		}
		err := sync0()
		mu.Lock()
		f.done = true
		mu.Unlock()
		return err
	}
	// covered reports whether a flush that saw msgID's marker has ended.
	covered := func(msgID string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range flushes {
			if f.saw[msgID] && f.done {
				return true
			}
		}
		return false
	}
	const sessions = 20
	g := id.NewGenerator(nil)
	ids := make([]string, sessions)
	for i := range ids {
		ids[i] = g.New()
	}
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	pending := func(msgID string) {
		defer wg.Done()
		if err := r.Pending(msgID, filepath.Join("store", msgID+".eml")); err != nil {
			errs <- err
			return
		}
		if !covered(msgID) {
			errs <- fmt.Errorf("Pending(%s) returned before a flush of its marker", msgID)
		}
	}
	wg.Add(sessions)
	go pending(ids[0])
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("Pending never flushed the folder")
	}
	for _, msgID := range ids[1:] {
		go pending(msgID)
	}
	// Release the first flush once every marker is written.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, _ := os.ReadDir(dir)
		if len(ents) == sessions {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d markers written", len(ents), sessions)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(flushes); n >= sessions {
		t.Errorf("%d sessions, %d folder flushes: none shared", sessions, n)
	} else {
		t.Logf("%d sessions, %d folder flushes", sessions, n)
	}
}
