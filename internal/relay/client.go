package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reply is an SMTP reply from the smarthost, or a local failure written
// as one: Code 0 means no reply was had (connection refused, timeout,
// TLS failure), which counts as temporary.
type Reply struct {
	Code int    `json:"code"`
	Text string `json:"text"`
}

// Temporary reports whether the reply asks to try again later: a 4xx,
// or no reply at all (RFC 5321 4.2.1, 4.5.4.1).
func (r Reply) Temporary() bool { return r.Code < 500 }

// OK reports a positive completion (2xx).
func (r Reply) OK() bool { return r.Code >= 200 && r.Code < 300 }

func (r Reply) String() string {
	if r.Code == 0 {
		return r.Text
	}
	return strconv.Itoa(r.Code) + " " + r.Text
}

// localFailure is a Reply for a failure on our side of the connection.
func localFailure(format string, args ...any) Reply {
	return Reply{Text: fmt.Sprintf(format, args...)}
}

// permanentLocal is a Reply for a local finding that no retry can change;
// 554 5.x.x like an MTA's own bounce.
func permanentLocal(format string, args ...any) Reply {
	return Reply{Code: 554, Text: fmt.Sprintf(format, args...)}
}

// errReply carries a Reply out of the client's steps.
type errReply struct{ r Reply }

func (e errReply) Error() string { return e.r.String() }

// asReply turns any error of a step into the Reply that describes it.
func asReply(err error) Reply {
	var er errReply
	if errors.As(err, &er) {
		return er.r
	}
	return localFailure("%v", err)
}

// client speaks SMTP to the smarthost, one message per connection. It is
// ours rather than net/smtp so that every byte sent is under control (no
// line-ending rewriting, exact dot-stuffing) and every step has a
// deadline.
type client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
	ext     map[string]string // EHLO keywords, upper case, to their parameters
	tls     bool
}

// maxReplyLines bounds a multiline reply, and maxLine one line of it,
// against a hostile upstream.
const (
	maxReplyLines = 200
	maxLine       = 4096
)

func newClient(conn net.Conn, timeout time.Duration) *client {
	return &client{conn: conn, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriter(conn), timeout: timeout}
}

// readReply reads one reply, multiline per RFC 5321 4.2.1.
func (c *client) readReply() (Reply, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	var text []string
	code := 0
	for i := 0; ; i++ {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return Reply{}, errors.New("reply line too long")
			}
			return Reply{}, fmt.Errorf("reading reply: %w", err)
		}
		s := strings.TrimRight(string(line), "\r\n")
		if len(s) < 3 || len(s) > maxLine || i >= maxReplyLines {
			return Reply{}, fmt.Errorf("malformed reply %q", s)
		}
		n, err := strconv.Atoi(s[:3])
		if err != nil || n < 200 || n > 599 || (code != 0 && n != code) {
			return Reply{}, fmt.Errorf("malformed reply %q", s)
		}
		code = n
		text = append(text, strings.TrimSpace(s[min(4, len(s)):]))
		if len(s) == 3 || s[3] == ' ' {
			return Reply{Code: code, Text: strings.Join(text, " / ")}, nil
		}
		if s[3] != '-' {
			return Reply{}, fmt.Errorf("malformed reply %q", s)
		}
	}
}

// cmd sends one command line and reads the reply. secret lines are
// never put into errors.
func (c *client) cmd(line string) (Reply, error) {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.w.WriteString(line + "\r\n"); err != nil {
		return Reply{}, err
	}
	if err := c.w.Flush(); err != nil {
		return Reply{}, fmt.Errorf("sending command: %w", err)
	}
	return c.readReply()
}

// expect runs cmd and turns a reply outside want's class into an error.
func (c *client) expect(line string, want int) error {
	r, err := c.cmd(line)
	if err != nil {
		return err
	}
	if r.Code/100 != want {
		return errReply{r}
	}
	return nil
}

