package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"fakesmtp/internal/id"
	"fakesmtp/internal/index"
	"fakesmtp/internal/mimeview"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/store"
	"fakesmtp/internal/web"
)

// corpusDir holds real-world style messages (multipart, attachments,
// UTF-8, encoded words, broken MIME), shared with the MIME parser's tests.
const corpusDir = "../mimeview/testdata"

type fixture struct {
	t     *testing.T
	st    *store.Store
	ix    *index.Index
	x     *index.Indexer
	srv   *web.Server
	ts    *httptest.Server
	ids   map[string]string // corpus file name → message ID
	raw   map[string][]byte // message ID → bytes as received
	idgen *id.Generator
}

// newFixture stores every corpus message through the real store, indexes
// them into a real SQLite file, and serves the API.
func newFixture(t *testing.T, mod func(*web.Deps)) *fixture {
	t.Helper()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	st, err := store.New(store.Config{Path: dir}, logger)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(context.Background(), filepath.Join(dir, "index.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	f := &fixture{t: t, st: st, ix: ix, ids: map[string]string{}, raw: map[string][]byte{}, idgen: id.NewGenerator(nil)}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	if len(files) < 10 {
		t.Fatalf("corpus has %d files", len(files))
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f.ids[filepath.Base(p)] = f.put(data, "sender@example.org", "rcpt@example.net")
	}
	f.x = index.NewIndexer(ix, dir, logger)
	if added, _, err := f.x.Reconcile(context.Background(), false); err != nil || added != len(files) {
		t.Fatalf("reconcile added %d of %d: %v", added, len(files), err)
	}
	deps := web.Deps{Index: ix, Indexer: f.x, Store: st, Logger: logger}
	if mod != nil {
		mod(&deps)
	}
	f.srv = web.New(deps)
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

// put stores one message and returns its ID.
func (f *fixture) put(data []byte, from string, rcpts ...string) string {
	f.t.Helper()
	env := &store.Envelope{ID: f.idgen.New(), Session: f.idgen.New(), ClientIP: netip.MustParseAddr("192.0.2.44"), ClientPort: 40000,
		Helo: "client.example", MailFrom: from, RcptTo: rcpts, ReceivedAt: time.Now(), Hostname: "mx.test", Protocol: "ESMTP"}
	if err := f.st.Put(context.Background(), env, bytes.NewReader(data)); err != nil {
		f.t.Fatal(err)
	}
	f.raw[env.ID] = data
	return env.ID
}

// do makes a request and returns the response and its body.
func (f *fixture) do(method, path string, body any, hdr ...string) (*http.Response, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.ts.URL+path, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func (f *fixture) getJSON(path string, v any) {
	f.t.Helper()
	resp, data := f.do("GET", path, nil)
	if resp.StatusCode != 200 {
		f.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		f.t.Fatalf("GET %s: %v\n%s", path, err, data)
	}
}

type list struct {
	Total, Unread int
	Messages      []web.Summary
}

func (f *fixture) search(q string) []string {
	f.t.Helper()
	var l list
	f.getJSON("/api/v1/messages?limit=200&q="+url.QueryEscape(q), &l)
	var names []string
	for _, m := range l.Messages {
		for name, id := range f.ids {
			if id == m.ID {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}

func TestListAndPaging(t *testing.T) {
	f := newFixture(t, nil)
	var all list
	f.getJSON("/api/v1/messages?limit=200", &all)
	if all.Total != len(f.ids) || all.Unread != len(f.ids) || len(all.Messages) != len(f.ids) {
		t.Fatalf("total %d unread %d page %d, want %d", all.Total, all.Unread, len(all.Messages), len(f.ids))
	}
	for i := 1; i < len(all.Messages); i++ {
		if all.Messages[i-1].ID < all.Messages[i].ID {
			t.Fatal("not newest first")
		}
	}
	var p2 list
	f.getJSON("/api/v1/messages?limit=3&offset=3", &p2)
	if len(p2.Messages) != 3 || p2.Messages[0].ID != all.Messages[3].ID {
		t.Errorf("page 2 = %v", p2.Messages)
	}
	if resp, _ := f.do("GET", "/api/v1/messages?q="+url.QueryEscape(`subject:"unclosed`), nil); resp.StatusCode != 400 {
		t.Errorf("bad query: %d, want 400", resp.StatusCode)
	}
	if resp, _ := f.do("GET", "/api/v1/messages?limit=-1", nil); resp.StatusCode != 400 {
		t.Errorf("negative limit: %d, want 400", resp.StatusCode)
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t, nil)
	for q, want := range map[string][]string{
		`subject:logo`:                     {"related-cid.eml"},
		`has:attachment subject:documents`: {"mixed-attachments.eml", "nested.eml"},
		`subject:documents -subject:re`:    {"mixed-attachments.eml"},
		`from:marketing@brand.example`:     {"related-cid.eml"},
		`"weekly deals"`:                   {"alternative.eml"},
		`subject:logo -subject:logo`:       nil,
	} {
		if got := f.search(q); !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", q, got, want)
		}
	}
	if n := len(f.search("-has:attachment")) + len(f.search("has:attachment")); n != len(f.ids) {
		t.Errorf("a term and its negation cover %d of %d", n, len(f.ids))
	}
}

func TestGetMessageParsed(t *testing.T) {
	f := newFixture(t, nil)
	var m web.Message
	f.getJSON("/api/v1/messages/"+f.ids["mixed-attachments.eml"], &m)
	raw := f.raw[m.ID]
	v := mimeview.Parse(raw, mimeview.Options{})
	if m.Subject != v.Subject || m.Envelope.MailFrom != "sender@example.org" || m.Envelope.ClientIP != "192.0.2.44" || m.Envelope.Helo != "client.example" {
		t.Errorf("message %+v", m.Summary)
	}
	if len(m.Parts) != len(v.Parts) || m.Attachments != v.Attachments || m.Attachments < 3 {
		t.Fatalf("parts %d (want %d), attachments %d", len(m.Parts), len(v.Parts), m.Attachments)
	}
	var names []string
	for _, p := range m.Parts {
		names = append(names, p.Filename)
	}
	if !slices.Contains(names, "résumé final.pdf") {
		t.Errorf("RFC 2231 filename not decoded: %q", names)
	}
	// Each attachment downloads as the bytes the parser decodes.
	for _, p := range m.Parts {
		resp, data := f.do("GET", "/api/v1/messages/"+m.ID+"/parts/"+p.ID+"?download=1", nil)
		_, want, err := mimeview.PartContent(raw, p.ID, mimeview.Options{})
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(data, want) {
			t.Errorf("part %s: %d, %d bytes, want %d (%v)", p.ID, resp.StatusCode, len(data), len(want), err)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("part %s: disposition %q", p.ID, resp.Header.Get("Content-Disposition"))
		}
	}
	var enc web.Message
	f.getJSON("/api/v1/messages/"+f.ids["latin1-qp.eml"], &enc)
	if strings.Contains(enc.Subject, "=?") {
		t.Errorf("encoded word left in subject %q", enc.Subject)
	}
	if resp, _ := f.do("GET", "/api/v1/messages/"+f.idgen.New(), nil); resp.StatusCode != 404 {
		t.Errorf("unknown ID: %d", resp.StatusCode)
	}
	var broken web.Message
	f.getJSON("/api/v1/messages/"+f.ids["broken-missing-close.eml"], &broken)
	if len(broken.Problems) == 0 {
		t.Error("broken MIME reported no problem")
	}
}

func TestRawIsExact(t *testing.T) {
	f := newFixture(t, nil)
	for name, msgID := range f.ids {
		resp, data := f.do("GET", "/api/v1/messages/"+msgID+"/raw", nil)
		if resp.StatusCode != 200 || !bytes.Equal(data, f.raw[msgID]) {
			t.Errorf("%s: raw differs from what was received (%d)", name, resp.StatusCode)
		}
	}
	msgID := f.ids["plain-ascii.eml"]
	resp, data := f.do("GET", "/api/v1/messages/"+msgID+"/raw?headers=1&download=1", nil)
	p, _ := f.st.FilePath(msgID)
	file, _ := os.ReadFile(p)
	if !bytes.Equal(data, file) || !bytes.HasPrefix(data, []byte("X-FakeSMTP-ID: "+msgID)) {
		t.Error("raw?headers=1 is not the stored file")
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, msgID+".eml") {
		t.Errorf("download disposition %q", cd)
	}
}

func TestHTMLIsSandboxed(t *testing.T) {
	f := newFixture(t, nil)
	msgID := f.put([]byte("Subject: x\r\nContent-Type: text/html\r\n\r\n<p>hi</p><script>alert(1)</script><img src=\"cid:logo@x\"><img src=\"http://tracker.example/p.gif\">\r\n"), "a@example.org", "b@example.net")
	resp, data := f.do("GET", "/api/v1/messages/"+msgID+"/html", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "sandbox", "img-src 'self' data:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") {
		t.Errorf("CSP allows scripts: %q", csp)
	}
	if !strings.Contains(string(data), `src="/api/v1/messages/`+msgID+`/cid/logo@x"`) {
		t.Errorf("cid: not rewritten:\n%s", data)
	}
	resp, _ = f.do("GET", "/api/v1/messages/"+msgID+"/html?images=1", nil)
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "img-src * data:") {
		t.Error("images=1 does not allow remote images")
	}
	// The inline image of the corpus resolves through its Content-ID.
	rel := f.ids["related-cid.eml"]
	resp, png := f.do("GET", "/api/v1/messages/"+rel+"/cid/"+url.PathEscape("logo.png@01DA1234.5678ABCD"), nil)
	if resp.StatusCode != 200 || !bytes.HasPrefix(png, []byte("\x89PNG")) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("cid part: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The UI itself has its own strict policy.
	resp, _ = f.do("GET", "/", nil)
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("UI CSP %q", resp.Header.Get("Content-Security-Policy"))
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t, nil)
	one := f.ids["plain-ascii.eml"]
	if resp, _ := f.do("DELETE", "/api/v1/messages/"+one, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if p, _ := f.st.FilePath(one); fileExists(p) {
		t.Error("file still there after delete")
	}
	if resp, _ := f.do("GET", "/api/v1/messages/"+one, nil); resp.StatusCode != 404 {
		t.Errorf("get after delete: %d", resp.StatusCode)
	}
	resp, data := f.do("DELETE", "/api/v1/messages?q="+url.QueryEscape("subject:logo"), nil)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"deleted":1`) {
		t.Errorf("delete by search: %d %s", resp.StatusCode, data)
	}
	if resp, _ := f.do("DELETE", "/api/v1/messages", nil); resp.StatusCode != 400 {
		t.Errorf("delete without q or all: %d, want 400", resp.StatusCode)
	}
	resp, _ = f.do("DELETE", "/api/v1/messages?all=true", nil)
	var l list
	f.getJSON("/api/v1/messages", &l)
	files, _ := f.st.List()
	if resp.StatusCode != 200 || l.Total != 0 || len(files) != 0 {
		t.Errorf("delete all: %d, %d indexed, %d files left", resp.StatusCode, l.Total, len(files))
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestReadAndTags(t *testing.T) {
	f := newFixture(t, nil)
	a, b := f.ids["plain-ascii.eml"], f.ids["nested.eml"]
	if resp, _ := f.do("PUT", "/api/v1/messages/"+a+"/read", map[string]bool{"read": true}); resp.StatusCode != 204 {
		t.Fatalf("mark read: %d", resp.StatusCode)
	}
	// a is read already and the third ID is in no index: one changes.
	gone := id.NewGenerator(nil).New()
	if resp, d := f.do("POST", "/api/v1/messages/read", map[string]any{"ids": []string{a, b, gone}, "read": true}); resp.StatusCode != 200 || !strings.Contains(string(d), `"updated":1`) {
		t.Fatalf("mark many: %d %s, want 200 and updated 1", resp.StatusCode, d)
	}
	var l list
	f.getJSON("/api/v1/messages?q=is:read", &l)
	if l.Total != 2 {
		t.Errorf("is:read matches %d, want 2", l.Total)
	}
	_, data := f.do("POST", "/api/v1/messages/"+a+"/tags", map[string][]string{"add": {"invoice", "todo"}})
	if !strings.Contains(string(data), `"invoice"`) {
		t.Errorf("tags: %s", data)
	}
	f.do("POST", "/api/v1/messages/"+a+"/tags", map[string][]string{"remove": {"todo"}})
	if got := f.search("tag:invoice"); !slices.Equal(got, []string{"plain-ascii.eml"}) || len(f.search("tag:todo")) != 0 {
		t.Errorf("tag search: %v", got)
	}
	if resp, _ := f.do("PUT", "/api/v1/messages/"+a+"/read", map[string]any{"read": true, "bogus": 1}); resp.StatusCode != 400 {
		t.Errorf("unknown field: %d, want 400", resp.StatusCode)
	}
}

func TestCrossOriginWritesRefused(t *testing.T) {
	f := newFixture(t, nil)
	a := f.ids["plain-ascii.eml"]
	resp, _ := f.do("DELETE", "/api/v1/messages/"+a, nil, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != 403 {
		t.Errorf("cross-origin delete: %d, want 403", resp.StatusCode)
	}
	if p, _ := f.st.FilePath(a); !fileExists(p) {
		t.Error("cross-origin delete removed the file")
	}
	// Reads from anywhere are fine (no cookies are involved).
	if resp, _ := f.do("GET", "/api/v1/messages", nil, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != 200 {
		t.Errorf("cross-origin read: %d", resp.StatusCode)
	}
	if resp, _ := f.do("DELETE", "/api/v1/messages/"+a, nil, "Sec-Fetch-Site", "same-origin"); resp.StatusCode != 204 {
		t.Errorf("same-origin delete: %d", resp.StatusCode)
	}
}

func TestBasicAuth(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	users := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(users, []byte("admin:"+string(hash)+"\n"), 0o600)
	u, err := sasl.LoadUsers(users)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(d *web.Deps) { d.Users = u })
	if resp, _ := f.do("GET", "/api/v1/messages", nil); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", f.ts.URL+"/api/v1/messages", nil)
	req.SetBasicAuth("admin", "pw")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("with credentials: %v %v", resp.StatusCode, err)
	}
	req.SetBasicAuth("admin", "wrong")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	if resp, _ := f.do("GET", "/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("healthz needs auth: %d", resp.StatusCode)
	}
}

func TestSessionsAndStats(t *testing.T) {
	f := newFixture(t, nil)
	now := time.Now().UTC().Truncate(time.Second)
	for i, s := range []index.Session{
		{ID: f.idgen.New(), Start: now.Add(-2 * time.Hour), End: now.Add(-2 * time.Hour), ClientIP: "192.0.2.1", Helo: "bot", Reason: "early talk", EarlyTalk: true},
		{ID: f.idgen.New(), Start: now.Add(-30 * time.Minute), End: now.Add(-30 * time.Minute), ClientIP: "192.0.2.1", Helo: "bot", Reason: "listed: zen.example", DNSLists: []string{"zen.example"}},
		{ID: f.idgen.New(), Start: now.Add(-10 * time.Minute), End: now.Add(-10 * time.Minute), ClientIP: "198.51.100.7", Helo: "mx.good", Reason: "quit", Accepted: 1, Transcript: "C: EHLO mx.good\nS: 250 ok"},
	} {
		if err := f.ix.AddSession(context.Background(), s); err != nil {
			t.Fatal(i, err)
		}
	}
	var sl struct {
		Total    int
		Sessions []web.Session
	}
	f.getJSON("/api/v1/sessions?ip=192.0.2.1", &sl)
	if sl.Total != 2 || len(sl.Sessions) != 2 || sl.Sessions[0].Reason != "listed: zen.example" {
		t.Errorf("sessions by ip: %+v", sl)
	}
	f.getJSON("/api/v1/sessions?helo=mx.good", &sl)
	var one web.Session
	f.getJSON("/api/v1/sessions/"+sl.Sessions[0].ID, &one)
	if !strings.Contains(one.Transcript, "C: EHLO mx.good") {
		t.Errorf("transcript %q", one.Transcript)
	}
	var st struct {
		Buckets []web.Bucket
		Top     map[string][]web.TopEntry
		Now     map[string]int
	}
	f.getJSON("/api/v1/stats?step=1h&from="+now.Add(-3*time.Hour).Format(time.RFC3339)+"&to="+now.Add(time.Minute).Format(time.RFC3339), &st)
	sessions, early, hits := 0, 0, 0
	for _, b := range st.Buckets {
		sessions += b.Sessions
		early += b.EarlyTalk
		hits += b.ListHits["zen.example"]
	}
	if sessions != 3 || early != 1 || hits != 1 {
		t.Errorf("stats: %d sessions, %d early talk, %d list hits", sessions, early, hits)
	}
	if len(st.Top["ip"]) == 0 || st.Top["ip"][0].Key != "192.0.2.1" || st.Top["ip"][0].Count != 2 {
		t.Errorf("top ip %+v", st.Top["ip"])
	}
	if st.Now["messages"] != len(f.ids) {
		t.Errorf("now %+v", st.Now)
	}
	for _, q := range []string{
		"step=1s&from=2020-01-01T00:00:00Z", // too many buckets
		// Longer than a Duration holds: once a panic, the connection
		// dropped without a reply.
		"from=1700-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&step=8760h",
		"from=1600-01-01T00:00:00Z&to=1601-01-01T00:00:00Z&step=24h",
	} {
		if resp, body := f.do("GET", "/api/v1/stats?"+q, nil); resp.StatusCode != 400 {
			t.Errorf("stats?%s: %d %s", q, resp.StatusCode, body)
		}
	}
}

// The event stream announces a message once it is indexed, without the
// client asking again.
func TestEventStream(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.x.Run(ctx)
	req, _ := http.NewRequestWithContext(ctx, "GET", f.ts.URL+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan [2]string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{name, v}
			}
		}
		close(events)
	}()
	wait := func(want string) string {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatal("stream ended")
				}
				if e[0] == want {
					return e[1]
				}
			case <-timeout:
				t.Fatalf("no %s event", want)
			}
		}
	}
	wait("stats")
	msgID := f.put([]byte("Subject: live one\r\n\r\nbody\r\n"), "a@example.org", "b@example.net")
	f.x.Enqueue(msgID)
	data := wait("message")
	var s web.Summary
	if err := json.Unmarshal([]byte(data), &s); err != nil || s.ID != msgID || s.Subject != "live one" {
		t.Errorf("message event %s (%v)", data, err)
	}
	f.do("DELETE", "/api/v1/messages/"+msgID, nil)
	if d := wait("deleted"); !strings.Contains(d, msgID) {
		t.Errorf("deleted event %s", d)
	}
	f.srv.SessionEnded(index.Session{ID: "01SESSIONX", ClientIP: "192.0.2.9", Reason: "quit", Transcript: "secret-ish"})
	if d := wait("session"); !strings.Contains(d, "192.0.2.9") || strings.Contains(d, "secret-ish") {
		t.Errorf("session event %s", d)
	}
}

// Every route the server answers is described in openapi.json.
func TestOpenAPIDescribesRoutes(t *testing.T) {
	f := newFixture(t, func(d *web.Deps) { d.Metrics = http.NotFoundHandler() })
	var doc struct {
		OpenAPI string
		Paths   map[string]map[string]any
	}
	f.getJSON("/api/v1/openapi.json", &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	src, _ := os.ReadFile("messages.go")
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		var method, path string
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "mux.HandleFunc(%q", new(string)); err != nil {
			continue
		}
		pat := strings.Split(strings.TrimSpace(line), `"`)[1]
		method, path, _ = strings.Cut(pat, " ")
		n++
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", method, path)
		}
	}
	if n < 15 {
		t.Errorf("found %d routes in messages.go", n)
	}
}

func TestHealthAndReady(t *testing.T) {
	var ready atomic.Bool
	f := newFixture(t, func(d *web.Deps) { d.Ready = ready.Load })
	if resp, _ := f.do("GET", "/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	if resp, _ := f.do("GET", "/readyz", nil); resp.StatusCode != 503 {
		t.Errorf("readyz before ready: %d", resp.StatusCode)
	}
	ready.Store(true)
	if resp, _ := f.do("GET", "/readyz", nil); resp.StatusCode != 200 {
		t.Errorf("readyz when ready: %d", resp.StatusCode)
	}
}

// TestIndexOff: with index = false the web side still starts (the UI and
// the health checks), and every API call says why it cannot answer.
func TestIndexOff(t *testing.T) {
	srv := web.New(web.Deps{Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/messages", http.StatusServiceUnavailable},
		{"POST", "/api/v1/messages/read", http.StatusServiceUnavailable},
		{"DELETE", "/api/v1/messages", http.StatusServiceUnavailable},
		{"GET", "/", http.StatusOK},
		{"GET", "/healthz", http.StatusOK},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		if c.want == http.StatusServiceUnavailable && !strings.Contains(string(body), "index is off") {
			t.Errorf("%s %s body %q does not say the index is off", c.method, c.path, body)
		}
	}
}

// A part is shown inline only when its type runs nothing: text/xsl and
// text/rdf, which browsers render as XML documents (with script), go out
// as downloads under a sandbox policy like HTML and SVG; a PNG is
// inline, but sandboxed too; a PDF is inline without the policy its
// viewer would refuse.
func TestPartsInlineOnlyWhenInert(t *testing.T) {
	f := newFixture(t, nil)
	types := []string{"text/xsl", "text/rdf", "image/svg+xml", "text/html", "application/xhtml+xml",
		"text/javascript", "application/octet-stream", "image/png", "text/plain", "application/pdf"}
	var b strings.Builder
	b.WriteString("Subject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n")
	for _, ct := range types {
		fmt.Fprintf(&b, "--B\r\nContent-Type: %s\r\n\r\n<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script>\r\n", ct)
	}
	b.WriteString("--B--\r\n")
	msgID := f.put([]byte(b.String()), "a@example.org", "b@example.net")
	v := mimeview.Parse([]byte(b.String()), mimeview.Options{})
	seen := 0
	for _, p := range v.Parts {
		if !slices.Contains(types, p.ContentType) {
			continue
		}
		seen++
		resp, _ := f.do("GET", "/api/v1/messages/"+msgID+"/parts/"+p.ID, nil)
		disp, csp := resp.Header.Get("Content-Disposition"), resp.Header.Get("Content-Security-Policy")
		inline := strings.HasPrefix(disp, "inline")
		switch p.ContentType {
		case "image/png", "text/plain":
			if !inline || !strings.Contains(csp, "sandbox") {
				t.Errorf("%s: %q, CSP %q; want inline and sandboxed", p.ContentType, disp, csp)
			}
		case "application/pdf":
			if !inline || csp != "" {
				t.Errorf("%s: %q, CSP %q; want inline, no policy", p.ContentType, disp, csp)
			}
		default:
			if inline || !strings.Contains(csp, "sandbox") {
				t.Errorf("%s: %q, CSP %q; want a sandboxed download", p.ContentType, disp, csp)
			}
		}
	}
	if seen != len(types) {
		t.Fatalf("the message has %d of the %d parts", seen, len(types))
	}
}

// A message deleted through the API while the indexer is reading its
// file does not come back: the indexer's put would commit after the
// delete, leaving an entry without a file (listed, counted, 404 when
// opened). The delete is queued behind the indexer's work too. Without
// that, runs left 1 to 5 of these 30 deleted messages in the index.
func TestDeleteWhileIndexingLeavesNoGhost(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.x.Run(ctx)
	big := "Subject: big\r\n\r\n" + strings.Repeat("lorem ipsum dolor sit amet\r\n", 20000)
	var deleted []string
	for i := range 30 {
		msgID := f.put([]byte(big), "a@example.org", "b@example.net")
		f.x.Enqueue(msgID)
		time.Sleep(time.Duration(i%10) * time.Millisecond) // land anywhere in the indexer's read
		if resp, _ := f.do("DELETE", "/api/v1/messages/"+msgID, nil); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		deleted = append(deleted, msgID)
	}
	// The queue is first in, first out: once this one is indexed, what
	// was queued before it has been applied.
	last := f.put([]byte("Subject: last\r\n\r\nx\r\n"), "a@example.org", "b@example.net")
	f.x.Enqueue(last)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := f.ix.Get(context.Background(), last); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the last message was never indexed")
		}
	}
	for _, msgID := range deleted {
		if _, err := f.ix.Get(context.Background(), msgID); err == nil {
			t.Errorf("deleted message %s is back in the index without its file", msgID)
		}
	}
}

// DNS rebinding: a page on evil.example whose name now points at
// 127.0.0.1 is same-origin with itself, so its requests pass the
// cross-origin check. The Host header gives it away: only IP literals,
// localhost and the configured names are answered.
func TestHostCheck(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		host    string
		path    string
		want    int
	}{
		{nil, "127.0.0.1:8025", "/api/v1/messages", 200},
		{nil, "[::1]:8025", "/api/v1/messages", 200},
		{nil, "localhost:8025", "/api/v1/messages", 200},
		{nil, "mail.localhost", "/", 200},
		{nil, "evil.example:8025", "/api/v1/messages", 403},
		{nil, "evil.example", "/", 403},
		{nil, "127.0.0.1.evil.example", "/", 403},
		{nil, "fakesmtp:8025", "/api/v1/messages", 200},      // a docker compose service
		{nil, "fakesmtp.mail.svc", "/api/v1/messages", 200},  // Kubernetes
		{nil, "mail.internal", "/api/v1/messages", 200},      // private-use TLD
		{nil, "box.home.arpa", "/", 200},                     // RFC 8375
		{nil, "evil.example.com.", "/api/v1/messages", 403},  // trailing dot
		{nil, "local.evil.example", "/api/v1/messages", 403}, // private label, public TLD
		{nil, "evil.example", "/healthz", 200},
		{[]string{"mx.example.org"}, "MX.Example.ORG.:8025", "/api/v1/messages", 200},
		{[]string{"mx.example.org"}, "other.example.org", "/api/v1/messages", 403},
		{[]string{"*"}, "anything.example", "/api/v1/messages", 200},
	} {
		f := newFixture(t, func(d *web.Deps) { d.AllowedHosts = tc.allowed })
		req, _ := http.NewRequest("GET", f.ts.URL+tc.path, nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("allowed %v, Host %q, %s: %d, want %d", tc.allowed, tc.host, tc.path, resp.StatusCode, tc.want)
		}
	}
	// HTTP/1.0 without Host: no browser sends that, so no rebinding.
	f0 := newFixture(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f0.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/messages HTTP/1.0\r\n\r\n")
	if status, _ := bufio.NewReader(conn).ReadString('\n'); !strings.Contains(status, " 200 ") {
		t.Errorf("HTTP/1.0 without Host: %q", status)
	}
	// The attack the check is for: a rebound page emptying the inbox.
	f := newFixture(t, nil)
	req, _ := http.NewRequest("DELETE", f.ts.URL+"/api/v1/messages?all=true", nil)
	req.Host = "evil.example:8025"
	req.Header.Set("Origin", "http://evil.example:8025")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := len(f.search("")); resp.StatusCode != 403 || n != len(f.ids) {
		t.Errorf("rebound DELETE: %d, %d of %d messages left", resp.StatusCode, n, len(f.ids))
	}
}
