package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// relayArgs are the serve flags of a relay to the smarthost at addr with
// fast retries.
func relayArgs(addr string, extra ...string) []string {
	host, port, _ := net.SplitHostPort(addr)
	return append([]string{"--outputs", "eml,relay", "--relay-host", host, "--relay-port", port,
		"--relay-tls", "none", "--relay-retry-schedule", "500ms"}, extra...)
}

// upstreamMessage is one message the aiosmtpd smarthost accepted.
type upstreamMessage struct {
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	Content  string   `json:"content"`
}

// startAiosmtpd runs test/upstream/aiosmtpd_upstream.py (Debian's
// python3-aiosmtpd) on addr, writing accepted messages to the returned
// folder.
func startAiosmtpd(t *testing.T, addr string) string {
	t.Helper()
	python := "/usr/bin/python3" // Debian's, where python3-aiosmtpd lives
	if out, err := exec.Command(python, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("python3-aiosmtpd missing (apt-get install python3-aiosmtpd): %v\n%s", err, out)
	}
	_, port, _ := net.SplitHostPort(addr)
	out := t.TempDir()
	cmd := exec.Command(python, filepath.Join(moduleDir(t), "test", "upstream", "aiosmtpd_upstream.py"), port, out)
	stdout := newOutput()
	cmd.Stdout, cmd.Stderr = stdout, stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	if _, err := stdout.waitFor(regexp.MustCompile(`(?m)^ready$`), exited, 20*time.Second); err != nil {
		t.Fatalf("aiosmtpd upstream: %v\n%s", err, stdout)
	}
	return out
}

func upstreamMessages(t *testing.T, dir string) []upstreamMessage {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []upstreamMessage
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m upstreamMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storedContent is what fakesmtp sends upstream for a stored message:
// its Received line, then the message as received.
func storedContent(t *testing.T, storePath, id string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(storePath, id+".eml"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("\r\nReceived: "))
	if i < 0 {
		t.Fatalf("no Received line in %s", id)
	}
	return data[i+2:]
}

// The relay against aiosmtpd: the first attempt gets 550 for one
// recipient and 451 at DATA; the retry delivers to the other recipient
// byte for byte, and the refused one ends in failed/ with the reason,
// shown by "fakesmtp queue list".
func TestRelayAiosmtpdTempThenOKAndPermanent(t *testing.T) {
	t.Parallel()
	upAddr := freeAddr(t)
	out := startAiosmtpd(t, upAddr)
	srv := startDev(t, relayArgs(upAddr)...)
	tr := swaks(t, "--server", srv.Addr, "--from", "alice@example.org", "--to", "good@example.net,bad@example.net",
		"--header", "Subject: relay via aiosmtpd", "--body", ".a line with a leading dot\nGrüße")
	id := queuedID(t, tr)
	eventually(t, "delivery to aiosmtpd", 20*time.Second, func() bool { return len(upstreamMessages(t, out)) == 1 })
	m := upstreamMessages(t, out)[0]
	content, _ := base64.StdEncoding.DecodeString(m.Content)
	if m.MailFrom != "alice@example.org" || strings.Join(m.RcptTos, ",") != "good@example.net" {
		t.Errorf("upstream envelope: from %q to %q", m.MailFrom, m.RcptTos)
	}
	if want := storedContent(t, srv.StorePath, id); !bytes.Equal(content, want) {
		t.Errorf("upstream content differs:\n got %q\nwant %q", content, want)
	}
	queue := filepath.Join(srv.StorePath, "queue")
	eventually(t, "the failed entry", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(queue, "failed", id+".reason"))
		return err == nil
	})
	reason, _ := os.ReadFile(filepath.Join(queue, "failed", id+".reason"))
	for _, want := range []string{"<bad@example.net>: failed: 550 5.1.1", "<good@example.net>: sent: 250 2.0.0"} {
		if !strings.Contains(string(reason), want) {
			t.Errorf("reason file lacks %q:\n%s", want, reason)
		}
	}
	r := runCLI(t, nil, "queue", "list", "--store-path", srv.StorePath)
	if r.Code != 0 || !strings.Contains(r.Stdout, id+"  failed") || !strings.Contains(r.Stdout, "550 5.1.1") {
		t.Errorf("queue list:\n%s%s", r.Stdout, r.Stderr)
	}
	if !strings.Contains(srv.Stdout.String()+srv.Stderr.String(), "451 4.3.0") {
		t.Error("the 451 attempt is not in the log")
	}
	// delete empties failed/.
	if r := runCLI(t, nil, "queue", "delete", id, "--store-path", srv.StorePath); r.Code != 0 {
		t.Errorf("queue delete: %d %s", r.Code, r.Stderr)
	}
	if r := runCLI(t, nil, "queue", "list", "--store-path", srv.StorePath); !strings.Contains(r.Stdout, "the queue is empty") {
		t.Errorf("queue list after delete:\n%s", r.Stdout)
	}
}

