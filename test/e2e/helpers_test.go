package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"fakesmtp/internal/smtptest"
	"fakesmtp/internal/store"
)

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago; start retries when it is taken before fakesmtp binds it.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tool returns the path of an external program the tests need, failing
// (not skipping) with the way to install it.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH: install %s (%s)", name, name, install)
	}
	return p
}

// runTool runs an external program and returns its combined output; it
// fails the test unless the program exits 0.
func runTool(t *testing.T, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = childEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// swaks runs swaks and returns its transcript; it fails the test unless
// swaks reports success.
func swaks(t *testing.T, args ...string) string {
	t.Helper()
	return runTool(t, tool(t, "swaks", "apt-get install swaks"), args...)
}

// queuedRE finds the message ID in the 250 reply to the end of data.
// swaks marks replies read over TLS with "<~" instead of "<-".
var queuedRE = regexp.MustCompile(`(?m)^<[-~]  250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)\s*$`)

// queuedID returns the ID fakesmtp gave the one message in a swaks
// transcript.
func queuedID(t *testing.T, transcript string) string {
	t.Helper()
	m := queuedRE.FindAllStringSubmatch(transcript, -1)
	if len(m) != 1 {
		t.Fatalf("want one %q in the swaks transcript, found %d:\n%s", queuedRE, len(m), transcript)
	}
	return m[0][1]
}

// swaksData rebuilds the message bytes swaks sent from its transcript:
// the " -> " lines between the 354 reply and the lone "." are the DATA
// lines, dot-stuffed, each sent with CRLF.
func swaksData(t *testing.T, transcript string) []byte {
	t.Helper()
	var data bytes.Buffer
	in := false
	sc := bufio.NewScanner(strings.NewReader(transcript))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.HasPrefix(line, "<-  354 "):
			in = true
		case in && line == " -> .":
			return data.Bytes()
		case in && strings.HasPrefix(line, " -> "):
			l := strings.TrimPrefix(line, " -> ")
			l = strings.TrimPrefix(l, ".") // RFC 5321 4.5.2 transparency
			data.WriteString(l)
			data.WriteString("\r\n")
		case in:
			t.Fatalf("unexpected line inside DATA in the swaks transcript: %q\n%s", line, transcript)
		}
	}
	t.Fatalf("no complete DATA section in the swaks transcript:\n%s", transcript)
	return nil
}

// readMessage reads <dir>/<id>.eml with the store's own reader.
func readMessage(t *testing.T, dir, id string) (*store.Envelope, []byte) {
	t.Helper()
	env, body, err := store.ReadFile(filepath.Join(dir, id+store.Ext))
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != id {
		t.Errorf("%s: X-FakeSMTP-ID is %q", id, env.ID)
	}
	return env, body
}

// messageIDs returns the IDs of the message files in dir, sorted; a
// missing dir has none.
func messageIDs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), store.Ext); ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// filesUnder returns every file and folder below dir, relative to it; a
// missing dir has none.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			rel, _ := filepath.Rel(dir, path)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return names
}

// checkEnvelope compares the envelope of a stored message.
func checkEnvelope(t *testing.T, env *store.Envelope, from string, rcpts ...string) {
	t.Helper()
	if env.MailFrom != from {
		t.Errorf("MAIL FROM stored as %q, want %q", env.MailFrom, from)
	}
	if strings.Join(env.RcptTo, " ") != strings.Join(rcpts, " ") {
		t.Errorf("RCPT TO stored as %q, want %q", env.RcptTo, rcpts)
	}
	if env.ClientIP.String() != "127.0.0.1" {
		t.Errorf("client IP stored as %v, want 127.0.0.1", env.ClientIP)
	}
	if env.Session == "" || env.ReceivedAt.IsZero() {
		t.Errorf("session %q, received at %v: want both set", env.Session, env.ReceivedAt)
	}
}

// checkBody compares stored message bytes with what the client sent,
// showing where they differ.
func checkBody(t *testing.T, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("stored body differs from the bytes sent at offset %d (stored %d bytes, sent %d)\nstored: %q\nsent:   %q",
		i, len(got), len(want), excerpt(got, i), excerpt(want, i))
}

func excerpt(b []byte, i int) []byte {
	return b[max(0, i-40):min(len(b), i+40)]
}

// writeFile writes a test input file and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// greet reads the banner and sends EHLO.
func greet(t *testing.T, c *smtptest.Client) {
	t.Helper()
	if r := c.Read(); r.Code != 220 {
		t.Fatalf("banner: %v", r)
	}
	c.Expect("EHLO client.example", 250)
}

// wantReply fails unless r has the code and enhanced code.
func wantReply(t *testing.T, what string, r smtptest.Reply, code int, enhanced string) {
	t.Helper()
	if r.Code != code || !strings.HasPrefix(r.Text(), enhanced+" ") {
		t.Fatalf("%s: got %v, want %d %s", what, r, code, enhanced)
	}
}

// queuedRawRE finds the ID in a raw 250 reply to the end of data.
var queuedRawRE = regexp.MustCompile(`^2\.0\.0 Ok: queued as (\S+)$`)

// moduleDir is the repository root.
func moduleDir(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// splitAddr splits "host:port".
func splitAddr(t *testing.T, addr string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// serveIn is start's argument for "fakesmtp serve" on the given address
// with a fixed store folder (one that outlives a restart) and extra flags.
func serveIn(storePath string, extra ...string) func(addr string) ([]string, []string) {
	return func(addr string) ([]string, []string) {
		return append([]string{"serve", "--listen", addr, "--store-path", storePath}, extra...), nil
	}
}
