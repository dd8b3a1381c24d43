package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// queuedLineRE finds "250 2.0.0 Ok: queued as ID" in any client's output.
var queuedLineRE = regexp.MustCompile(`250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})`)

// nodemailer (npm, installed by test.sh with npm ci in test/interop) over
// STARTTLS with AUTH; the stored message is exactly what it sent.
func TestNodemailer(t *testing.T) {
	t.Parallel()
	node := tool(t, "node", "apt-get install nodejs")
	dir := filepath.Join(moduleDir(t), "test", "interop")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "nodemailer")); err != nil {
		t.Fatalf("nodemailer is not installed: run (cd test/interop && npm ci): %v", err)
	}
	srv := startDev(t, "--auth", "any")
	host, port := splitAddr(t, srv.Addr)
	sent := filepath.Join(t.TempDir(), "sent.eml")
	out := runTool(t, node, filepath.Join(dir, "send.js"), host, port, "node-user", "node-pass", sent)
	m := queuedLineRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("nodemailer: %q", out)
	}
	want, _ := os.ReadFile(sent)
	env, body := readMessage(t, srv.StorePath, m[1])
	if string(body) != string(want) {
		t.Fatalf("stored body differs from what nodemailer sent:\n%q\nwant\n%q", body, want)
	}
	if !strings.Contains(strings.Join(env.Extra, "\n"), "X-FakeSMTP-Auth-User: node-user") {
		t.Fatalf("annotations %q", env.Extra)
	}
}

// msmtp (Debian) over STARTTLS with AUTH.
func TestMsmtp(t *testing.T) {
	t.Parallel()
	msmtp := tool(t, "msmtp", "apt-get install msmtp")
	srv := startDev(t, "--auth", "any")
	host, port := splitAddr(t, srv.Addr)
	dir := t.TempDir()
	msg := "From: a@example.org\r\nTo: b@example.net\r\nSubject: msmtp\r\nDate: Sat, 28 Nov 2026 20:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n\r\n..dot line\r\nbody\r\n"
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, []byte(msg), 0o644)
	before := messageIDs(t, srv.StorePath)
	cmd := "cat " + msgFile + " | " + msmtp + " --host=" + host + " --port=" + port +
		" --tls=on --tls-starttls=on --tls-certcheck=off --auth=plain --user=msmtp-user --passwordeval='echo pw'" +
		" --from=a@example.org b@example.net"
	runTool(t, "/bin/sh", "-c", cmd)
	after := messageIDs(t, srv.StorePath)
	if len(after) != len(before)+1 {
		t.Fatalf("msmtp stored %d messages", len(after)-len(before))
	}
	env, body := readMessage(t, srv.StorePath, after[len(after)-1])
	if string(body) != msg {
		t.Fatalf("stored %q, want %q", body, msg)
	}
	if got := strings.Join(env.Extra, "\n"); !strings.Contains(got, "X-FakeSMTP-Auth-User: msmtp-user") || !strings.Contains(got, "X-FakeSMTP-TLS: TLS 1.") {
		t.Fatalf("annotations %q", got)
	}
}

// curl's SMTP client, plain and with --ssl-reqd (STARTTLS).
func TestCurl(t *testing.T) {
	t.Parallel()
	curl := tool(t, "curl", "apt-get install curl")
	srv := startDev(t)
	msg := "From: a@example.org\r\nTo: b@example.net\r\nSubject: curl\r\n\r\n.starts with a dot\r\nbody\r\n"
	msgFile := filepath.Join(t.TempDir(), "msg")
	os.WriteFile(msgFile, []byte(msg), 0o644)
	for _, extra := range [][]string{nil, {"--ssl-reqd", "--insecure"}} {
		before := messageIDs(t, srv.StorePath)
		args := append([]string{"-sS", "smtp://" + srv.Addr, "--mail-from", "a@example.org", "--mail-rcpt", "b@example.net",
			"--upload-file", msgFile}, extra...)
		runTool(t, curl, args...)
		after := messageIDs(t, srv.StorePath)
		if len(after) != len(before)+1 {
			t.Fatalf("curl %v stored %d messages", extra, len(after)-len(before))
		}
		_, body := readMessage(t, srv.StorePath, after[len(after)-1])
		if string(body) != msg {
			t.Fatalf("curl %v: stored %q, want %q", extra, body, msg)
		}
	}
}