// The smarthost (another fakesmtp) is down; two messages wait in the
// queue; fakesmtp is killed (SIGKILL, no shutdown) and started again
// after the smarthost came up: both are delivered.
func TestRelayDownCrashRestart(t *testing.T) {
	t.Parallel()
	upAddr := freeAddr(t)
	storePath := filepath.Join(t.TempDir(), "store")
	mk := serveIn(storePath, relayArgs(upAddr)...)
	a := start(t, mk)
	var ids []string
	for _, subj := range []string{"first", "second"} {
		ids = append(ids, queuedID(t, swaks(t, "--server", a.Addr, "--from", "a@example.org", "--to", "b@example.net", "--header", "Subject: "+subj)))
	}
	eventually(t, "a refused attempt", 10*time.Second, func() bool {
		r := runCLI(t, nil, "queue", "list", "--store-path", storePath)
		return strings.Contains(r.Stdout, "connection refused") && strings.Count(r.Stdout, "queued") == 2
	})
	a.signal(t, syscall.SIGKILL)
	a.wait(t, 10*time.Second)

	upStore := filepath.Join(t.TempDir(), "up")
	startAt(t, "serve", "--listen", upAddr, "--store-path", upStore, "--hostname", "smarthost.test")
	start(t, mk)
	eventually(t, "both messages upstream", 20*time.Second, func() bool { return len(messageIDs(t, upStore)) == 2 })
	for _, upID := range messageIDs(t, upStore) {
		env, body := readMessage(t, upStore, upID)
		checkEnvelope(t, env, "a@example.org", "b@example.net")
		found := false
		for _, id := range ids {
			found = found || bytes.Equal(body, storedContent(t, storePath, id))
		}
		if !found {
			t.Errorf("upstream message %s matches no queued message:\n%s", upID, body)
		}
	}
	eventually(t, "an empty queue", 10*time.Second, func() bool {
		return strings.Contains(runCLI(t, nil, "queue", "list", "--store-path", storePath).Stdout, "the queue is empty")
	})
}

// startAt starts fakesmtp with args that name a fixed listen address
// (a port the test reserved earlier) and stops it at the end.
func startAt(t *testing.T, args ...string) *server {
	t.Helper()
	s := launch(t, args, nil)
	if _, err := s.Stdout.waitFor(readyRE, s.exited, startTimeout); err != nil {
		s.kill()
		t.Fatalf("fakesmtp %s: %v\nstderr:\n%s", strings.Join(args, " "), err, s.Stderr)
	}
	t.Cleanup(func() {
		if !s.waited {
			s.stop(t)
		}
	})
	return s
}

// STARTTLS with a verified certificate and AUTH to a smarthost that is
// another fakesmtp requiring both.
func TestRelaySTARTTLSAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	pw := writeFile(t, dir, "relay-password", []byte("s3cret-relay\n"))
	upStore := filepath.Join(dir, "up")
	up := start(t, func(addr string) ([]string, []string) {
		return []string{"serve", "--listen", addr, "--store-path", upStore, "--tls-cert", cert, "--tls-key", key,
			"--tls-required", "--auth", "any", "--auth-required"}, nil
	})
	host, port, _ := net.SplitHostPort(up.Addr)
	srv := startDev(t, "--outputs", "eml,relay", "--relay-host", host, "--relay-port", port, "--relay-tls", "starttls-required",
		"--relay-tls-ca-file", cert, "--relay-auth-user", "relayer", "--relay-auth-password-file", pw)
	id := queuedID(t, swaks(t, "--server", srv.Addr, "--from", "a@example.org", "--to", "b@example.net"))
	eventually(t, "delivery over STARTTLS", 20*time.Second, func() bool { return len(messageIDs(t, upStore)) == 1 })
	env, body := readMessage(t, upStore, messageIDs(t, upStore)[0])
	extra := strings.Join(env.Extra, "\n")
	if !strings.Contains(extra, "X-FakeSMTP-TLS: TLS 1.3") || !strings.Contains(extra, "X-FakeSMTP-Auth-User: relayer") {
		t.Errorf("smarthost saw no TLS or no AUTH:\n%s", extra)
	}
	if !bytes.Equal(body, storedContent(t, srv.StorePath, id)) {
		t.Error("content differs upstream")
	}
	if strings.Contains(srv.Stdout.String()+srv.Stderr.String(), "s3cret-relay") {
		t.Error("the relay password is in the log")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyFile = writeFile(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
	return certFile, keyFile
}
