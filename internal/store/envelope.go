package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Envelope is what fakesmtp knows about a message besides its bytes: the
// SMTP envelope and the client. It is written as X-FakeSMTP-* headers at
// the top of the message file and read back by Read.
type Envelope struct {
	ID         string
	Session    string
	ClientIP   netip.Addr
	ClientPort uint16
	Helo       string
	// MailFrom is the reverse-path without brackets; "" is the null path.
	MailFrom string
	// RcptTo holds the forward-paths without brackets, in RCPT order.
	RcptTo     []string
	ReceivedAt time.Time

	// Hostname and Protocol go into the Received header: Protocol is the
	// RFC 5321 / RFC 3848 / RFC 6531 "with" keyword (SMTP, ESMTP,
	// UTF8SMTP, ...).
	Hostname string
	Protocol string

	// Extra holds further annotation headers, each "Name: value", written
	// after the fixed X-FakeSMTP-* headers (later features add verdicts
	// and findings here).
	Extra []string
}

// Header names written at the top of every message file.
const (
	HeaderID         = "X-FakeSMTP-ID"
	HeaderSession    = "X-FakeSMTP-Session"
	HeaderClientIP   = "X-FakeSMTP-Client-IP"
	HeaderClientPort = "X-FakeSMTP-Client-Port"
	HeaderHelo       = "X-FakeSMTP-Helo"
	HeaderMailFrom   = "X-FakeSMTP-Mail-From"
	HeaderRcptTo     = "X-FakeSMTP-Rcpt-To"
	HeaderReceivedAt = "X-FakeSMTP-Received-At"
)

// maxValueLen caps a client-supplied header value. RFC 5321 limits a path
// to 256 octets and a domain to 255; anything longer is truncated, so the
// header lines stay well under RFC 5322's 998.
const maxValueLen = 300

// Sanitize makes a client-supplied value safe for a header: control
// characters (CR, LF, NUL, ...) and backslashes become \xNN escapes, so
// no value can end the header or start a new one, and the result is cut
// to maxValueLen bytes. UTF-8 text passes unchanged (RFC 6532).
func Sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxValueLen; i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			fmt.Fprintf(&b, `\x%02x`, c)
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	if len(out) > maxValueLen {
		out = out[:maxValueLen]
	}
	return out
}

// unsanitize reverses Sanitize's escapes.
func unsanitize(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// WriteHeaders writes the envelope headers and the Received trace header
// (RFC 5321 section 4.4) to w. The Received header is on one line, so a
// reader knows exactly where the client's bytes begin.
func (e *Envelope) WriteHeaders(w io.Writer) error {
	_, err := w.Write(e.AppendHeaders(nil))
	return err
}

// AppendHeaders appends the envelope headers and the Received header to b,
// so that a caller can write them together with the first message bytes
// in one write.
func (e *Envelope) AppendHeaders(b []byte) []byte {
	h := func(name, value string) {
		b = append(b, name...)
		b = append(b, ": "...)
		b = append(b, value...)
		b = append(b, "\r\n"...)
	}
	h(HeaderID, e.ID)
	h(HeaderSession, e.Session)
	h(HeaderClientIP, e.ClientIP.String())
	h(HeaderClientPort, strconv.Itoa(int(e.ClientPort)))
	h(HeaderHelo, Sanitize(e.Helo))
	h(HeaderMailFrom, "<"+Sanitize(e.MailFrom)+">")
	for _, r := range e.RcptTo {
		h(HeaderRcptTo, "<"+Sanitize(r)+">")
	}
	h(HeaderReceivedAt, e.ReceivedAt.UTC().Format(time.RFC3339Nano))
	for _, x := range e.Extra {
		b = append(b, x...)
		b = append(b, "\r\n"...)
	}
	b = append(b, e.received()...)
	return append(b, "\r\n"...)
}

// received builds the Received header: from the HELO name and the IP
// literal, by our host name, with the protocol, id, and the recipient
// when there is exactly one (RFC 5321 4.4 warns against listing many).
func (e *Envelope) received() string {
	var b strings.Builder
	b.WriteString("Received: from ")
	helo := Sanitize(e.Helo)
	if helo == "" {
		helo = "unknown"
	}
	b.WriteString(helo)
	fmt.Fprintf(&b, " ([%s]:%d) by %s (fakesmtp) with %s id %s", literal(e.ClientIP), e.ClientPort, e.Hostname, e.protocol(), e.ID)
	if len(e.RcptTo) == 1 {
		b.WriteString(" for <" + Sanitize(e.RcptTo[0]) + ">")
	}
	b.WriteString("; ")
	b.WriteString(e.ReceivedAt.Format(time.RFC1123Z))
	return b.String()
}

func (e *Envelope) protocol() string {
	if e.Protocol == "" {
		return "SMTP"
	}
	return e.Protocol
}

// literal formats an IP the way RFC 5321 4.1.3 writes address literals.
func literal(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "IPv6:" + a.String()
	}
	return a.Unmap().String()
}

// ErrNotMessageFile means the data does not start with fakesmtp's headers.
var ErrNotMessageFile = errors.New("store: not a fakesmtp message file")

// Read parses a message file: the envelope headers, then the message
// bytes exactly as the client sent them.
func Read(data []byte) (*Envelope, []byte, error) {
	e := &Envelope{}
	rest := data
	sawID := false
	for {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			return nil, nil, ErrNotMessageFile
		}
		line := string(rest[:i])
		rest = rest[i+2:]
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, nil, ErrNotMessageFile
		}
		if name == "Received" {
			break
		}
		switch name {
		case HeaderID:
			e.ID, sawID = value, true
		case HeaderSession:
			e.Session = value
		case HeaderClientIP:
			e.ClientIP, _ = netip.ParseAddr(value)
		case HeaderClientPort:
			p, _ := strconv.ParseUint(value, 10, 16)
			e.ClientPort = uint16(p)
		case HeaderHelo:
			e.Helo = unsanitize(value)
		case HeaderMailFrom:
			e.MailFrom = unsanitize(strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">"))
		case HeaderRcptTo:
			e.RcptTo = append(e.RcptTo, unsanitize(strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">")))
		case HeaderReceivedAt:
			e.ReceivedAt, _ = time.Parse(time.RFC3339Nano, value)
		default:
			e.Extra = append(e.Extra, line)
		}
	}
	if !sawID {
		return nil, nil, ErrNotMessageFile
	}
	return e, rest, nil
}

// ReadFile reads and parses the message file at path.
func ReadFile(path string) (*Envelope, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	e, body, err := Read(data)
	if err != nil {
		return nil, nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	return e, body, nil
}
