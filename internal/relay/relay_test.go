package relay

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/certs"
	"fakesmtp/internal/id"
	"fakesmtp/internal/policy"
	"fakesmtp/internal/policy/greylist"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/store"
)

// upstream is a real SMTP server (fakesmtp's own engine) that the queue
// delivers to.
type upstream struct {
	addr  string
	store *store.Store
	cert  *certs.Source
}

type upstreamOpt func(*smtpd.Config, *smtpd.Deps)

func startUpstream(t *testing.T, ln net.Listener, opts ...upstreamOpt) *upstream {
	return startUpstreamTLS(t, ln, false, opts...)
}

// startUpstreamTLS serves implicit TLS (SMTPS) when implicit is set.
func startUpstreamTLS(t *testing.T, ln net.Listener, implicit bool, opts ...upstreamOpt) *upstream {
	t.Helper()
	st, err := store.New(store.Config{Path: t.TempDir(), Fsync: false}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg := smtpd.Config{Hostname: "upstream.test", ReceiveTimeout: 5 * time.Second, MaxErrors: 10, MaxNoop: 7, MaxVrfy: 10,
		MaxRcpt: 100, MaxSessions: 10, StoreData: true, MaxDataSize: 1 << 20}
	deps := smtpd.Deps{Store: st, Logger: slog.New(slog.DiscardHandler), SessionLog: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	srv, err := smtpd.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	serve := srv.Serve
	if implicit {
		serve = srv.ServeTLS
	}
	go func() { serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return &upstream{addr: ln.Addr().String(), store: st}
}

// relisten listens again on an address a test closed to make the
// upstream "down". The kernel does not hand a just-closed port out again
// at once; a few tries cover a socket still closing.
func relisten(t *testing.T, addr string) net.Listener {
	t.Helper()
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("listen again on %s: %v", addr, err)
	return nil
}

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// messages returns what the upstream stored, by recipient list.
func (u *upstream) messages(t *testing.T) []stored {
	ids, err := u.store.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	for _, id := range ids {
		p, _ := u.store.FilePath(id)
		env, body, err := store.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored{env, body})
	}
	return out
}

type stored struct {
	env  *store.Envelope
	body []byte
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newQueue makes a queue for upstream addr with fast retries.
func newQueue(t *testing.T, dir, addr string, mod func(*Config)) (*Queue, *logBuf) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	cfg := Config{Dir: dir, Host: host, Port: p, TLS: TLSNone, Schedule: []time.Duration{50 * time.Millisecond},
		MaxAge: time.Hour, Workers: 2, Timeout: 5 * time.Second, Hostname: "relay.test", ScanInterval: 50 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	logs := &logBuf{}
	q, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return q, logs
}

func run(t *testing.T, q *Queue) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

var idgen = id.NewGenerator(time.Now)

func envelope(from string, rcpts ...string) *store.Envelope {
	return &store.Envelope{ID: idgen.New(), MailFrom: from, RcptTo: rcpts,
		ClientIP: netip.MustParseAddr("192.0.2.7"), ReceivedAt: time.Now()}
}

// body has a line starting with a dot, 8-bit text and a line of 998
// octets: what must reach the upstream unchanged.
var body = []byte("Subject: relay test\r\nFrom: a@example.org\r\n\r\n.leading dot\r\nGr\xc3\xbc\xc3\x9fe\r\n" +
	strings.Repeat("x", 998) + "\r\n..two dots\r\n")

const received = "Received: from client.test ([192.0.2.7]) by relay.test with ESMTP id 01TEST; Sat, 28 Nov 2026 12:00:00 +0000\r\n"

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func queued(t *testing.T, dir string) []Entry {
	t.Helper()
	es, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestDeliverByteExact(t *testing.T) {
	up := startUpstream(t, listen(t))
	dir := t.TempDir()
	q, _ := newQueue(t, dir, up.addr, nil)
	env := envelope("sender@example.org", "a@example.net", "b@example.net")
	if err := q.Spool(env, received, body); err != nil {
		t.Fatal(err)
	}
	// Durable before the 250: both files are there before Run starts.
	for _, ext := range []string{msgExt, stateExt} {
		if _, err := os.Stat(filepath.Join(dir, env.ID+ext)); err != nil {
			t.Fatalf("spool left no %s: %v", ext, err)
		}
	}
	run(t, q)
	// Delivered, and the queue folder empty but for failed/ and .tmp/
	// (the state goes before the message, a moment apart).
	waitFor(t, "delivery", func() bool {
		left, _ := os.ReadDir(dir)
		return len(up.messages(t)) == 1 && len(queued(t, dir)) == 0 && len(left) == 2
	})
	m := up.messages(t)[0]
	if m.env.MailFrom != "sender@example.org" || strings.Join(m.env.RcptTo, ",") != "a@example.net,b@example.net" {
		t.Errorf("envelope upstream: from %q rcpts %q", m.env.MailFrom, m.env.RcptTo)
	}
	if want := append([]byte(received), body...); !bytes.Equal(m.body, want) {
		t.Errorf("content upstream differs:\n got %q\nwant %q", m.body, want)
	}
}

func TestMatchAndSender(t *testing.T) {
	up := startUpstream(t, listen(t))
	dir := t.TempDir()
	q, _ := newQueue(t, dir, up.addr, func(c *Config) {
		c.Match = []string{"example.net", ".sub.example.com", "one@example.org"}
		c.Sender = "<>"
	})
	if err := q.Spool(envelope("s@example.org", "other@example.org"), received, body); err != nil {
		t.Fatal(err)
	}
	if es := queued(t, dir); len(es) != 0 {
		t.Fatalf("message for no matching recipient was queued: %+v", es)
	}
	env := envelope("s@example.org", "x@EXAMPLE.net", "no@example.com", "y@a.sub.example.com", "one@example.org", "two@example.org")
	if err := q.Spool(env, received, body); err != nil {
		t.Fatal(err)
	}
	run(t, q)
	waitFor(t, "delivery", func() bool { return len(up.messages(t)) == 1 })
	m := up.messages(t)[0]
	if got := strings.Join(m.env.RcptTo, ","); got != "x@EXAMPLE.net,y@a.sub.example.com,one@example.org" {
		t.Errorf("relayed recipients %q", got)
	}
	if m.env.MailFrom != "" {
		t.Errorf("sender not rewritten to the null sender: %q", m.env.MailFrom)
	}
}

func TestUpstreamDownThenUp(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close() // nobody listens: connection refused
	dir := t.TempDir()
	q, logs := newQueue(t, dir, addr, nil)
	env := envelope("s@example.org", "r@example.net")
	if err := q.Spool(env, received, body); err != nil {
		t.Fatal(err)
	}
	run(t, q)
	waitFor(t, "two failed attempts", func() bool {
		es := queued(t, dir)
		return len(es) == 1 && es[0].Attempts >= 2
	})
	if es := queued(t, dir); !strings.Contains(es[0].Rcpts[0].Reply, "connection refused") || es[0].Rcpts[0].Status != StatusPending {
		t.Errorf("after refused connections: %+v", es[0].Rcpts)
	}
	up := startUpstream(t, relisten(t, addr))
	waitFor(t, "delivery after retry", func() bool { return len(up.messages(t)) == 1 && len(queued(t, dir)) == 0 })
	if !strings.Contains(logs.String(), "relay: delivered") {
		t.Errorf("no delivery logged:\n%s", logs)
	}
}

func TestTemporaryThenAccepted(t *testing.T) {
	// Greylisting gives a real 451 4.7.1 to the first attempt and 250 to
	// a retry after the delay.
	var mu sync.Mutex
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	gl, err := greylist.New(greylist.Config{Delay: time.Minute, Expire: time.Hour, PassTTL: time.Hour}, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	up := startUpstream(t, listen(t), func(_ *smtpd.Config, d *smtpd.Deps) { d.Greylist = gl })
	dir := t.TempDir()
	q, _ := newQueue(t, dir, up.addr, nil)
	if err := q.Spool(envelope("s@example.org", "r@example.net"), received, body); err != nil {
		t.Fatal(err)
	}
	run(t, q)
	waitFor(t, "a greylisted attempt", func() bool {
		es := queued(t, dir)
		return len(es) == 1 && es[0].Attempts >= 1
	})
	if r := queued(t, dir)[0].Rcpts[0].Reply; !strings.HasPrefix(r, "451") {
		t.Errorf("first attempt reply %q, want 451", r)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	waitFor(t, "delivery after the greylist delay", func() bool { return len(up.messages(t)) == 1 && len(queued(t, dir)) == 0 })
}

func TestPermanentFailureAndPartial(t *testing.T) {
	mb := filepath.Join(t.TempDir(), "mailboxes")
	os.WriteFile(mb, []byte("good@example.net\n"), 0o644)
	rc, err := policy.NewRecipients("", mb)
	if err != nil {
		t.Fatal(err)
	}
	up := startUpstream(t, listen(t), func(_ *smtpd.Config, d *smtpd.Deps) { d.Recipients = rc })
	dir := t.TempDir()
	q, _ := newQueue(t, dir, up.addr, nil)
	env := envelope("s@example.org", "good@example.net", "bad@example.net")
	if err := q.Spool(env, received, body); err != nil {
		t.Fatal(err)
	}
	run(t, q)
	waitFor(t, "the entry in failed/", func() bool {
		es := queued(t, dir)
		return len(es) == 1 && es[0].Failed
	})
	if got := up.messages(t); len(got) != 1 || strings.Join(got[0].env.RcptTo, ",") != "good@example.net" {
		t.Fatalf("upstream got %d messages, want one for the good recipient", len(got))
	}
	reason, err := os.ReadFile(filepath.Join(dir, failedDir, env.ID+reasonExt))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<bad@example.net>: failed: 550 5.1.1", "<good@example.net>: sent: 250"} {
		if !strings.Contains(string(reason), want) {
			t.Errorf("reason file lacks %q:\n%s", want, reason)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, failedDir, env.ID+msgExt)); err != nil || !bytes.Equal(data, append([]byte(received), body...)) {
		t.Errorf("failed/ lacks the message whole: %v", err)
	}
	// Retry brings it back for the failed recipient only, which fails
	// again: never for the one that was delivered.
	if _, err := Retry(dir, []string{env.ID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second failure", func() bool {
		es := queued(t, dir)
		return len(es) == 1 && es[0].Failed && es[0].Attempts == 1
	})
	if got := up.messages(t); len(got) != 1 {
		t.Errorf("upstream got %d messages after retry, want still 1", len(got))
	}
}

func TestExpiry(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	q, _ := newQueue(t, dir, addr, func(c *Config) { c.MaxAge = 150 * time.Millisecond })
	env := envelope("s@example.org", "r@example.net")
	q.Spool(env, received, body)
	run(t, q)
	waitFor(t, "expiry", func() bool { es := queued(t, dir); return len(es) == 1 && es[0].Failed })
	if r := queued(t, dir)[0].Rcpts[0].Reply; !strings.HasPrefix(r, "expired after") || !strings.Contains(r, "connection refused") {
		t.Errorf("expiry reason %q", r)
	}
}

func TestResumeAfterRestart(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	q, _ := newQueue(t, dir, addr, func(c *Config) { c.Schedule = []time.Duration{time.Hour} })
	var ids []string
	for range 3 {
		env := envelope("s@example.org", "r@example.net")
		q.Spool(env, received, body)
		ids = append(ids, env.ID)
	}
	// An interrupted spool: the message without its state.
	orphan := idgen.New()
	os.WriteFile(filepath.Join(dir, orphan+msgExt), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, tmpDir, "junk"), []byte("x"), 0o644)
	// No Run: as if the process died right after the 250s. A new queue
	// over the same folder, with the upstream now up, delivers them.
	up := startUpstream(t, relisten(t, addr))
	q2, _ := newQueue(t, dir, addr, nil)
	if _, err := os.Stat(filepath.Join(dir, orphan+msgExt)); err == nil {
		t.Error("orphan message of an interrupted spool not removed")
	}
	if left, _ := os.ReadDir(filepath.Join(dir, tmpDir)); len(left) != 0 {
		t.Errorf(".tmp not emptied: %v", left)
	}
	run(t, q2)
	waitFor(t, "the three messages", func() bool { return len(up.messages(t)) == 3 && len(queued(t, dir)) == 0 })
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	q, _ := newQueue(t, dir, "127.0.0.1:9", nil)
	env := envelope("s@example.org", "r@example.net")
	q.Spool(env, received, body)
	if _, err := Delete(dir, []string{idgen.New()}); err == nil {
		t.Error("deleting an unknown ID: no error")
	}
	done, err := Delete(dir, []string{env.ID})
	if err != nil || len(done) != 1 {
		t.Fatalf("Delete = %v, %v", done, err)
	}
	if es := queued(t, dir); len(es) != 0 {
		t.Errorf("still listed after delete: %+v", es)
	}
}

// `fakesmtp queue delete`, run while a worker's attempt fails the entry
// for good, wins: the worker's move to failed/ finds the message gone and
// takes back the state and reason it wrote there, instead of leaving a
// failed entry without a message that cannot be retried.
func TestDeleteDuringAttempt(t *testing.T) {
	dir := t.TempDir()
	q, _ := newQueue(t, dir, "127.0.0.1:9", nil)
	env := envelope("s@example.org", "r@example.net")
	q.Spool(env, received, body)
	st, err := loadState(filepath.Join(dir, env.ID+stateExt))
	if err != nil {
		t.Fatal(err)
	}
	// The attempt has its result: a permanent refusal.
	st.Attempts++
	st.Rcpts[0].Status, st.Rcpts[0].Reply = StatusFailed, "550 5.1.1 no such user"
	if _, err := Delete(dir, []string{env.ID}); err != nil { // meanwhile, from the CLI
		t.Fatal(err)
	}
	q.finish(st)
	if es := queued(t, dir); len(es) != 0 {
		t.Errorf("deleted entry back in the queue listing: %+v", es)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, failedDir)); len(left) != 0 {
		t.Errorf("failed/ holds %v", left)
	}
}

// tlsUpstream starts an upstream with STARTTLS and AUTH and returns it
// and a CA file that verifies it.
func tlsUpstream(t *testing.T, implicit bool) (*upstream, string) {
	src, err := certs.SelfSigned("127.0.0.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := src.Config()
	var ln net.Listener = listen(t)
	up := startUpstreamTLS(t, ln, implicit, func(c *smtpd.Config, d *smtpd.Deps) {
		c.TLS, c.StartTLS, c.TLSRequired, c.Auth, c.AuthRequired = cfg, !implicit, !implicit, sasl.AnyVerifier{}, true
	})
	leaf, err := cfg.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]}), 0o644)
	if _, err := x509.ParseCertificate(leaf.Certificate[0]); err != nil {
		t.Fatal(err)
	}
	return up, ca
}

