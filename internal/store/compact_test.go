package store

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"fakesmtp/internal/id"
)

func compactStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Config{Path: t.TempDir(), Fsync: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// putMessage stores body and returns its ID and the plain file's bytes.
func putMessage(t *testing.T, s *Store, gen *id.Generator, body string) (string, []byte) {
	t.Helper()
	env := &Envelope{ID: gen.New(), Session: gen.New(), ClientIP: netip.MustParseAddr("192.0.2.1"), ClientPort: 2500,
		Helo: "bot", MailFrom: "a@example.org", RcptTo: []string{"trap@example.net"}, ReceivedAt: time.Now(), Hostname: "mx", Protocol: "SMTP"}
	if err := s.Put(context.Background(), env, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(s.Path(), env.ID+Ext))
	if err != nil {
		t.Fatal(err)
	}
	return env.ID, data
}

func TestCompactRoundTrip(t *testing.T) {
	for _, c := range []Compaction{{Compress: true}, {Dedup: true}, {Compress: true, Dedup: true}} {
		t.Run(strings.TrimSpace(map[bool]string{true: "zstd "}[c.Compress]+map[bool]string{true: "dedup"}[c.Dedup]), func(t *testing.T) {
			s := compactStore(t)
			gen := id.NewGenerator(nil)
			spam := "Subject: buy now\r\n\r\n" + strings.Repeat("cheap pills, binary \x00\xff bytes\r\n", 200)
			plain := map[string][]byte{}
			for _, body := range []string{spam, spam, spam, "Subject: other\r\n\r\nunique\r\n"} {
				msgID, data := putMessage(t, s, gen, body)
				plain[msgID] = data
			}
			young, youngData := putMessage(t, s, gen, spam)
			// Only files older than MinAge: the young one stays plain.
			old := time.Now().Add(-time.Hour)
			for msgID := range plain {
				os.Chtimes(filepath.Join(s.Path(), msgID+Ext), old, old)
			}
			res, err := s.Compact(Compaction{Compress: c.Compress, Dedup: c.Dedup, MinAge: time.Minute}, time.Now(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Files != 4 {
				t.Errorf("compacted %d files, want 4", res.Files)
			}
			if c.Dedup && res.Shared != 2 {
				t.Errorf("shared bodies %d, want 2", res.Shared)
			}
			if res.BytesAfter >= res.BytesBefore/2 {
				t.Errorf("no saving: %d → %d bytes", res.BytesBefore, res.BytesAfter)
			}
			plain[young] = youngData
			ids, _ := s.List()
			if len(ids) != 5 {
				t.Fatalf("List after compaction: %d IDs, want 5", len(ids))
			}
			for msgID, want := range plain {
				p, err := s.Locate(msgID)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ReadMessage(p)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s (%s): read back differs (%v)", msgID, filepath.Base(p), err)
				}
				env, _, err := ReadFile(p)
				if err != nil || env.ID != msgID {
					t.Errorf("%s: ReadFile: %v", msgID, err)
				}
			}
			if _, err := os.Stat(filepath.Join(s.Path(), young+Ext)); err != nil {
				t.Error("a young file was compacted")
			}
		})
	}
}

// Bodies nothing refers to any more are collected; shared ones stay
// while one message still names them.
func TestCollectBodies(t *testing.T) {
	s := compactStore(t)
	gen := id.NewGenerator(nil)
	a, aData := putMessage(t, s, gen, "Subject: same\r\n\r\nbody\r\n")
	b, _ := putMessage(t, s, gen, "Subject: same\r\n\r\nbody\r\n")
	old := time.Now().Add(-time.Hour)
	for _, msgID := range []string{a, b} {
		os.Chtimes(filepath.Join(s.Path(), msgID+Ext), old, old)
	}
	if _, err := s.Compact(Compaction{Dedup: true}, time.Now(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(b); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.collectBodies(time.Now().Add(time.Hour), time.Minute); n != 0 {
		t.Errorf("collected %d bodies still in use", n)
	}
	p, _ := s.Locate(a)
	if got, err := ReadMessage(p); err != nil || !bytes.Equal(got, aData) {
		t.Fatalf("survivor unreadable: %v", err)
	}
	s.Remove(a)
	if n, _ := s.collectBodies(time.Now().Add(time.Hour), time.Minute); n != 1 {
		t.Errorf("collected %d bodies, want 1", n)
	}
}

// A pass cut short after the compact form was written leaves both
// forms; the next pass removes the plain copy.
func TestCompactResumes(t *testing.T) {
	s := compactStore(t)
	gen := id.NewGenerator(nil)
	msgID, data := putMessage(t, s, gen, "Subject: x\r\n\r\ny\r\n")
	if err := s.place(filepath.Join(s.Path(), msgID+ExtZstd), mustZstd(t, data), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compact(Compaction{Compress: true}, time.Now(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Path(), msgID+Ext)); err == nil {
		t.Error("plain copy left beside the compact form")
	}
	p, _ := s.Locate(msgID)
	if got, _ := ReadMessage(p); !bytes.Equal(got, data) {
		t.Error("compact form differs")
	}
}

func mustZstd(t *testing.T, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}
