package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// fakesmtp export: the stored messages as an mbox (read back by Python's
// mailbox.mbox) and as a Maildir.
func TestExport(t *testing.T) {
	t.Parallel()
	python := tool(t, "python3", "apt-get install python3")
	srv := startDev(t)
	for _, subj := range []string{"first", "From the second"} {
		swaks(t, "--server", srv.Addr, "--from", "a@example.org", "--to", "b@example.net",
			"--header", "Subject: "+subj, "--body", "From the start of a line\nbody")
	}
	dir := t.TempDir()
	mbox := filepath.Join(dir, "out.mbox")
	r := runCLI(t, nil, "export", "--format", "mbox", "--to", mbox, "--since", "1h", "--store-path", srv.StorePath)
	if r.Code != 0 || !strings.Contains(r.Stdout, "exported 2 message(s)") {
		t.Fatalf("export mbox: %+v", r)
	}
	script := `
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    print(m['Subject'], '|', m.get_payload().splitlines()[0])
`
	got := strings.TrimSpace(runTool(t, python, "-c", script, mbox))
	// mboxrd quoting: a body line "From ..." is stored as ">From ...";
	// Python's reader (mboxo) leaves the ">" in place.
	if got != "first | >From the start of a line\nFrom the second | >From the start of a line" {
		t.Fatalf("mailbox.mbox read %q", got)
	}
	md := filepath.Join(dir, "md")
	if r := runCLI(t, nil, "export", "--format", "maildir", "--to", md, "--store-path", srv.StorePath); r.Code != 0 {
		t.Fatalf("export maildir: %+v", r)
	}
	ents, _ := os.ReadDir(filepath.Join(md, "new"))
	if len(ents) != 2 {
		t.Fatalf("maildir export: %v", ents)
	}
	if r := runCLI(t, nil, "export", "--format", "mbox", "--to", mbox, "--since", "soon", "--store-path", srv.StorePath); r.Code != 2 {
		t.Fatalf("bad --since accepted: %+v", r)
	}
}

// on_message_exec runs for each stored message, outside the session, with
// the message's path in its environment (the sa-learn use in the README).
func TestOnMessageExec(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "learned")
	srv := startDev(t, "--on-message-exec", `printf '%s %s' "$FAKESMTP_MAIL_FROM" "$FAKESMTP_PATH" > `+out+`.tmp && mv `+out+`.tmp `+out)
	id := queuedID(t, swaks(t, "--server", srv.Addr, "--from", "bot@spam.example", "--to", "trap@example.net"))
	deadline := time.Now().Add(10 * time.Second)
	var got []byte
	for {
		if b, err := os.ReadFile(out); err == nil {
			got = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hook never ran:\n%s", srv.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := "bot@spam.example " + filepath.Join(srv.StorePath, id+".eml"); string(got) != want {
		t.Fatalf("hook got %q, want %q", got, want)
	}
}