func TestStartTLSAndAuth(t *testing.T) {
	for _, mode := range []string{TLSStartTLSRequired, TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) { testTLSAndAuth(t, mode) })
	}
}

func testTLSAndAuth(t *testing.T, mode string) {
	up, ca := tlsUpstream(t, mode == TLSImplicit)
	dir := t.TempDir()
	q, logs := newQueue(t, dir, up.addr, func(c *Config) {
		c.TLS, c.User, c.Password = mode, "relayuser", "secret-pw"
		if mode != TLSStartTLS { // opportunistic TLS does not verify
			c.CAFile = ca
		}
	})
	q.Spool(envelope("s@example.org", "r@example.net"), received, body)
	run(t, q)
	waitFor(t, "delivery over STARTTLS", func() bool { return len(up.messages(t)) == 1 })
	m := up.messages(t)[0]
	var tlsSeen, authSeen bool
	for _, x := range m.env.Extra {
		tlsSeen = tlsSeen || strings.HasPrefix(x, "X-FakeSMTP-TLS:")
		authSeen = authSeen || x == "X-FakeSMTP-Auth-User: relayuser"
	}
	if !tlsSeen || !authSeen {
		t.Errorf("upstream saw no TLS or no AUTH: %q", m.env.Extra)
	}
	if strings.Contains(logs.String(), "secret-pw") {
		t.Error("password in the log")
	}
}

