package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Postfix as a relay in front of fakesmtp: a private Postfix instance
// (its own config, queue and log under a temp folder, no listener of its
// own) with relayhost pointing at fakesmtp. A message handed to Postfix's
// sendmail arrives, over STARTTLS, with the DSN ORCPT Postfix adds.
func TestPostfixRelay(t *testing.T) {
	postfix := tool(t, "postfix", `apt-get install postfix (debconf "No configuration")`)
	sendmail := tool(t, "sendmail", "apt-get install postfix")
	if os.Geteuid() != 0 {
		t.Fatal("the Postfix relay test runs Postfix as root (as CI does)")
	}
	srv := startDev(t)
	// Postfix's own user must reach the queue folder: a folder of its own
	// under the system temp folder, 0755 (t.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "fakesmtp-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, sub := range []string{"conf", "queue", "data"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	runTool(t, "/bin/chown", "postfix", filepath.Join(dir, "data"))
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Fatalf("postfix master.cf: %v", err)
	}
	conf := filepath.Join(dir, "conf")
	os.WriteFile(filepath.Join(conf, "master.cf"), master, 0o644)
	mainCF := strings.Join([]string{
		"compatibility_level = 3.6",
		"queue_directory = " + filepath.Join(dir, "queue"),
		"data_directory = " + filepath.Join(dir, "data"),
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = relay.fakesmtp.test",
		"mydestination =",
		"inet_interfaces = loopback-only",
		"inet_protocols = ipv4",
		"master_service_disable = inet",
		"relayhost = [" + strings.Replace(srv.Addr, ":", "]:", 1),
		"smtp_tls_security_level = may",
		"smtp_tls_loglevel = 1",
		"maillog_file_prefixes = " + dir,
		"maillog_file = " + filepath.Join(dir, "maillog"),
		"",
	}, "\n")
	os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCF), 0o644)
	runTool(t, postfix, "-c", conf, "set-permissions")
	if out, err := exec.Command(postfix, "-c", conf, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() { exec.Command(postfix, "-c", conf, "stop").Run() })

	msg := "From: a@example.org\nTo: b@example.net\nSubject: via Postfix\n\nhello from the relay\n.a dot line\n"
	cmd := exec.Command(sendmail, "-C", conf, "-f", "a@example.org", "b@example.net")
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	var ids []string
	deadline := time.Now().Add(30 * time.Second)
	for len(ids) == 0 {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Fatalf("nothing arrived from Postfix; its log:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
		ids = messageIDs(t, srv.StorePath)
	}
	env, body := readMessage(t, srv.StorePath, ids[0])
	if env.MailFrom != "a@example.org" || strings.Join(env.RcptTo, ",") != "b@example.net" || env.Helo != "relay.fakesmtp.test" {
		t.Fatalf("envelope %+v", env)
	}
	b := string(body)
	// Postfix adds its Received, Message-Id and Date, and turns LF into
	// CRLF; the rest is the message as handed to sendmail.
	for _, want := range []string{"Received: by relay.fakesmtp.test (Postfix", "Subject: via Postfix\r\n",
		"\r\n\r\nhello from the relay\r\n.a dot line\r\n"} {
		if !strings.Contains(b, want) {
			t.Fatalf("stored message lacks %q:\n%s", want, b)
		}
	}
	extra := strings.Join(env.Extra, "\n")
	for _, want := range []string{"X-FakeSMTP-TLS: TLS 1.3", "X-FakeSMTP-DSN-Orcpt: <b@example.net> rfc822;b@example.net"} {
		if !strings.Contains(extra, want) {
			t.Fatalf("annotations lack %q: %q", want, extra)
		}
	}
}
