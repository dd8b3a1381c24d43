package smtpd_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/smtp"
	"os"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/certs"
	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
)

func tlsConfig(t *testing.T) smtpd.Config {
	t.Helper()
	src, err := certs.SelfSigned("mx.fakesmtp.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := devConfig()
	cfg.TLS = src.Config()
	cfg.StartTLS = true
	return cfg
}

var clientTLS = &tls.Config{InsecureSkipVerify: true, ServerName: "mx.fakesmtp.test"}

// upgrade runs the client side of the handshake on c and returns a
// client reading the TLS stream.
func upgrade(t *testing.T, c *smtptest.Client) *smtptest.Client {
	t.Helper()
	tc := tls.Client(c.Conn, clientTLS)
	tc.SetDeadline(time.Now().Add(smtptest.Timeout))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.SetDeadline(time.Time{})
	return &smtptest.Client{Conn: tc, R: bufio.NewReader(tc)}
}

func ehloHas(r smtptest.Reply, kw string) bool {
	for _, l := range r.Lines {
		if l == kw {
			return true
		}
	}
	return false
}

func TestStartTLS(t *testing.T) {
	e := start(t, tlsConfig(t))
	c := e.dial()
	if r := c.Expect("EHLO x.example", 250); !ehloHas(r, "STARTTLS") {
		t.Fatalf("STARTTLS not offered: %v", r)
	}
	c.Expect("STARTTLS", 220)
	tc := upgrade(t, c)
	tc = smtptestWith(t, tc)
	// The session starts over: EHLO first, and no STARTTLS any more.
	tc.Expect("MAIL FROM:<a@b.example>", 503)
	if r := tc.Expect("EHLO x.example", 250); ehloHas(r, "STARTTLS") {
		t.Fatalf("STARTTLS offered inside TLS: %v", r)
	}
	if r := tc.Cmd("STARTTLS"); r.Code != 554 || !strings.HasPrefix(r.Lines[0], "5.5.1") {
		t.Fatalf("second STARTTLS: %v", r)
	}
	if r := sendMessage(t, tc, "a@b.example", "c@d.example", "secret\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	m := e.messages()[0]
	if len(m.env.Extra) != 1 || !strings.HasPrefix(m.env.Extra[0], "X-FakeSMTP-TLS: TLS 1.3 TLS_") {
		t.Fatalf("annotations %q", m.env.Extra)
	}
	p, _ := e.store.FilePath(m.env.ID)
	raw, _ := os.ReadFile(p)
	if !strings.Contains(string(raw), " with ESMTPS id ") {
		t.Fatalf("Received header lacks ESMTPS:\n%s", raw)
	}
}

// smtptestWith rebinds a client made by upgrade to the test.
func smtptestWith(t *testing.T, c *smtptest.Client) *smtptest.Client {
	nc := smtptest.Wrap(t, c.Conn)
	nc.R = c.R
	return nc
}

// CVE-2011-0411: commands sent in plaintext after STARTTLS must not run
// inside TLS.
func TestStartTLSInjection(t *testing.T) {
	for _, injected := range []string{"EHLO injected\r\n", "RSET\r\n", "MAIL FROM:<x@y.example>\r\n"} {
		t.Run(strings.TrimSpace(injected), func(t *testing.T) {
			e := start(t, tlsConfig(t))
			c := e.dial()
			c.Expect("EHLO x.example", 250)
			c.Send("STARTTLS\r\n" + injected)
			if r := c.Read(); r.Code != 220 {
				t.Fatalf("STARTTLS: %v", r)
			}
			tc := smtptestWith(t, upgrade(t, c))
			// Nothing may arrive unasked inside TLS.
			tc.Conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if line, err := tc.R.ReadString('\n'); err == nil {
				t.Fatalf("unsolicited reply inside TLS: %q", line)
			}
			tc.Conn.SetReadDeadline(time.Time{})
			// The session is fresh: MAIL needs EHLO first.
			tc.Expect("MAIL FROM:<a@b.example>", 503)
			tc.Expect("EHLO x.example", 250)
			waitFor(t, "log", func() bool { return hasLine(e.logs.String(), "plaintext sent after STARTTLS discarded") })
		})
	}
}

func TestTLSRequired(t *testing.T) {
	cfg := tlsConfig(t)
	cfg.TLSRequired = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	if r := c.Cmd("MAIL FROM:<a@b.example>"); r.Code != 530 || !strings.HasPrefix(r.Lines[0], "5.7.0") {
		t.Fatalf("MAIL before STARTTLS: %v", r)
	}
	c.Expect("STARTTLS", 220)
	tc := smtptestWith(t, upgrade(t, c))
	tc.Expect("EHLO x.example", 250)
	tc.Expect("MAIL FROM:<a@b.example>", 250)
}

func TestNetSMTPStartTLS(t *testing.T) {
	e := start(t, tlsConfig(t))
	cl, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.StartTLS(clientTLS); err != nil {
		t.Fatal(err)
	}
	if err := cl.Mail("a@b.example"); err != nil {
		t.Fatal(err)
	}
	cl.Rcpt("c@d.example")
	w, _ := cl.Data()
	w.Write([]byte("Subject: tls\r\n\r\nhi\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cl.Quit()
	if got := string(e.messages()[0].body); got != "Subject: tls\r\n\r\nhi\r\n" {
		t.Fatalf("body %q", got)
	}
}

func TestImplicitTLS(t *testing.T) {
	cfg := tlsConfig(t)
	srv, err := smtpd.New(cfg, smtpd.Deps{Logger: discard(), SessionLog: discard(), Store: newTestStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln)
	defer srv.Shutdown(t.Context())
	conn, err := tls.Dial("tcp", ln.Addr().String(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	c := smtptest.Wrap(t, conn)
	if r := c.Read(); r.Code != 220 {
		t.Fatal(r)
	}
	if r := c.Expect("EHLO x.example", 250); ehloHas(r, "STARTTLS") {
		t.Fatal("STARTTLS offered on an implicit-TLS connection")
	}
	c.Expect("QUIT", 221)
}

func TestGarbageInsteadOfHandshake(t *testing.T) {
	e := start(t, tlsConfig(t))
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	c.Expect("STARTTLS", 220)
	c.Send("this is not a TLS ClientHello\r\n")
	c.ExpectClosed()
	// The server is unharmed.
	e.dial().Expect("EHLO x.example", 250)
	waitFor(t, "log", func() bool { return hasLine(e.logs.String(), "TLS handshake failed") })
}
