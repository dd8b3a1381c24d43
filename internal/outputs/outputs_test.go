package outputs

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/store"
)

func stored(t *testing.T, from string, rcpts []string, body string) (string, *store.Envelope) {
	t.Helper()
	st, err := store.New(store.Config{Path: t.TempDir(), Fsync: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g := id.NewGenerator(nil)
	env := &store.Envelope{ID: g.New(), Session: g.New(), ClientIP: netip.MustParseAddr("192.0.2.1"), ClientPort: 1,
		Helo: "c.example", MailFrom: from, RcptTo: rcpts, ReceivedAt: time.Now(), Hostname: "mx.example", Protocol: "ESMTP"}
	if err := st.Put(context.Background(), env, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	p, _ := st.FilePath(env.ID)
	return p, env
}

func TestPickup(t *testing.T) {
	body := "Subject: x\r\n\r\nbody\r\n"
	path, env := stored(t, "", []string{"a@example.net", "b@example.net"}, body)
	dir := filepath.Join(t.TempDir(), "Pickup")
	s, err := New(Config{PickupPath: dir, KeepEML: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, env.ID+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(got), "\r\n", 4)
	if lines[0] != "X-Sender: <>" || lines[1] != "X-Receiver: a@example.net" || lines[2] != "X-Receiver: b@example.net" ||
		!strings.HasPrefix(lines[3], "Received: from c.example") || !strings.HasSuffix(string(got), "\r\n"+body) {
		t.Fatalf("pickup file:\n%s", got)
	}
	// Only the finished file is in the pickup folder.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("pickup folder holds %v", ents)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal("eml removed although kept")
	}
}

func TestMaildirPerRecipient(t *testing.T) {
	path, env := stored(t, "s@example.org", []string{"Bob@Example.NET", "../../etc@x"}, "Subject: m\r\n\r\nhi\r\n")
	root := t.TempDir()
	s, err := New(Config{MaildirPath: root, MaildirPerRecipient: true, Hostname: "mx.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(root, "example.net", "bob"), filepath.Join(root, "x", ".._.._etc")} {
		ents, err := os.ReadDir(filepath.Join(dir, "new"))
		if err != nil || len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ":2,") || !strings.Contains(ents[0].Name(), env.ID) {
			t.Fatalf("%s/new: %v %v", dir, ents, err)
		}
		if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
			t.Fatalf("tmp not empty: %v", tmp)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("eml kept although not an output")
	}
}

func TestRecipientDirStaysInside(t *testing.T) {
	for _, r := range []string{"../../x@y", "a@../..", "a/b@c/d", "@", "..@..", "postmaster"} {
		d := RecipientDir("/root", r)
		rel, err := filepath.Rel("/root", d)
		parts := strings.Split(rel, string(filepath.Separator))
		if err != nil || len(parts) != 2 || parts[0] == ".." || parts[1] == ".." || parts[0] == "." || parts[1] == "." {
			t.Errorf("RecipientDir(%q) = %s", r, d)
		}
	}
}
