package smtpd_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
	"fakesmtp/internal/store"
)

// env is one running server under test.
type env struct {
	t     *testing.T
	addr  string
	srv   *smtpd.Server
	store *store.Store
	logs  *syncBuffer
	mu    sync.Mutex
	slept []time.Duration
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// devConfig is the dev-mode session rules: everything accepted, no delay.
func devConfig() smtpd.Config {
	return smtpd.Config{
		Hostname:       "mx.fakesmtp.test",
		ReceiveTimeout: 5 * time.Second,
		MaxErrors:      4,
		MaxNoop:        7,
		MaxVrfy:        10,
		MaxRcpt:        100,
		MaxSessions:    100,
		StoreData:      true,
		MaxDataSize:    1 << 20,
		Verbose:        true,
	}
}

type option func(*smtpd.Deps)

func start(t *testing.T, cfg smtpd.Config, opts ...option) *env {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{}}
	st, err := store.New(store.Config{Path: t.TempDir(), Fsync: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	deps := smtpd.Deps{
		Store:      st,
		Logger:     logger,
		SessionLog: logger,
		Sleep: func(ctx context.Context, d time.Duration) bool {
			e.mu.Lock()
			e.slept = append(e.slept, d)
			e.mu.Unlock()
			return true
		},
	}
	for _, o := range opts {
		o(&deps)
	}
	srv, err := smtpd.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.addr = smtptest.Start(t, srv)
	return e
}

// realSleep makes the server really wait (banner delay tests).
func realSleep(d *smtpd.Deps) { d.Sleep = nil }

func (e *env) dial() *smtptest.Client {
	e.t.Helper()
	c := smtptest.Dial(e.t, e.addr)
	if r := c.Read(); r.Code != 220 {
		e.t.Fatalf("banner %v", r)
	}
	return c
}

// messages returns the stored messages, oldest first.
func (e *env) messages() []stored {
	e.t.Helper()
	ids, err := e.store.List()
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(ids)
	var out []stored
	for _, id := range ids {
		p, _ := e.store.FilePath(id)
		env, body, err := store.ReadFile(p)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, stored{env, body})
	}
	return out
}

type stored struct {
	env  *store.Envelope
	body []byte
}

// tmpFiles lists files left in the store's temporary folder.
func (e *env) tmpFiles() []string {
	ents, _ := os.ReadDir(filepath.Join(e.store.Path(), ".tmp"))
	var names []string
	for _, x := range ents {
		names = append(names, x.Name())
	}
	return names
}

func (e *env) sleeps() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.slept...)
}

// waitFor polls cond until it holds (used only to observe the server's
// asynchronous bookkeeping, never as a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasLine(logs, substr string) bool {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

// sendMessage runs one full transaction and returns the final reply.
func sendMessage(t *testing.T, c *smtptest.Client, from, to, content string) smtptest.Reply {
	t.Helper()
	c.Expect("MAIL FROM:<"+from+">", 250)
	c.Expect("RCPT TO:<"+to+">", 250)
	c.Expect("DATA", 354)
	c.Send(content)
	return c.Read()
}

type client = smtptest.Client

// dialClient dials and reads the banner.
func (e *env) dialClient() *client { return e.dial() }

// dialRaw dials without reading anything.
func dialRaw(t *testing.T, addr string) *client { return smtptest.Dial(t, addr) }

// dialFrom dials from a local address and reads the banner.
func dialFrom(t *testing.T, from, addr string) *client {
	t.Helper()
	c := smtptest.DialFrom(t, from, addr)
	if r := c.Read(); r.Code != 220 {
		t.Fatalf("banner %v", r)
	}
	return c
}

// dialRawFrom dials from a local address without reading anything.
func dialRawFrom(t *testing.T, from, addr string) *client { return smtptest.DialFrom(t, from, addr) }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTestStore(t *testing.T) *store.Store {
	st, err := store.New(store.Config{Path: t.TempDir()}, discard())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
