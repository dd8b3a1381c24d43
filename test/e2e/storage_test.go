package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Storage economy: three copies of one spam run (one message, three
// envelope recipients, as a bot sends it), received plainly, are
// deduplicated and compressed at the next start (compact_after 0s): one
// stored body, three envelopes, and every reader (the API's raw view,
// export, reindex) still gets the exact bytes.
func TestDedupAndCompress(t *testing.T) {
	t.Parallel()
	storePath := filepath.Join(t.TempDir(), "store")
	a := start(t, serveIn(storePath))
	body := strings.Repeat("Buy cheap watches now! ", 200)
	var ids []string
	var sent [][]byte
	for _, to := range []string{"x@example.net", "y@example.net", "z@example.net"} {
		tr := swaks(t, "--server", a.Addr, "--from", "spam@example.org", "--to", to, "--header", "Subject: same spam", "--header", "To: undisclosed-recipients:;",
			"--header", "Message-Id: <same@spam.example>", "--header", "Date: Sat, 28 Nov 2026 10:00:00 +0000", "--body", body)
		ids = append(ids, queuedID(t, tr))
		sent = append(sent, swaksData(t, tr))
	}
	a.stop(t)
	var before int64
	for _, id := range ids {
		fi, _ := os.Stat(filepath.Join(storePath, id+".eml"))
		before += fi.Size()
	}

	b := start(t, serveIn(storePath, "--dedup", "--compress", "zstd", "--compact-after", "0s"))
	base := webURL(t, b)
	eventually(t, "the compacted store", 10*time.Second, func() bool {
		refs, _ := filepath.Glob(filepath.Join(storePath, "*.ref"))
		plain, _ := filepath.Glob(filepath.Join(storePath, "*.eml"))
		return len(refs) == 3 && len(plain) == 0
	})
	blobs, _ := filepath.Glob(filepath.Join(storePath, ".bodies", "*", "*.zst"))
	if len(blobs) != 1 {
		t.Fatalf("%d stored bodies, want 1 (dedup)", len(blobs))
	}
	var after int64
	for _, p := range append(blobs, must(filepath.Glob(filepath.Join(storePath, "*.ref")))...) {
		fi, _ := os.Stat(p)
		after += fi.Size()
	}
	if after*3 > before {
		t.Errorf("store went from %d to %d bytes, want at least 3× smaller", before, after)
	}
	for i, id := range ids {
		resp, err := http.Get(base + "/api/v1/messages/" + id + "/raw")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, sent[i]) {
			t.Errorf("%s: raw after compaction differs from what swaks sent", id)
		}
	}
	mbox := filepath.Join(t.TempDir(), "out.mbox")
	if r := runCLI(t, nil, "export", "--format", "mbox", "--to", mbox, "--store-path", storePath); r.Code != 0 {
		t.Fatalf("export: %s", r.Stderr)
	}
	if data, _ := os.ReadFile(mbox); bytes.Count(data, []byte("Subject: same spam")) != 3 {
		t.Error("export does not read compacted messages")
	}
	b.stop(t)
	if r := runCLI(t, nil, "reindex", "--store-path", storePath); r.Code != 0 || !strings.Contains(r.Stdout, "3 indexed") {
		t.Errorf("reindex of compacted files: %s%s", r.Stdout, r.Stderr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
