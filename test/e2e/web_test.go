package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/id"
)

var webRE = regexp.MustCompile(`(?m)^fakesmtp: web UI and API on (http://\S+)/$`)

// webURL returns the base URL of the server's web side.
func webURL(t *testing.T, s *server) string {
	t.Helper()
	m, err := s.Stdout.waitFor(webRE, s.exited, startTimeout)
	if err != nil {
		t.Fatalf("no web UI line: %v\n%s", err, s.Stdout)
	}
	return m[1]
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

type apiList struct {
	Total    int
	Messages []struct {
		ID, Subject string
		Attachments int
	}
}

// swaks delivers; the message shows up in the API (indexed after the
// 250), its raw bytes are what swaks sent, its session has a
// transcript, and /metrics counts it.
func TestWebAPIWithSwaks(t *testing.T) {
	t.Parallel()
	srv := startDev(t)
	base := webURL(t, srv)
	att := writeFile(t, t.TempDir(), "report.bin", []byte("\x00\x01binary\xff"))
	tr := swaks(t, "--server", srv.Addr, "--from", "alice@example.org", "--to", "bob@example.net",
		"--header", "Subject: through the API", "--attach", "@"+att)
	msgID := queuedID(t, tr)
	var l apiList
	eventually(t, "the message in the index", 10*time.Second, func() bool {
		getJSON(t, base+"/api/v1/messages?q="+"subject:api", &l)
		return l.Total == 1
	})
	if l.Messages[0].ID != msgID || l.Messages[0].Attachments != 1 {
		t.Errorf("listed %+v", l.Messages[0])
	}
	resp, err := http.Get(base + "/api/v1/messages/" + msgID + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := swaksData(t, tr); !bytes.Equal(raw, want) {
		t.Errorf("raw differs from what swaks sent")
	}
	var m struct {
		Session string
		Parts   []struct {
			ID, Filename string
		}
	}
	getJSON(t, base+"/api/v1/messages/"+msgID, &m)
	var sess struct{ Transcript string }
	getJSON(t, base+"/api/v1/sessions/"+m.Session, &sess)
	if !strings.Contains(sess.Transcript, "C: MAIL FROM:<alice@example.org>") || !strings.Contains(sess.Transcript, "queued as "+msgID) {
		t.Errorf("transcript:\n%s", sess.Transcript)
	}
	for _, p := range m.Parts {
		if p.Filename != "report.bin" {
			continue
		}
		resp, _ := http.Get(base + "/api/v1/messages/" + msgID + "/parts/" + p.ID + "?download=1")
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(data, []byte("\x00\x01binary\xff")) {
			t.Errorf("attachment bytes %q", data)
		}
	}
	resp, _ = http.Get(base + "/metrics")
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"fakesmtp_messages_accepted_total 1", "fakesmtp_sessions_total 1", "fakesmtp_store_commit_seconds_count 1"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// The files are the truth: a file added behind fakesmtp's back and one
// removed are picked up by "fakesmtp reindex" and at the next start; a
// retention bound removes the oldest from the index too.
func TestReindexAndRetention(t *testing.T) {
	t.Parallel()
	storePath := filepath.Join(t.TempDir(), "store")
	a := start(t, serveIn(storePath))
	var ids []string
	for _, s := range []string{"one", "two"} {
		ids = append(ids, queuedID(t, swaks(t, "--server", a.Addr, "--from", "a@example.org", "--to", "b@example.net", "--header", "Subject: "+s)))
	}
	a.stop(t)
	// Behind its back: a copy under a new ID, and the first one gone.
	data, err := os.ReadFile(filepath.Join(storePath, ids[1]+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	newID := id.NewGenerator(nil).New()
	data = bytes.Replace(data, []byte("X-FakeSMTP-ID: "+ids[1]), []byte("X-FakeSMTP-ID: "+newID), 1)
	data = bytes.Replace(data, []byte("Subject: two"), []byte("Subject: three"), 1)
	writeFile(t, storePath, newID+".eml", data)
	os.Remove(filepath.Join(storePath, ids[0]+".eml"))
	r := runCLI(t, nil, "reindex", "--store-path", storePath)
	if r.Code != 0 || !strings.Contains(r.Stdout, "1 removed") {
		t.Fatalf("reindex: %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	b := start(t, serveIn(storePath, "--max-store-messages", "1"))
	base := webURL(t, b)
	var l apiList
	eventually(t, "retention reflected in the index", 10*time.Second, func() bool {
		getJSON(t, base+"/api/v1/messages", &l)
		return l.Total == 1
	})
	if l.Messages[0].ID != newID || l.Messages[0].Subject != "three" {
		t.Errorf("left in the index: %+v, want the newest file %s", l.Messages, newID)
	}
}
