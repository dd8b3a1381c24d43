package outputs

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/smtp"
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
	for _, dir := range []string{filepath.Join(root, "example.net", "bob"), filepath.Join(root, "x", "=2E.=2F..=2Fetc")} {
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
	for _, r := range []string{"../../x@y", "a@../..", "a/b@c/d", "@", "..@..", "postmaster", ".@.", "a\\\x00b@c"} {
		d := RecipientDir("/root", r)
		rel, err := filepath.Rel("/root", d)
		parts := strings.Split(rel, string(filepath.Separator))
		if err != nil || len(parts) != 2 || parts[0] == ".." || parts[1] == ".." || parts[0] == "." || parts[1] == "." {
			t.Errorf("RecipientDir(%q) = %s", r, d)
		}
	}
}

// Two recipients that differ after lower-casing get two folders, and the
// domain is what follows the last "@": a quoted local part may hold one.
func TestRecipientDirDistinct(t *testing.T) {
	cases := map[string]string{
		`"a@b"@example.org`: "example.org/=22a=40b=22",
		"a@b@example.org":   "example.org/a=40b",
		"a_b@example.org":   "example.org/a_b",
		`"a b"@example.org`: "example.org/=22a=20b=22",
		"a=b@example.org":   "example.org/a=3Db",
		"A.B@Example.ORG":   "example.org/a.b",
		".hidden@x":         "x/=2Ehidden",
		"postmaster":        "=_/postmaster",
		"postmaster@_":      "_/postmaster",
		"@x":                "x/=",
		"josé@exemple.fr":   "exemple.fr/jos=C3=A9",
		"[192.0.2.1]":       "=_/=5B192.0.2.1=5D",
		"u@[192.0.2.1]":     "=5B192.0.2.1=5D/u",
	}
	seen := map[string]string{}
	for rcpt, want := range cases {
		got := RecipientDir("/root", rcpt)
		if got != filepath.Join("/root", want) {
			t.Errorf("RecipientDir(%q) = %s, want /root/%s", rcpt, got, want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%q and %q share %s", rcpt, other, got)
		}
		seen[got] = rcpt
	}
}

// A pickup file left in the temporary folder by a crash is removed at the
// next start once it is an hour old; a younger one may be another
// process's, still being written, and stays.
func TestPickupLeftoversCleared(t *testing.T) {
	pickup := filepath.Join(t.TempDir(), "Pickup")
	if _, err := New(Config{PickupPath: pickup}, nil); err != nil {
		t.Fatal(err)
	}
	tmp := pickupTmp(pickup)
	old, young := filepath.Join(tmp, "old.eml"), filepath.Join(tmp, "young.eml")
	for _, f := range []string{old, young} {
		if err := os.WriteFile(f, []byte("X-Sender: a@b\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	os.Chtimes(old, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	os.Chtimes(young, now.Add(-10*time.Minute), now.Add(-10*time.Minute))
	if _, err := New(Config{PickupPath: pickup}, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale pickup file kept: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("recent pickup file removed: %v", err)
	}
	if ents, _ := os.ReadDir(pickup); len(ents) != 0 {
		t.Errorf("pickup folder holds %v", ents)
	}
}

// A domain of long non-ASCII labels, valid in SMTPUTF8, encodes to more
// than a file system allows in one name: the name is cut and tagged with
// a hash, stays distinct, and the message is delivered.
func TestRecipientDirLongUTF8Domain(t *testing.T) {
	long := func(r string) string { return strings.Repeat(r, 21) + "." + strings.Repeat("文", 21) }
	a, b := "a@"+long("中"), "a@"+long("国")
	for _, rcpt := range []string{a, b} {
		if _, err := smtp.ParseRcptArg("TO:<" + rcpt + ">"); err != nil {
			t.Fatalf("the parser refuses %q: %v", rcpt, err)
		}
	}
	da, db := RecipientDir("/r", a), RecipientDir("/r", b)
	if da == db {
		t.Fatalf("%q and %q share %s", a, b, da)
	}
	for _, d := range []string{da, db} {
		name := filepath.Base(filepath.Dir(d))
		prefix, hash, ok := strings.Cut(name, "~")
		if len(name) > maxFolderName || !ok || len(hash) != 32 {
			t.Fatalf("domain folder %q (%d bytes)", name, len(name))
		}
		for i := 0; i < len(prefix); i++ {
			if prefix[i] == '=' {
				if i+2 >= len(prefix) {
					t.Fatalf("cut inside an =XX: %q", name)
				}
				i += 2
			}
		}
	}
	path, _ := stored(t, "s@example.org", []string{a}, "Subject: m\r\n\r\nhi\r\n")
	s, err := New(Config{MaildirPath: t.TempDir(), MaildirPerRecipient: true, Hostname: "mx.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), path); err != nil {
		t.Fatalf("an accepted recipient cannot be delivered: %v", err)
	}
}

// spoolFunc is a relay Spooler for tests.
type spoolFunc func(env *store.Envelope, received string, body []byte) error

func (f spoolFunc) Spool(env *store.Envelope, received string, body []byte) error {
	return f(env, received, body)
}

// When an output fails the client gets 451 and will send the message
// again: what the outputs before it wrote is taken back, so the retry
// leaves no second copy.
func TestDeliverFailureTakesBackCopies(t *testing.T) {
	newDirs := func(t *testing.T) (pickup, root string) {
		return filepath.Join(t.TempDir(), "Pickup"), t.TempDir()
	}
	left := func(t *testing.T, pickup, root string, id string) []string {
		var out []string
		if _, err := os.Stat(filepath.Join(pickup, id+".eml")); err == nil {
			out = append(out, "pickup/"+id+".eml")
		}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	t.Run("second recipient's Maildir", func(t *testing.T) {
		path, env := stored(t, "s@example.org", []string{"a@example.org", "b@example.net"}, "Subject: m\r\n\r\nhi\r\n")
		pickup, root := newDirs(t)
		// The second recipient's Maildir cannot be created.
		if err := os.WriteFile(filepath.Join(root, "example.net"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{PickupPath: pickup, MaildirPath: root, MaildirPerRecipient: true, Hostname: "mx"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(context.Background(), path); err == nil {
			t.Fatal("Deliver succeeded")
		}
		if l := left(t, pickup, root, env.ID); len(l) != 1 || filepath.Base(l[0]) != "example.net" {
			t.Errorf("copies kept after the failure: %v", l)
		}
	})
	t.Run("relay", func(t *testing.T) {
		path, env := stored(t, "s@example.org", []string{"a@example.org"}, "Subject: m\r\n\r\nhi\r\n")
		pickup, root := newDirs(t)
		relay := spoolFunc(func(*store.Envelope, string, []byte) error { return errors.New("queue full") })
		s, err := New(Config{PickupPath: pickup, MaildirPath: root, Hostname: "mx", Relay: relay}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(context.Background(), path); err == nil {
			t.Fatal("Deliver succeeded")
		}
		if l := left(t, pickup, root, env.ID); len(l) != 0 {
			t.Errorf("copies kept after the failure: %v", l)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("the store file is the caller's to remove: %v", err)
		}
	})
}
