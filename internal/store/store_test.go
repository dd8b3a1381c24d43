package store

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/id"
)

func testEnvelope(g *id.Generator) *Envelope {
	return &Envelope{
		ID:         g.New(),
		Session:    g.New(),
		ClientIP:   netip.MustParseAddr("192.0.2.7"),
		ClientPort: 40123,
		Helo:       "client.example",
		MailFrom:   "a@example.org",
		RcptTo:     []string{"b@example.net", "c@example.net"},
		ReceivedAt: time.Date(2026, 11, 28, 20, 0, 0, 123, time.UTC),
		Hostname:   "mx.example.test",
		Protocol:   "ESMTP",
	}
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Config{Path: t.TempDir(), Fsync: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTripByteExact(t *testing.T) {
	s := newStore(t)
	g := id.NewGenerator(nil)
	bodies := map[string][]byte{
		"binary": func() []byte {
			b := make([]byte, 256*4)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
		"utf8":      []byte("Subject: caf\xc3\xa9\r\n\r\n\xe2\x82\xac 100\r\n"),
		"bare":      []byte("a\nb\rc\r\n"),
		"empty":     {},
		"dots":      []byte(".\r\n..\r\n.x\r\n"),
		"leadspace": []byte(" folded first line\r\n\r\nbody\r\n"),
		"line1000":  []byte(strings.Repeat("y", 998) + "\r\n"),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			env := testEnvelope(g)
			if err := s.Put(context.Background(), env, bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			p, _ := s.FilePath(env.ID)
			got, gotBody, err := ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotBody, body) {
				t.Fatalf("body = %q, want %q", gotBody, body)
			}
			if got.ID != env.ID || got.Session != env.Session || got.ClientIP != env.ClientIP ||
				got.ClientPort != env.ClientPort || got.Helo != env.Helo || got.MailFrom != env.MailFrom ||
				strings.Join(got.RcptTo, ",") != strings.Join(env.RcptTo, ",") || !got.ReceivedAt.Equal(env.ReceivedAt) {
				t.Fatalf("envelope = %+v, want %+v", got, env)
			}
		})
	}
}

func TestHeaderFormat(t *testing.T) {
	g := id.NewGenerator(nil)
	env := testEnvelope(g)
	env.RcptTo = env.RcptTo[:1]
	var b bytes.Buffer
	if err := env.WriteHeaders(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n")
	wantPrefixes := []string{"X-FakeSMTP-ID: ", "X-FakeSMTP-Session: ", "X-FakeSMTP-Client-IP: 192.0.2.7", "X-FakeSMTP-Client-Port: 40123",
		"X-FakeSMTP-Helo: client.example", "X-FakeSMTP-Mail-From: <a@example.org>", "X-FakeSMTP-Rcpt-To: <b@example.net>",
		"X-FakeSMTP-Received-At: 2026-11-28T20:00:00.000000123Z",
		"Received: from client.example ([192.0.2.7]:40123) by mx.example.test (fakesmtp) with ESMTP id " + env.ID + " for <b@example.net>; Sat, 28 Nov 2026 20:00:00 +0000"}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("got %d lines:\n%s", len(lines), b.String())
	}
	for i, w := range wantPrefixes {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestSanitizeInjection(t *testing.T) {
	g := id.NewGenerator(nil)
	env := testEnvelope(g)
	env.Helo = "evil\r\nX-Injected: yes"
	env.MailFrom = "a\x00@b"
	env.RcptTo = []string{strings.Repeat("r", 5000)}
	var b bytes.Buffer
	env.WriteHeaders(&b)
	out := b.String()
	if strings.Contains(out, "\r\nX-Injected") || strings.Contains(out, "\x00") {
		t.Fatalf("injection survived: %q", out)
	}
	for _, l := range strings.Split(out, "\r\n") {
		if len(l) > 998 {
			t.Fatalf("header line of %d bytes", len(l))
		}
	}
	got, _, err := Read(append(b.Bytes(), "body"...))
	if err != nil || got.Helo != env.Helo || got.MailFrom != env.MailFrom {
		t.Fatalf("read back %+v %v", got, err)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	s := newStore(t)
	env := testEnvelope(id.NewGenerator(nil))
	w, err := s.Create(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	w.Abort()
	assertEmpty(t, s)
}

func TestCommitFailureLeavesNothing(t *testing.T) {
	s := newStore(t)
	env := testEnvelope(id.NewGenerator(nil))
	w, err := s.Create(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	// Make the rename fail: a folder sits where the file should go.
	p, _ := s.FilePath(env.ID)
	os.Mkdir(p, 0o755)
	os.WriteFile(filepath.Join(p, "block"), nil, 0o644)
	if err := w.Commit(context.Background()); err == nil {
		t.Fatal("commit succeeded over a folder")
	}
	ents, _ := os.ReadDir(filepath.Join(s.Path(), tmpDir))
	if len(ents) != 0 {
		t.Fatalf("temporary file left: %v", ents)
	}
}

func assertEmpty(t *testing.T, s *Store) {
	t.Helper()
	ids, _ := s.List()
	ents, _ := os.ReadDir(filepath.Join(s.Path(), tmpDir))
	if len(ids) != 0 || len(ents) != 0 {
		t.Fatalf("store not empty: %v %v", ids, ents)
	}
}

func TestStaleTempRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, tmpDir), 0o755)
	os.WriteFile(filepath.Join(dir, tmpDir, "X-123"), []byte("half"), 0o644)
	if _, err := New(Config{Path: dir}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, tmpDir))
	if len(ents) != 0 {
		t.Fatalf("stale temp not removed: %v", ents)
	}
}

func TestNotWritable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := New(Config{Path: filepath.Join(f, "sub")}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("New on a path under a file succeeded")
	}
}

func TestConcurrentCommitsGroupSync(t *testing.T) {
	s := newStore(t)
	g := id.NewGenerator(nil)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(context.Background(), testEnvelope(g), strings.NewReader("m\r\n")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ids, _ := s.List()
	if len(ids) != 40 {
		t.Fatalf("%d files, want 40", len(ids))
	}
	for _, msgID := range ids {
		p, _ := s.FilePath(msgID)
		_, body, err := ReadFile(p)
		if err != nil || string(body) != "m\r\n" {
			t.Fatalf("%s: %q %v", msgID, body, err)
		}
	}
}

func TestReadRejectsForeignFile(t *testing.T) {
	if _, _, err := Read([]byte("From: a\r\n\r\nhi")); err == nil {
		t.Fatal("foreign file parsed")
	}
	var _ io.Writer = (*Writer)(nil)
}
