package store

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fakesmtp/internal/id"
)

// These tests cover what happens when compaction, deletes, pruning and
// readers meet: compaction rewrites a message file under a new name
// while the others look for it.

// settle ages a message's plain file past Compaction.MinAge.
func settle(t *testing.T, s *Store, msgID string, age time.Duration) {
	t.Helper()
	at := time.Now().Add(-age)
	if err := os.Chtimes(filepath.Join(s.Path(), msgID+Ext), at, at); err != nil {
		t.Fatal(err)
	}
}

// A message deleted while compaction writes its new form stays deleted.
func TestDeleteDuringCompaction(t *testing.T) {
	for _, c := range []Compaction{{Compress: true}, {Dedup: true}} {
		s := compactStore(t)
		gen := id.NewGenerator(nil)
		msgID, _ := putMessage(t, s, gen, "Subject: x\r\n\r\ndelete me\r\n")
		settle(t, s, msgID, time.Hour)
		s.compactRead = func(i string) {
			if err := s.Remove(i); err != nil {
				t.Error(err)
			}
		}
		if _, err := s.Compact(c, time.Now(), nil, nil); err != nil {
			t.Fatal(err)
		}
		if p, err := s.Locate(msgID); err == nil {
			t.Errorf("%+v: the message deleted during compaction is back as %s", c, filepath.Base(p))
		}
	}
}

// ReadID finds a message in every form, and only a missing one is
// ErrNotExist.
func TestReadID(t *testing.T) {
	s := compactStore(t)
	gen := id.NewGenerator(nil)
	plain, want := putMessage(t, s, gen, "Subject: p\r\n\r\nplain\r\n")
	zst, wantZst := putMessage(t, s, gen, "Subject: z\r\n\r\nzstd\r\n")
	ref, wantRef := putMessage(t, s, gen, "Subject: r\r\n\r\nref\r\n")
	settle(t, s, zst, time.Hour)
	if _, err := s.Compact(Compaction{Compress: true, MinAge: time.Minute}, time.Now(), nil, nil); err != nil {
		t.Fatal(err)
	}
	settle(t, s, ref, time.Hour)
	if _, err := s.Compact(Compaction{Dedup: true, MinAge: time.Minute}, time.Now(), nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want []byte
		ext  string
	}{{plain, want, Ext}, {zst, wantZst, ExtZstd}, {ref, wantRef, ExtRef}} {
		data, p, err := ReadID(s.Path(), tc.id)
		if err != nil || string(data) != string(tc.want) || filepath.Ext(p) != filepath.Ext(tc.id+tc.ext) {
			t.Errorf("ReadID(%s) = %q, %s, %v; want the %s form", tc.id, data, p, err, tc.ext)
		}
	}
	if _, _, err := ReadID(s.Path(), gen.New()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadID of a missing message: %v", err)
	}
}

// A compacted message keeps its age: max_store_age goes by file time.
func TestCompactionKeepsAge(t *testing.T) {
	for _, c := range []Compaction{{Compress: true, MinAge: time.Minute}, {Dedup: true, MinAge: time.Minute}} {
		s := compactStore(t)
		gen := id.NewGenerator(nil)
		msgID, _ := putMessage(t, s, gen, "Subject: old\r\n\r\nold junk\r\n")
		settle(t, s, msgID, 40*24*time.Hour)
		if r, err := s.Compact(c, time.Now(), nil, nil); err != nil || r.Files != 1 {
			t.Fatalf("Compact = %+v, %v", r, err)
		}
		res, err := s.Prune(Retention{MaxAge: 30 * 24 * time.Hour}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Removed != 1 {
			t.Errorf("%+v: a 40-day-old message survives max_store_age 30d after compaction: %+v", c, res)
		}
	}
}

// With dedup, max_store_size counts each stored body once, and pruning
// the last message that names a body frees its bytes.
func TestPruneCountsDedupBodies(t *testing.T) {
	s := compactStore(t)
	gen := id.NewGenerator(nil)
	body := make([]byte, 100<<10)
	rand.Read(body)
	// Two messages share one body; eight have bodies of their own.
	shared := "Subject: x\r\n\r\n" + string(body)
	var ids []string
	for i := range 10 {
		raw := shared
		if i >= 2 {
			rand.Read(body)
			raw = "Subject: x\r\n\r\n" + string(body)
		}
		msgID, _ := putMessage(t, s, gen, raw)
		settle(t, s, msgID, time.Hour)
		ids = append(ids, msgID)
	}
	if r, err := s.Compact(Compaction{Dedup: true, MinAge: time.Minute}, time.Now(), nil, nil); err != nil || r.Shared != 1 {
		t.Fatalf("Compact = %+v, %v", r, err)
	}
	// Nothing over: the count covers the 9 bodies once each.
	res, err := s.Prune(Retention{MaxSize: 1 << 30}, time.Now())
	if err != nil || res.Removed != 0 {
		t.Fatal(res, err)
	}
	if min := int64(9 * 100 << 10); res.LeftBytes < min || res.LeftBytes > min+9*4096 {
		t.Errorf("LeftBytes = %d with 9 bodies of 100 KiB stored", res.LeftBytes)
	}
	// A bound of 850 KiB: removing the first message (its body still
	// named by the second) frees little; the second frees its body too.
	res, err = s.Prune(Retention{MaxSize: 850 << 10}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed != 2 || res.RemovedIDs[0] != ids[0] || res.RemovedIDs[1] != ids[1] || res.LeftBytes > 850<<10 {
		t.Errorf("Prune to 850 KiB = %+v", res)
	}
}

// A program that only reads the store (fakesmtp export) leaves the
// server's messages in progress alone.
func TestOpenLeavesMessagesInProgress(t *testing.T) {
	s := compactStore(t)
	g := id.NewGenerator(nil)
	w, err := s.Create(t.Context(), testEnvelope(g))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.Write([]byte("Subject: x\r\n\r\nhi\r\n"))
	r, err := Open(s.Path(), s.logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.List(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Errorf("the server's commit failed after another program opened the store: %v", err)
	}
	if _, err := Open(filepath.Join(s.Path(), "nothing"), s.logger); err == nil {
		t.Error("Open of a missing folder succeeded")
	}
}
