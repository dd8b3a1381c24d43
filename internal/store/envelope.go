package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
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
	if len(s) <= maxValueLen && clean(s) {
		return s // the common case, without a copy
	}
	return string(appendSanitized(nil, s))
}

// clean reports whether Sanitize would leave s as it is (length aside).
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// appendSanitized appends Sanitize(s) to b.
func appendSanitized(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := len(b)
	for i := 0; i < len(s) && len(b)-start < maxValueLen; i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	if len(b)-start > maxValueLen {
		b = b[:start+maxValueLen]
	}
	return b
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
	// Appended piece by piece rather than formatted: this runs for every
	// message, and strings built on the way would be garbage at once.
	name := func(n string) { b = append(append(b, n...), ": "...) }
	crlf := func() { b = append(b, "\r\n"...) }
	name(HeaderID)
	b = append(b, e.ID...)
	crlf()
	name(HeaderSession)
	b = append(b, e.Session...)
	crlf()
	name(HeaderClientIP)
	b = appendAddr(b, e.ClientIP)
	crlf()
	name(HeaderClientPort)
	b = strconv.AppendUint(b, uint64(e.ClientPort), 10)
	crlf()
	name(HeaderHelo)
	b = appendSanitized(b, e.Helo)
	crlf()
	name(HeaderMailFrom)
	b = append(appendSanitized(append(b, '<'), e.MailFrom), '>')
	crlf()
	for _, r := range e.RcptTo {
		name(HeaderRcptTo)
		b = append(appendSanitized(append(b, '<'), r), '>')
		crlf()
	}
	name(HeaderReceivedAt)
	b = e.ReceivedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	crlf()
	for _, x := range e.Extra {
		b = append(b, x...)
		crlf()
	}
	b = e.appendReceived(b)
	crlf()
	return b
}

// appendReceived appends the Received header: from the HELO name and the
// IP literal, by our host name, with the protocol, id, and the recipient
// when there is exactly one (RFC 5321 4.4 warns against listing many).
func (e *Envelope) appendReceived(b []byte) []byte {
	b = append(b, "Received: from "...)
	n := len(b)
	if b = appendSanitized(b, e.Helo); len(b) == n {
		b = append(b, "unknown"...)
	}
	b = append(appendLiteral(append(b, " (["...), e.ClientIP), "]:"...)
	b = strconv.AppendUint(b, uint64(e.ClientPort), 10)
	b = append(append(b, ") by "...), e.Hostname...)
	b = append(append(b, " (fakesmtp) with "...), e.protocol()...)
	b = append(append(b, " id "...), e.ID...)
	if len(e.RcptTo) == 1 {
		b = append(appendSanitized(append(b, " for <"...), e.RcptTo[0]), '>')
	}
	b = append(b, "; "...)
	return e.ReceivedAt.AppendFormat(b, time.RFC1123Z)
}

func (e *Envelope) protocol() string {
	if e.Protocol == "" {
		return "SMTP"
	}
	return e.Protocol
}

// appendLiteral appends an IP the way RFC 5321 4.1.3 writes address
// literals (without the brackets).
func appendLiteral(b []byte, a netip.Addr) []byte {
	if a.Is6() && !a.Is4In6() {
		return appendAddr(append(b, "IPv6:"...), a)
	}
	return appendAddr(b, a.Unmap())
}

// appendAddr appends a.String() without building the string.
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, a.String()...) // AppendTo writes nothing here
	}
	return a.AppendTo(b)
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
	data, err := ReadMessage(path)
	if err != nil {
		return nil, nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	e, body, err := Read(data)
	if err != nil {
		return nil, nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	return e, body, nil
}
