package index

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/store"
)

// rawMultipart is a message with an encoded subject and display name, a
// text body and one attachment.
const rawMultipart = "From: =?UTF-8?Q?Zo=C3=AB_M=C3=BCller?= <zoe@example.net>\r\n" +
	"To: Bob <bob@example.org>, carol@example.org\r\n" +
	"Cc: dave@example.org\r\n" +
	"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n" +
	"Date: Sat, 28 Nov 2026 10:00:00 +0100\r\n" +
	"Message-ID: <m1@example.net>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b1\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"The kangaroo report is attached.\r\n" +
	"--b1\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=report.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQK\r\n" +
	"--b1--\r\n"

// rawHTML has only an HTML body.
const rawHTML = "From: news@list.example\r\n" +
	"Subject: HTML only\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<html><head><style>.wombat{color:red}</style><script>var platypus=1</script></head>" +
	"<body><p>Hello&nbsp;<b>echidna</b> &amp; friends</p><!-- hidden quokka --></body></html>\r\n"

type storeFixture struct {
	t   *testing.T
	st  *store.Store
	dir string
	n   int
}

func newStoreFixture(t *testing.T) *storeFixture {
	dir := t.TempDir()
	st, err := store.New(store.Config{Path: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &storeFixture{t: t, st: st, dir: dir}
}

// write stores raw as a message file, the way the SMTP session does,
// and returns its ID.
func (f *storeFixture) write(raw string, extra ...string) string {
	f.t.Helper()
	f.n++
	at := day(10).Add(time.Duration(f.n) * time.Minute)
	env := &store.Envelope{
		ID: idAt(at), Session: idAt(at.Add(-time.Second)),
		ClientIP: netip.MustParseAddr("::ffff:192.0.2.7"), ClientPort: 40123, Helo: "client.example",
		MailFrom: "sender@example.net", RcptTo: []string{"bob@example.org", "trap@example.org"},
		ReceivedAt: at, Hostname: "mx.example.test", Protocol: "ESMTP", Extra: extra,
	}
	if err := f.st.Put(context.Background(), env, strings.NewReader(raw)); err != nil {
		f.t.Fatal(err)
	}
	return env.ID
}

func (f *storeFixture) remove(msgID string) {
	f.t.Helper()
	if err := os.Remove(filepath.Join(f.dir, msgID+store.Ext)); err != nil {
		f.t.Fatal(err)
	}
}

// annotated are annotation headers as internal/smtpd writes them.
var annotated = []string{
	"X-FakeSMTP-Auth-User: bob",
	"X-FakeSMTP-TLS: TLS 1.3 TLS_AES_128_GCM_SHA256",
	"X-FakeSMTP-DSN-Ret: FULL",
	"X-FakeSMTP-DNSBL: zen.example=127.0.0.2",
	"X-FakeSMTP-DNSBL: bl.example=127.0.0.4",
	"X-FakeSMTP-DNSBL-Score: 2",
	"X-FakeSMTP-Trap: trap mailbox <trap@example.org>",
	"X-FakeSMTP-Finding: missing-date: the message has no Date header (RFC 5322 3.6)",
	"X-FakeSMTP-Finding: bare-lf-data: the message has a line feed without carriage return (RFC 5321 2.3.8)",
}

func TestFromFile(t *testing.T) {
	f := newStoreFixture(t)
	msgID := f.write(rawMultipart, annotated...)
	m, err := FromFile(filepath.Join(f.dir, msgID+store.Ext))
	if err != nil {
		t.Fatal(err)
	}
	want := Message{
		ID: msgID, ClientIP: "192.0.2.7", ClientPort: 40123, Helo: "client.example",
		MailFrom: "sender@example.net", RcptTo: []string{"bob@example.org", "trap@example.org"},
		From: []string{"Zoë Müller <zoe@example.net>"}, To: []string{"Bob <bob@example.org>", "carol@example.org"},
		Cc: []string{"dave@example.org"}, Subject: "Grüße aus Köln", MessageID: "m1@example.net",
		Size: int64(len(rawMultipart)), Attachments: 1,
		Verdicts: []string{"auth", "dnsbl:bl.example", "dnsbl:zen.example", "dsn", "tls", "trap:mailbox"},
		Findings: []string{"bare-lf-data", "missing-date"},
		Text:     "The kangaroo report is attached.",
	}
	if !m.Date.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("Date = %v", m.Date)
	}
	if m.ReceivedAt.IsZero() || m.Session == "" {
		t.Errorf("envelope times/session missing: %+v", m)
	}
	m.Text = strings.TrimSpace(m.Text)
	m.Date, m.ReceivedAt, m.Session = time.Time{}, time.Time{}, ""
	if !reflect.DeepEqual(m, want) {
		t.Errorf("FromFile:\n got %+v\nwant %+v", m, want)
	}

	h, err := FromFile(filepath.Join(f.dir, f.write(rawHTML)+store.Ext))
	if err != nil {
		t.Fatal(err)
	}
	if h.Text != "Hello echidna & friends" {
		t.Errorf("text of an HTML-only message = %q", h.Text)
	}
	if _, err := FromFile(filepath.Join(f.dir, "missing.eml")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestAnnotations(t *testing.T) {
	for _, c := range []struct {
		extra              []string
		verdicts, findings []string
	}{
		{nil, nil, nil},
		{[]string{"X-FakeSMTP-Trap: unknown domain <a@elsewhere.example>"}, []string{"trap:unknown-domain"}, nil},
		{[]string{"X-FakeSMTP-Trap: <a@b>"}, []string{"trap"}, nil},
		{[]string{"x-fakesmtp-verdict: temp-fail", "X-FakeSMTP-Verdict: "}, []string{"temp-fail"}, nil},
		{[]string{"X-FakeSMTP-Finding: no colon here"}, nil, nil},
		{[]string{"X-FakeSMTP-Finding: a: x", "X-FakeSMTP-Finding: a: y"}, nil, []string{"a"}},
		{[]string{"X-Other: 1", "garbage"}, nil, nil},
	} {
		v, f := annotations(c.extra)
		if !reflect.DeepEqual(v, c.verdicts) || !reflect.DeepEqual(f, c.findings) {
			t.Errorf("annotations(%q) = %q, %q; want %q, %q", c.extra, v, f, c.verdicts, c.findings)
		}
	}
}

func TestHTMLText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                          "plain",
		"<p>a</p><p>b</p>":               "a b",
		"x<SCRIPT>hidden</SCRIPT >y":     "x y",
		"x<style type=a>hidden</style>y": "x y",
		"a<!-- c --><!-- never closed":   "a",
		"&lt;tag&gt; &eacute;t&eacute;":  "<tag> été",
		"unclosed <b":                    "unclosed",
		"<script>never closed":           "",
		"İ<script>x</script>after":       "İ after",
	} {
		if got := htmlText(in); got != want {
			t.Errorf("htmlText(%q) = %q, want %q", in, got, want)
		}
	}
}

// runIndexer starts Run and returns a function that stops it and waits.
func runIndexer(t *testing.T, x *Indexer) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := x.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// waitPut returns the EventPut of msgID, skipping other events.
func waitPut(t *testing.T, ch <-chan Event, msgID string) Message {
	t.Helper()
	for {
		e := next(t, ch)
		if e.Kind == EventPut && e.Message.ID == msgID {
			return e.Message
		}
	}
}

func waitDelete(t *testing.T, ch <-chan Event, msgID string) {
	t.Helper()
	for {
		e := next(t, ch)
		if e.Kind == EventDelete && reflect.DeepEqual(e.IDs, []string{msgID}) {
			return
		}
	}
}

func TestIndexerEnqueueAndRemoved(t *testing.T) {
	ctx := context.Background()
	f := newStoreFixture(t)
	ix := newIndex(t)
	x := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	hooked := make(chan string, 16)
	x.OnIndexed = func(m Message) { hooked <- m.ID }
	ch, stop := x.Subscribe()
	defer stop()
	runIndexer(t, x)

	msgID := f.write(rawMultipart, annotated...)
	x.Enqueue(msgID)
	m := waitPut(t, ch, msgID)
	if m.Subject != "Grüße aus Köln" || m.Attachments != 1 || len(m.Verdicts) != 6 {
		t.Errorf("indexed message = %+v", m)
	}
	// The hook runs after the commit too (it may be a little after the
	// event: both follow the commit, in no set order).
	select {
	case got := <-hooked:
		if got != msgID {
			t.Errorf("OnIndexed saw %s, want %s", got, msgID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnIndexed not called")
	}
	// Committed and searchable by the time the event arrives.
	for _, q := range []string{"kangaroo", "from:zoe", "verdict:trap", "finding:missing-date", "has:attachment", "ip:192.0.2.0/24", "köln"} {
		if p := list(t, ix, q); p.Total != 1 {
			t.Errorf("%q: %d matches, want 1", q, p.Total)
		}
	}
	// Retention pruning: the file goes, then Removed.
	f.remove(msgID)
	x.Removed(msgID)
	waitDelete(t, ch, msgID)
	if _, err := ix.Get(ctx, msgID); err == nil {
		t.Error("removed message still indexed")
	}
	// Enqueueing a file that is gone removes its entry.
	other := f.write(rawHTML)
	x.Enqueue(other)
	waitPut(t, ch, other)
	f.remove(other)
	x.Enqueue(other)
	waitDelete(t, ch, other)
	x.Enqueue("../../etc/passwd") // ignored, logged
}

func TestRunCatchesUpAtStart(t *testing.T) {
	f := newStoreFixture(t)
	ix := newIndex(t)
	a, b := f.write(rawHTML), f.write(rawMultipart)
	// An entry whose file went while no indexer ran.
	stale := corpus()["plain"]
	if err := ix.Put(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	x := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	ch, stop := x.Subscribe()
	defer stop()
	runIndexer(t, x)
	waitPut(t, ch, a)
	waitPut(t, ch, b)
	waitDelete(t, ch, stale.ID)
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	f := newStoreFixture(t)
	ix := newIndex(t)
	x := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	a, b, c := f.write(rawHTML), f.write(rawMultipart), f.write(rawHTML)
	// Files that are not messages are left alone.
	os.WriteFile(filepath.Join(f.dir, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(f.dir, "lowercase00000000000000000.eml"), []byte("x"), 0o644)
	added, removed, err := x.Reconcile(ctx, false)
	if err != nil || added != 3 || removed != 0 {
		t.Fatalf("first Reconcile = %d, %d, %v; want 3, 0", added, removed, err)
	}
	if err := ix.AddTags(ctx, a, "keep"); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.SetRead(ctx, true, a); err != nil {
		t.Fatal(err)
	}
	// Behind the indexer's back: one file deleted, one added, and one
	// file that is not a fakesmtp message.
	f.remove(b)
	d := f.write(rawMultipart)
	broken := idAt(day(11))
	os.WriteFile(filepath.Join(f.dir, broken+store.Ext), []byte("not a message file"), 0o644)
	added, removed, err = x.Reconcile(ctx, false)
	if err != nil || added != 1 || removed != 1 {
		t.Fatalf("second Reconcile = %d, %d, %v; want 1, 1", added, removed, err)
	}
	ids, _ := ix.IDs(ctx)
	if want := []string{a, c, d}; !reflect.DeepEqual(ids, want) {
		t.Errorf("IDs = %v, want %v", ids, want)
	}
	// Nothing to do now.
	if added, removed, err = x.Reconcile(ctx, false); added != 0 || removed != 0 || err != nil {
		t.Errorf("idle Reconcile = %d, %d, %v", added, removed, err)
	}
	// A full reconcile re-reads every file and keeps the reader's marks.
	added, removed, err = x.Reconcile(ctx, true)
	if err != nil || added != 3 || removed != 0 {
		t.Fatalf("full Reconcile = %d, %d, %v; want 3, 0", added, removed, err)
	}
	m, err := ix.Get(ctx, a)
	if err != nil || !m.Read || !reflect.DeepEqual(m.Tags, []string{"keep"}) {
		t.Errorf("after full reconcile: %+v, %v", m, err)
	}
	if p := list(t, ix, "echidna"); p.Total != 2 {
		t.Errorf("echidna after full reconcile: %d, want 2", p.Total)
	}
}

func TestEnqueueNeverBlocks(t *testing.T) {
	f := newStoreFixture(t)
	ix := newIndex(t)
	x := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	for i := 0; i <= queueSize; i++ {
		x.Enqueue(idAt(day(12))) // nothing reads the queue yet
	}
	if !x.dirty.Load() {
		t.Fatal("a full queue did not mark the index dirty")
	}
	// The reconcile that dirty asks for indexes what the queue lost.
	msgID := f.write(rawHTML)
	ch, stop := x.Subscribe()
	defer stop()
	runIndexer(t, x)
	waitPut(t, ch, msgID)
}

// TestFlooded: the indexer pauses (Share) only while messages arrive at
// floodRate or more, measured over windows of floodWindow; a trickle,
// and the catch-up after a flood, run at full speed.
func TestFlooded(t *testing.T) {
	f := newStoreFixture(t)
	x := NewIndexer(newIndex(t), f.dir, slog.New(slog.DiscardHandler))
	t0 := day(1)
	at := func(d time.Duration) bool { return x.flooded(t0.Add(d)) }
	enqueue := func(n int) {
		for i := 0; i < n; i++ {
			x.Enqueue(idAt(t0)) // past the queue's size: counted all the same
		}
	}
	if at(0) {
		t.Error("flooded at the first reading")
	}
	enqueue(floodRate / 2)
	if at(500 * time.Millisecond) {
		t.Error("flooded before a window is complete")
	}
	if at(time.Second) {
		t.Error("flooded at half the flood rate")
	}
	x.Removed(idAt(t0)) // deletions (retention) are no intake
	enqueue(floodRate * 3 / 2)
	if !at(2 * time.Second) {
		t.Error("not flooded at 1.5 times the flood rate")
	}
	if !at(2500 * time.Millisecond) {
		t.Error("the flood forgotten within its window")
	}
	enqueue(floodRate * 5)
	if at(13 * time.Second) {
		t.Error("flooded after 10 s of little: the rate is over the whole idle spell")
	}
}

// TestReconcileLetsLiveMailIn: a message the sessions queue while a long
// reconcile runs is indexed between the reconcile's batches, not after
// its last one.
func TestReconcileLetsLiveMailIn(t *testing.T) {
	f := newStoreFixture(t)
	ix := newIndex(t)
	x := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	for range 2*batchSize + 10 {
		f.write(rawHTML)
	}
	live := f.write(rawMultipart) // the newest: the reconcile's last batch
	x.Enqueue(live)
	var order []string
	x.OnIndexed = func(m Message) { order = append(order, m.ID) }
	added, _, err := x.Reconcile(context.Background(), false)
	if err != nil || added != 2*batchSize+11 {
		t.Fatalf("Reconcile = %d, %v", added, err)
	}
	if i := slices.Index(order, live); i < 0 || i > batchSize {
		t.Errorf("the queued message was indexed in position %d of %d, want right after the first batch", i, len(order))
	}
	if len(x.queue) != 0 {
		t.Errorf("%d changes left in the queue", len(x.queue))
	}
}

// `fakesmtp reindex` runs beside a server whose indexer it cannot hold
// back. A message that the server stores and indexes while the reconcile
// reads the index and the folder keeps its entry: it used to look like
// an entry whose file was gone, and was removed.
func TestReconcileKeepsMailArrivingMeanwhile(t *testing.T) {
	ctx := context.Background()
	f := newStoreFixture(t)
	ix := newIndex(t)
	old := f.write(rawHTML)
	server := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	reindex := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	var arrived string
	reindex.betweenReads = func() {
		arrived = f.write(rawMultipart)
		if err := server.apply(ctx, []op{{id: arrived}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := reindex.Reconcile(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, i := range []string{old, arrived} {
		if _, err := ix.Get(ctx, i); err != nil {
			t.Errorf("entry %s after the reconcile: %v", i, err)
		}
	}
}

// An entry is removed only once its file is seen gone: a folder listing
// taken while a compaction swaps a file's plain and compact forms may
// miss both, and the message is still there.
func TestReconcileKeepsEntryListingMissed(t *testing.T) {
	ctx := context.Background()
	f := newStoreFixture(t)
	ix := newIndex(t)
	kept, removed := f.write(rawHTML), f.write(rawMultipart)
	x := NewIndexer(ix, f.dir, slog.New(slog.DiscardHandler))
	if _, _, err := x.Reconcile(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.dir, removed+store.Ext)); err != nil {
		t.Fatal(err)
	}
	x.list = func(string) ([]string, error) { return nil, nil } // misses every file
	if _, _, err := x.Reconcile(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Get(ctx, kept); err != nil {
		t.Errorf("entry of a file the listing missed: %v", err)
	}
	if _, err := ix.Get(ctx, removed); err == nil {
		t.Error("entry of a removed file kept")
	}
}
