package smtpd_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
	"fakesmtp/internal/store"
)

// wantReply fails t unless r has exactly the given code and enhanced
// code. enh is "" for the replies that carry none (220, 354, HELO/EHLO,
// RFC 2034 section 4).
func wantReply(t *testing.T, what string, r smtptest.Reply, code int, enh string) {
	t.Helper()
	ok := r.Code == code && len(r.Lines) > 0
	if ok && enh != "" {
		ok = r.Lines[0] == enh || strings.HasPrefix(r.Lines[0], enh+" ")
	}
	if !ok {
		t.Fatalf("%s: got %v, want %d %s", what, r, code, enh)
	}
}

// cmd sends one command line and checks its reply.
func cmd(t *testing.T, c *smtptest.Client, line string, code int, enh string) smtptest.Reply {
	t.Helper()
	r := c.Cmd(line)
	wantReply(t, line, r, code, enh)
	return r
}

// connect dials addr and reads the banner. Unlike env.dial, failures go
// to the t given here, so it is safe in subtests.
func connect(t *testing.T, addr string) *smtptest.Client {
	t.Helper()
	c := smtptest.Dial(t, addr)
	wantReply(t, "banner", c.Read(), 220, "")
	return c
}

// startTx greets and opens a transaction with one recipient.
func startTx(t *testing.T, c *smtptest.Client) {
	t.Helper()
	cmd(t, c, "EHLO client.example", 250, "")
	cmd(t, c, "MAIL FROM:<a@b.example>", 250, "2.1.0")
	cmd(t, c, "RCPT TO:<c@d.example>", 250, "2.1.5")
}

// served is a server built with smtpd.New and served on its own
// listener, for the tests that call Shutdown themselves.
type served struct {
	*env
	done     chan struct{} // closed when Serve returns
	serveErr error
}

// serve builds a Server from cfg and serves it on 127.0.0.1:0. The test's
// cleanup calls Shutdown again, which must be harmless.
func serve(t *testing.T, cfg smtpd.Config) *served {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{}}
	st, err := store.New(store.Config{Path: t.TempDir(), Fsync: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	srv, err := smtpd.New(cfg, smtpd.Deps{Store: st, Logger: logger, SessionLog: logger})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	s := &served{env: e, done: make(chan struct{})}
	go func() {
		s.serveErr = srv.Serve(ln)
		close(s.done)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-s.done
	})
	return s
}

// withAppLog sends the application log (not the session log) to b.
func withAppLog(b *syncBuffer) option {
	return func(d *smtpd.Deps) { d.Logger = slog.New(slog.NewTextHandler(b, nil)) }
}

// rcptHeaders counts the X-FakeSMTP-Rcpt-To lines in the stored file of
// message msgID.
func rcptHeaders(t *testing.T, st *store.Store, msgID string) int {
	t.Helper()
	p, err := st.FilePath(msgID)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), store.HeaderRcptTo+": ") {
			n++
		}
	}
	return n
}

var sessionAttr = regexp.MustCompile(`(?:^| )session=(\S+)`)

// logLines returns the non-empty lines of logs.
func logLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// connectLine returns the "connect" log line for the client whose local
// address is clientAddr, and its session id.
func connectLine(t *testing.T, logs, clientAddr string) (line, sessionID string) {
	t.Helper()
	for _, l := range logLines(logs) {
		if strings.Contains(l, "msg=connect ") && strings.Contains(l, " client="+clientAddr+" ") {
			m := sessionAttr.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("connect line without session: %s", l)
			}
			return l, m[1]
		}
	}
	t.Fatalf("no connect line for %s in:\n%s", clientAddr, logs)
	return "", ""
}