// hello sends EHLO, falling back to HELO when EHLO is refused (RFC 5321
// 3.2), and records the extensions.
func (c *client) hello(name string) error {
	r, err := c.cmd("EHLO " + name)
	if err != nil {
		return err
	}
	c.ext = map[string]string{}
	if r.Code == 250 {
		// The first line is the greeting; the rest are keywords.
		for i, kw := range strings.Split(r.Text, " / ") {
			if i == 0 {
				continue
			}
			k, v, _ := strings.Cut(kw, " ")
			c.ext[strings.ToUpper(k)] = v
		}
		return nil
	}
	if r.Code/100 == 4 {
		return errReply{r}
	}
	return c.expect("HELO "+name, 2)
}

// startTLS upgrades the connection (RFC 3207) and says EHLO again, as
// the earlier extensions no longer hold (RFC 3207 4.2).
func (c *client) startTLS(ctx context.Context, cfg *tls.Config, name string) error {
	if err := c.expect("STARTTLS", 2); err != nil {
		return err
	}
	tc := tls.Client(c.conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.conn = tc
	c.r = bufio.NewReaderSize(tc, 4096)
	c.w = bufio.NewWriter(tc)
	c.tls = true
	return c.hello(name)
}

// auth logs in with PLAIN (RFC 4616) or, when only that is offered,
// LOGIN. The secret never appears in an error.
func (c *client) auth(user, password string) error {
	mechs, ok := c.ext["AUTH"]
	if !ok {
		return errReply{localFailure("smarthost offers no AUTH, credentials not sent")}
	}
	has := func(m string) bool {
		for _, f := range strings.Fields(strings.ToUpper(mechs)) {
			if f == m {
				return true
			}
		}
		return false
	}
	var r Reply
	var err error
	switch {
	case has("PLAIN"):
		resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
		r, err = c.cmd("AUTH PLAIN " + resp)
	case has("LOGIN"):
		if r, err = c.cmd("AUTH LOGIN"); err == nil && r.Code == 334 {
			if r, err = c.cmd(base64.StdEncoding.EncodeToString([]byte(user))); err == nil && r.Code == 334 {
				r, err = c.cmd(base64.StdEncoding.EncodeToString([]byte(password)))
			}
		}
	default:
		return errReply{localFailure("smarthost offers AUTH %s, none of PLAIN or LOGIN", mechs)}
	}
	if err != nil {
		return err
	}
	if r.Code != 235 {
		// An authentication failure is the relay's configuration, not the
		// message's fault: defer, as Postfix does, so a fixed password
		// still delivers the queue.
		return errReply{localFailure("authentication failed: %s", r)}
	}
	return nil
}

// writeData sends the content after a 354: dot-stuffed (RFC 5321
// 4.5.2), otherwise byte for byte, ended by CRLF.CRLF.
func (c *client) writeData(data []byte) (Reply, error) {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout + time.Duration(len(data)/1024)*time.Millisecond))
	if err := dotStuff(c.w, data); err != nil {
		return Reply{}, fmt.Errorf("sending data: %w", err)
	}
	if err := c.w.Flush(); err != nil {
		return Reply{}, fmt.Errorf("sending data: %w", err)
	}
	return c.readReply()
}

// dotStuff writes data with a dot doubled at the start of each line and
// the terminating ".\r\n", adding a CRLF first if the data does not end
// with one.
func dotStuff(w io.Writer, data []byte) error {
	bw := bufio.NewWriter(w)
	start := true
	for _, b := range data {
		if start && b == '.' {
			bw.WriteByte('.')
		}
		bw.WriteByte(b)
		start = b == '\n'
	}
	if len(data) > 0 && !(len(data) >= 2 && data[len(data)-2] == '\r' && data[len(data)-1] == '\n') {
		bw.WriteString("\r\n")
	}
	bw.WriteString(".\r\n")
	return bw.Flush()
}
