package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/store"
)

func storeOne(t *testing.T) (string, *store.Envelope) {
	t.Helper()
	st, err := store.New(store.Config{Path: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g := id.NewGenerator(nil)
	env := &store.Envelope{ID: g.New(), Session: g.New(), ClientIP: netip.MustParseAddr("192.0.2.9"), ClientPort: 7,
		Helo: "bot.example", MailFrom: "spam@example.org", RcptTo: []string{"trap@example.net"}, ReceivedAt: time.Now(),
		Hostname: "mx", Extra: []string{"X-FakeSMTP-DNSBL: bl.example=127.0.0.2"}}
	if err := st.Put(context.Background(), env, strings.NewReader("Subject: junk\r\n\r\nbuy\r\n")); err != nil {
		t.Fatal(err)
	}
	p, _ := st.FilePath(env.ID)
	return p, env
}

func waitFile(t *testing.T, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(name); err == nil && len(b) > 0 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never written", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecHook(t *testing.T) {
	path, env := storeOne(t)
	out := filepath.Join(t.TempDir(), "out")
	r, err := New(Config{Exec: `printf '%s|%s|%s|' "$FAKESMTP_ID" "$FAKESMTP_MAIL_FROM" "$FAKESMTP_CLIENT_IP" > ` + out + `.tmp; cat >> ` + out + `.tmp; mv ` + out + `.tmp ` + out,
		ExecStdin: true, Dir: filepath.Join(t.TempDir(), "hooks")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	if err := r.Pending(env.ID, path); err != nil {
		t.Fatal(err)
	}
	r.Run(path)
	got := string(waitFile(t, out))
	if got != env.ID+"|spam@example.org|192.0.2.9|Subject: junk\r\n\r\nbuy\r\n" {
		t.Fatalf("hook saw %q", got)
	}
	r.Close(context.Background())
	if ents, _ := os.ReadDir(r.cfg.Dir); len(ents) != 0 {
		t.Fatalf("marker left: %v", ents)
	}
}

func TestWebhookRetries(t *testing.T) {
	path, env := storeOne(t)
	var mu sync.Mutex
	calls := 0
	var got Summary
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(req.Body)
		json.Unmarshal(body, &got)
	}))
	defer srv.Close()
	r, _ := New(Config{Webhook: srv.URL, Dir: filepath.Join(t.TempDir(), "hooks")}, slog.New(slog.DiscardHandler))
	r.Start()
	r.Pending(env.ID, path)
	r.Run(path)
	r.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 || got.ID != env.ID || got.From != "spam@example.org" || len(got.Annotations) != 1 {
		t.Fatalf("calls %d, summary %+v", calls, got)
	}
}

func TestPendingRunAtStart(t *testing.T) {
	path, env := storeOne(t)
	dir := filepath.Join(t.TempDir(), "hooks")
	// A run that recorded the hook but stopped before running it.
	r1, _ := New(Config{Exec: "true", Dir: dir}, slog.New(slog.DiscardHandler))
	r1.Pending(env.ID, path)
	runsAtNextStart(t, dir, env.ID)
}

// runsAtNextStart starts a Runner on the marker folder dir and checks that
// it runs the hook of msgID, left pending by an earlier one.
func runsAtNextStart(t *testing.T, dir, msgID string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	r, _ := New(Config{Exec: `echo "$FAKESMTP_ID" > ` + out, Dir: dir}, slog.New(slog.DiscardHandler))
	r.Start()
	if got := strings.TrimSpace(string(waitFile(t, out))); got != msgID {
		t.Fatalf("pending hook ran with %q", got)
	}
	r.Close(context.Background())
}

func TestNoHooks(t *testing.T) {
	if r, err := New(Config{Dir: t.TempDir()}, nil); r != nil || err != nil {
		t.Fatal("a Runner without hooks")
	}
}

// TestCloseDoesNotWaitForHungHook: Close(ctx) bounds the stop. When ctx
// ends it cancels the running hooks; a hook whose shell's child kept the
// output pipe open used to hold Close for as long as that child ran. The
// hook cut short keeps its marker and runs again at the next start.
func TestCloseDoesNotWaitForHungHook(t *testing.T) {
	path, env := storeOne(t)
	dir := filepath.Join(t.TempDir(), "hooks")
	started := filepath.Join(t.TempDir(), "started")
	r, err := New(Config{Exec: `echo x > ` + started + `; sleep 10; true`, Timeout: time.Hour, Attempts: 1, Dir: dir},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	if err := r.Pending(env.ID, path); err != nil {
		t.Fatal(err)
	}
	r.Run(path)
	waitFile(t, started)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	r.Close(ctx)
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Close with a 200ms grace took %v", took.Round(time.Millisecond))
	}
	if _, err := os.Stat(filepath.Join(dir, env.ID)); err != nil {
		t.Fatalf("the marker of the hook cut short is gone: %v", err)
	}
	// The next start runs it again.
	runsAtNextStart(t, dir, env.ID)
}

// A failing command's output goes into the error, but only its tail: a
// command that prints megabytes must not put them all in the log (or in
// memory).
func TestExecOutputBounded(t *testing.T) {
	r, err := New(Config{Exec: `head -c 3000000 /dev/zero | tr '\0' x; echo; echo the real reason >&2; exit 3`,
		Dir: filepath.Join(t.TempDir(), "hooks")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = r.exec(context.Background(), &Summary{ID: "x"}, nil)
	if err == nil {
		t.Fatal("a command that exits 3 did not fail")
	}
	msg := err.Error()
	if len(msg) > maxOutput+200 || !strings.Contains(msg, "the real reason") || !strings.Contains(msg, "bytes of output cut") {
		t.Fatalf("error of %d bytes, ending %q", len(msg), msg[max(0, len(msg)-100):])
	}
}

func TestTailBuffer(t *testing.T) {
	var tb tailBuffer
	tb.Write([]byte(strings.Repeat("a", maxOutput-1)))
	tb.Write([]byte("bc"))
	if got := string(tb.Bytes()); !strings.HasPrefix(got, "[1 bytes of output cut] ") || !strings.HasSuffix(got, "abc") || len(got) != len("[1 bytes of output cut] ")+maxOutput {
		t.Fatalf("after a small overflow: %q...", got[:40])
	}
	tb.Write([]byte(strings.Repeat("z", 3*maxOutput)))
	if got := string(tb.Bytes()); !strings.HasPrefix(got, fmt.Sprintf("[%d bytes of output cut] z", 3*maxOutput+1)) || len(got) > maxOutput+40 {
		t.Fatalf("after a big write: %q...", got[:40])
	}
}

// A hook asked for after Close keeps its marker for the next start; it
// does not panic on the closed queue. A second Close does nothing.
func TestRunAfterClose(t *testing.T) {
	path, env := storeOne(t)
	r, err := New(Config{Exec: "true", Dir: filepath.Join(t.TempDir(), "hooks")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	r.Close(context.Background())
	if err := r.Pending(env.ID, path); err != nil {
		t.Fatal(err)
	}
	r.Run(path)
	r.Close(context.Background())
	if ents, _ := os.ReadDir(r.cfg.Dir); len(ents) != 1 {
		t.Fatalf("markers after a Run past Close: %v", ents)
	}
}
