package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pickup and Maildir outputs, fed by swaks, read back as their
// consumers would: the pickup file's X-Sender/X-Receiver lines, and the
// Maildir through Python's mailbox.Maildir.
func TestPickupAndMaildirOutputs(t *testing.T) {
	t.Parallel()
	python := tool(t, "python3", "apt-get install python3")
	dir := t.TempDir()
	pickup := filepath.Join(dir, "Pickup")
	maildir := filepath.Join(dir, "Maildir")
	srv := startDev(t, "--outputs", "pickup,maildir", "--pickup-path", pickup, "--maildir-path", maildir)
	out := swaks(t, "--server", srv.Addr, "--from", "alice@example.org", "--to", "bob@example.net,carol@example.net",
		"--header", "Subject: outputs", "--body", "to the pickup folder and the Maildir")
	id := queuedID(t, out)

	data, err := os.ReadFile(filepath.Join(pickup, id+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "X-Sender: alice@example.org\r\nX-Receiver: bob@example.net\r\nX-Receiver: carol@example.net\r\nReceived: from ") ||
		!strings.Contains(string(data), "Subject: outputs") {
		t.Fatalf("pickup file:\n%s", data)
	}
	// outputs without "eml": the store file is gone once handed on.
	if _, err := os.Stat(filepath.Join(srv.StorePath, id+".eml")); !os.IsNotExist(err) {
		t.Fatalf("store file kept: %v", err)
	}
	script := `
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
msgs = list(md)
assert len(msgs) == 1, len(msgs)
m = msgs[0]
print(m['Return-Path'], m['Subject'], m.get_payload().strip())
`
	got := strings.TrimSpace(runTool(t, python, "-c", script, maildir))
	if got != "<alice@example.org> outputs to the pickup folder and the Maildir" {
		t.Fatalf("mailbox.Maildir read %q", got)
	}
}
