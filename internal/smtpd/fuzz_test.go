package smtpd_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
	"fakesmtp/internal/store"
)

// FuzzSession sends arbitrary bytes as a whole client dialogue to a real
// server, with and without early-talk detection. Whatever the input, every
// reply line must be well formed, the session must end, and the server
// must go on serving.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		// A valid session.
		"EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=20\r\nRCPT TO:<c@d.example>\r\n" +
			"DATA\r\nSubject: hi\r\n\r\nbody\r\n..dot\r\n.\r\n",
		"HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nRSET\r\nVRFY x\r\nEXPN y\r\nHELP\r\nNOOP\r\nSTARTTLS\r\nAUTH PLAIN\r\nBDAT 1 LAST\r\n",
		// Smuggling: an end of data only a lax reader would see.
		"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\n.\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<t@d.example>\r\nDATA\r\ny\r\n.\r\n",
		"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r.\rQUIT\r\n.\r\n\x00MAIL FROM:<e@x.example>\r\n",
		// A long line and a line of only bytes over 0x7f.
		"EHLO " + strings.Repeat("a", 5000) + "\r\nMAIL FROM:<" + strings.Repeat("b", 300) + "@c.example>\r\n",
		"\xff\xfe\xfd\r\nMAIL FROM:<ü@b.example> SMTPUTF8\r\n",
		// NUL, bare CR/LF, and nothing at all.
		"HELO a\x00b\r\nEHLO c\nNOOP\rRSET\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	addrs := make([]string, 0, 2)
	for _, earlyTalk := range []bool{false, true} {
		st, err := store.New(store.Config{Path: f.TempDir()}, slog.New(slog.DiscardHandler))
		if err != nil {
			f.Fatal(err)
		}
		cfg := devConfig()
		cfg.MaxErrors = 20
		cfg.MaxNoop = 20
		cfg.MaxDataSize = 64 << 10
		cfg.DoEarlyTalk = earlyTalk
		discard := slog.New(slog.DiscardHandler)
		srv, err := smtpd.New(cfg, smtpd.Deps{Store: st, Logger: discard, SessionLog: discard})
		if err != nil {
			f.Fatal(err)
		}
		addrs = append(addrs, smtptest.Start(f, srv))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		for _, addr := range addrs {
			checkDialogue(t, addr, append(input[:len(input):len(input)], "\r\nQUIT\r\n"...))
			// Still serving.
			c := connect(t, addr)
			cmd(t, c, "QUIT", 221, "2.0.0")
		}
	})
}

// checkDialogue writes input while reading the replies (a server that
// answers as it reads must not deadlock with a client that writes
// everything first), then checks every reply line.
func checkDialogue(t *testing.T, addr string, input []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, smtptest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(smtptest.Timeout))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		// The server may close early (QUIT, early talk, limits): write
		// errors are expected then.
		conn.Write(input)
		// End of input: a server waiting for more (inside DATA) sees EOF.
		conn.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(conn)
	conn.Close()
	<-wrote
	reset := errors.Is(err, syscall.ECONNRESET)
	if err != nil && !reset {
		// A timeout means the server never closed the session.
		t.Fatalf("reading replies: %v (after %q)", err, out)
	}
	if len(out) == 0 {
		t.Fatal("no reply at all (not even the banner)")
	}
	// A server that closes with unread input resets the connection, which
	// may cut its last write short; otherwise every reply is whole.
	lines := bytes.SplitAfter(out, []byte("\r\n"))
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if len(last) != 0 && !reset {
		t.Fatalf("output does not end in CRLF: %q", out)
	}
	var code string
	for _, l := range lines {
		checkReplyLine(t, l, &code)
	}
	if code != "" && !reset {
		t.Fatalf("multiline reply %s never ended: %q", code, out)
	}
}

// checkReplyLine checks one line: 3 digits, then ' ' (last line of a
// reply) or '-' (more to come, with the same code), then text, CRLF, and
// no CR or LF inside (RFC 5321 4.2).
func checkReplyLine(t *testing.T, l []byte, code *string) {
	t.Helper()
	s := string(l)
	text := strings.TrimSuffix(s, "\r\n")
	if len(text) < 4 || text[0] < '2' || text[0] > '5' ||
		text[1] < '0' || text[1] > '9' || text[2] < '0' || text[2] > '9' ||
		(text[3] != ' ' && text[3] != '-') || strings.ContainsAny(text, "\r\n") {
		t.Fatalf("bad reply line %q", s)
	}
	if *code != "" && text[:3] != *code {
		t.Fatalf("code changed inside a reply: %q after %s", s, *code)
	}
	*code = text[:3]
	if text[3] == ' ' {
		*code = ""
	}
}