func TestStartTLSUnverifiedFails(t *testing.T) {
	up, _ := tlsUpstream(t, false)
	dir := t.TempDir()
	// starttls-required with the system roots: the self-signed upstream
	// is not trusted, so nothing is sent and the message stays queued.
	q, _ := newQueue(t, dir, up.addr, func(c *Config) { c.TLS = TLSStartTLSRequired; c.User, c.Password = "u", "p" })
	q.Spool(envelope("s@example.org", "r@example.net"), received, body)
	run(t, q)
	waitFor(t, "a failed attempt", func() bool { es := queued(t, dir); return len(es) == 1 && es[0].Attempts >= 1 })
	if r := queued(t, dir)[0].Rcpts[0]; r.Status != StatusPending || !strings.Contains(r.Reply, "certificate") {
		t.Errorf("after an untrusted certificate: %+v", r)
	}
	if len(up.messages(t)) != 0 {
		t.Error("delivered over an unverified connection")
	}
}

func TestNoCredentialsInClear(t *testing.T) {
	up := startUpstream(t, listen(t), func(c *smtpd.Config, _ *smtpd.Deps) { c.Auth, c.AuthAllowInsecure = sasl.AnyVerifier{}, true })
	dir := t.TempDir()
	q, _ := newQueue(t, dir, up.addr, func(c *Config) { c.TLS = TLSStartTLS; c.User, c.Password = "u", "p" })
	q.Spool(envelope("s@example.org", "r@example.net"), received, body)
	run(t, q)
	waitFor(t, "a failed attempt", func() bool { es := queued(t, dir); return len(es) == 1 && es[0].Attempts >= 1 })
	if r := queued(t, dir)[0].Rcpts[0].Reply; !strings.Contains(r, "not sent in clear") {
		t.Errorf("reply %q", r)
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		match []string
		rcpt  string
		want  bool
	}{
		{nil, "a@b.c", true},
		{[]string{"example.org"}, "a@Example.ORG", true},
		{[]string{"example.org"}, "a@sub.example.org", false},
		{[]string{".example.org"}, "a@sub.example.org", true},
		{[]string{".example.org"}, "a@example.org", false},
		{[]string{".example.org"}, "a@badexample.org", false},
		{[]string{"a@example.org"}, "A@example.org", true},
		{[]string{"a@example.org"}, "b@example.org", false},
		{[]string{"example.org"}, "postmaster", false},
	} {
		if got := Matches(tc.match, tc.rcpt); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v", tc.match, tc.rcpt, got)
		}
	}
}

func TestDotStuff(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\r\n", "a\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{"a\r\n.b\r\n..c", "a\r\n..b\r\n...c\r\n.\r\n"},
		{"", ".\r\n"},
	} {
		var b bytes.Buffer
		dotStuff(&b, []byte(tc.in))
		if b.String() != tc.want {
			t.Errorf("dotStuff(%q) = %q, want %q", tc.in, b.String(), tc.want)
		}
	}
}
