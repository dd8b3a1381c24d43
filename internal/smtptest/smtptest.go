// Package smtptest helps tests talk to an SMTP server over a real socket,
// the way net/http/httptest helps HTTP tests: start a server on
// 127.0.0.1:0, dial it, send raw bytes and read parsed replies.
package smtptest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is something that serves SMTP on a listener and shuts down.
type Server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// Start serves srv on a fresh 127.0.0.1 port and returns the address.
// The server is shut down when the test ends.
func Start(t testing.TB, srv Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// Reply is one parsed SMTP reply.
type Reply struct {
	Code  int
	Lines []string // text after "NNN-" / "NNN "
}

// Text returns the reply's lines joined by newlines.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

func (r Reply) String() string { return fmt.Sprintf("%d %s", r.Code, strings.Join(r.Lines, " | ")) }

// Client is a raw SMTP client for tests.
type Client struct {
	t    testing.TB
	Conn net.Conn
	R    *bufio.Reader
}

// Timeout bounds every read, so a broken server fails a test instead of
// hanging it.
const Timeout = 10 * time.Second

// Dial connects to addr.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Client{t: t, Conn: c, R: bufio.NewReader(c)}
}

// DialFrom connects to addr from the local address from, e.g. "127.0.0.2"
// (all of 127.0.0.0/8 is local on Linux), to test per-client policies.
func DialFrom(t testing.TB, from, addr string) *Client {
	t.Helper()
	d := net.Dialer{Timeout: Timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Client{t: t, Conn: c, R: bufio.NewReader(c)}
}

// Send writes s as it is, in one write.
func (c *Client) Send(s string) {
	c.t.Helper()
	if _, err := c.Conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// Read reads one reply; it fails the test on error.
func (c *Client) Read() Reply {
	c.t.Helper()
	r, err := c.TryRead()
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return r
}

// TryRead reads one reply and returns read errors (io.EOF once the server
// has closed).
func (c *Client) TryRead() (Reply, error) {
	c.Conn.SetReadDeadline(time.Now().Add(Timeout))
	var r Reply
	for {
		line, err := c.R.ReadString('\n')
		if err != nil {
			return r, err
		}
		if !strings.HasSuffix(line, "\r\n") {
			return r, fmt.Errorf("reply line without CRLF: %q", line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if len(line) < 4 {
			return r, fmt.Errorf("short reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return r, fmt.Errorf("bad reply line %q", line)
		}
		if r.Code != 0 && code != r.Code {
			return r, fmt.Errorf("code changed inside a reply: %q", line)
		}
		r.Code = code
		r.Lines = append(r.Lines, line[4:])
		switch line[3] {
		case ' ':
			return r, nil
		case '-':
		default:
			return r, fmt.Errorf("bad reply separator in %q", line)
		}
	}
}

// Cmd sends one command line (CRLF added) and reads its reply.
func (c *Client) Cmd(line string) Reply {
	c.t.Helper()
	c.Send(line + "\r\n")
	return c.Read()
}

// Expect sends line and fails unless the reply has the given code.
func (c *Client) Expect(line string, code int) Reply {
	c.t.Helper()
	r := c.Cmd(line)
	if r.Code != code {
		c.t.Fatalf("%q: got %v, want %d", line, r, code)
	}
	return r
}

// ExpectClosed fails unless the server closes the connection without
// sending anything more.
func (c *Client) ExpectClosed() {
	c.t.Helper()
	r, err := c.TryRead()
	if err == nil {
		c.t.Fatalf("expected close, got reply %v", r)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open")
	}
}

// Wrap makes a Client of an established connection (after a TLS
// handshake, say); the connection is closed when the test ends.
func Wrap(t testing.TB, c net.Conn) *Client {
	t.Cleanup(func() { c.Close() })
	return &Client{t: t, Conn: c, R: bufio.NewReader(c)}
}
