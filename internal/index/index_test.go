package index

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestOpenOddPath: the path goes into a file: URI, so characters that
// mean something in a URI must not cut it short or become parameters.
func TestOpenOddPath(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "index?.db")
	ix, err := Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Put(ctx, corpus()["plain"]); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
	if _, err := Open(ctx, "", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Open with an empty path: no error")
	}
}

// TestConcurrentReadWrite runs searches while batches are written: WAL
// readers must neither fail nor block on the writer, and every page they
// see must be consistent with its own counts.
func TestConcurrentReadWrite(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	const batches, per = 8, 25
	var writer, readers sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		for b := 0; b < batches; b++ {
			var ms []Message
			for i := 0; i < per; i++ {
				at := day(1).Add(time.Duration(b*per+i) * time.Second)
				ms = append(ms, Message{ID: idAt(at), ReceivedAt: at, Subject: fmt.Sprintf("batch %d", b),
					From: []string{"w@example.org"}, Text: "concurrent words"})
			}
			if err := ix.PutMany(ctx, ms); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	done := make(chan struct{})
	for r := 0; r < 3; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			q, _ := ParseQuery("concurrent from:w -is:read")
			for {
				select {
				case <-done:
					return
				default:
				}
				p, err := ix.List(ctx, ListOptions{Query: q, Limit: 10})
				if err != nil {
					t.Error(err)
					return
				}
				if p.Total%per != 0 || p.Unread != p.Total || len(p.Messages) > 10 {
					t.Errorf("inconsistent page: total %d unread %d, %d messages", p.Total, p.Unread, len(p.Messages))
					return
				}
			}
		}()
	}
	writer.Wait()
	close(done)
	readers.Wait()
	if p, _ := ix.List(ctx, ListOptions{Limit: -1}); p.Total != batches*per {
		t.Errorf("total after the writes = %d, want %d", p.Total, batches*per)
	}
}
