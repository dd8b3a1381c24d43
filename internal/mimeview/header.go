package mimeview

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// rawField is one top-level header field as received.
type rawField struct {
	name string // as received, blanks around it removed
	raw  string // bytes after the colon, folding kept, final line break removed

	value, end int // offsets of raw in the message, while scanning
}

// headerBlock is the top-level header: the fields as received, the same
// fields parsed by go-message for MIME semantics, and where the body
// starts.
type headerBlock struct {
	fields    []rawField
	header    message.Header
	body      int  // offset of the body in the raw message
	fieldsCut bool // fields past the cap were skipped
}

// splitHeader finds the header fields of raw and where the body starts.
//
// It does its own line scanning rather than leaving it to go-message's
// textproto.ReadHeader because that reader consumes the offending line
// before it reports a malformed one, and keeps no byte-exact copy of
// LF-only lines. Here the first line that is neither a field nor a
// continuation ends the header without being lost: the body starts on it,
// as in the messages some test tools send with no header at all. The
// block found that way is then handed to ReadHeader, which cannot fail on
// it, so go-message's view and the fields listed agree.
//
// Fields past the first max are skipped: neither kept nor given to
// ReadHeader, whose cost per field is the same for "a:b" as for a real
// one. The lines after the cap are still scanned, without allocating,
// for the end of the header.
func splitHeader(raw []byte, max int, pr *problems) headerBlock {
	var hb headerBlock
	start, pos, end := 0, 0, -1
	// An mbox "From " line (not a field: the text before its first colon
	// has blanks in it) is left by some tools that save .eml files; skip
	// it rather than take the whole message as body.
	if _, field := fieldName(trimEOL(raw[:lineEnd(raw, 0)])); !field && bytes.HasPrefix(raw, []byte("From ")) {
		pos = lineEnd(raw, 0)
		start = pos
		pr.add("message starts with an mbox From_ line; skipped")
	}
	for pos < len(raw) {
		next := lineEnd(raw, pos)
		line := trimEOL(raw[pos:next])
		switch {
		case len(line) == 0:
			// RFC 5322 2.1: the empty line ends the header.
			end, hb.body = pos, next
		case line[0] == ' ' || line[0] == '\t':
			if len(hb.fields) == 0 {
				pr.add("header: first line %s starts with white space; taken as body", quote(line))
				end, hb.body = pos, pos
				break
			}
			// RFC 5322 2.2.3: a folded line continues the field above.
			if !hb.fieldsCut {
				hb.fields[len(hb.fields)-1].end = next
			}
		default:
			name, ok := fieldName(line)
			if !ok {
				pr.add("header: line %s is not a header field (RFC 5322 2.2); the body starts there", quote(line))
				end, hb.body = pos, pos
				break
			}
			if len(hb.fields) >= max {
				if !hb.fieldsCut {
					hb.fieldsCut = true
					pr.add("header: more than %d header fields in the message; the rest are skipped", max)
				}
				break
			}
			colon := pos + bytes.IndexByte(line, ':')
			hb.fields = append(hb.fields, rawField{name: string(name), value: colon + 1, end: next})
		}
		if end >= 0 {
			break
		}
		pos = next
	}
	if end < 0 {
		// No empty line: a message that is all header (RFC 5322 3.5 makes
		// the body optional).
		end, hb.body = len(raw), len(raw)
	}
	for i := range hb.fields {
		f := &hb.fields[i]
		f.raw = string(trimEOL(raw[f.value:f.end]))
	}

	if hb.fieldsCut {
		// Only the fields kept, which end with the last one's line.
		end = hb.fields[len(hb.fields)-1].end
	}
	block := io.MultiReader(bytes.NewReader(raw[start:end]), strings.NewReader("\r\n"))
	h, err := textproto.ReadHeader(bufio.NewReader(block))
	if err != nil {
		pr.add("header: %v", err)
	}
	hb.header = message.Header{Header: h}
	return hb
}

// fieldName returns the field name of a header line, if it is one: a
// non-empty run of printable ASCII other than colon, then a colon
// (RFC 5322 2.2; blanks before the colon are obsolete syntax, RFC 5322
// 4.5, and accepted).
//
// The name is a slice of line, not a copy: lines past the field cap are
// only looked at.
func fieldName(line []byte) ([]byte, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return nil, false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return nil, false
		}
	}
	return name, true
}

// lineEnd returns the offset just past the line starting at pos.
func lineEnd(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i + 1
	}
	return len(b)
}

// trimEOL removes one trailing LF or CRLF.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// unfold undoes folding (RFC 5322 2.2.3: a line break followed by white
// space is removed, the white space kept) and trims the value.
func unfold(raw string) string {
	if strings.IndexByte(raw, '\n') < 0 {
		return strings.TrimSpace(raw)
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\r' && i+1 < len(raw) && raw[i+1] == '\n' {
			continue
		}
		if c == '\n' {
			continue
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

// decoder turns header text into UTF-8: RFC 2047 encoded words in any
// charset golang.org/x/text knows, and replacement characters for the
// rest. An encoded word in an unknown charset is taken as UTF-8 rather
// than failing the whole field as mime.WordDecoder would.
type decoder struct {
	wd   mime.WordDecoder
	prob *problems
}

func newDecoder(pr *problems) *decoder {
	d := &decoder{prob: pr}
	d.wd.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		cr, err := charset.Reader(label, r)
		if err != nil {
			d.prob.add("unknown charset %q in an encoded word (RFC 2047); read as UTF-8", label)
			return r, nil
		}
		return cr, nil
	}
	return d
}

// text decodes an unfolded header value; where names it in problems.
func (d *decoder) text(where, v string) string {
	s, err := d.wd.DecodeHeader(v)
	if err != nil {
		d.prob.add("%s: %v", where, err)
		s = v
	}
	if !utf8.ValidString(s) {
		// RFC 6532 3.2 allows raw UTF-8 in header fields, nothing else.
		d.prob.add("%s: bytes that are not UTF-8", where)
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// envelope fills the fields of m taken from the top-level header.
func (m *Message) envelope(hb headerBlock, d *decoder, pr *problems) {
	values := func(name string) []string {
		var vs []string
		for _, f := range hb.fields {
			if strings.EqualFold(f.name, name) {
				vs = append(vs, unfold(f.raw))
			}
		}
		return vs
	}
	for i, f := range hb.fields {
		if strings.EqualFold(f.name, "Subject") {
			m.Subject = m.Header[i].Value
			break
		}
	}
	m.From = d.addresses("From", values("From"))
	m.To = d.addresses("To", values("To"))
	m.Cc = d.addresses("Cc", values("Cc"))
	m.ReplyTo = d.addresses("Reply-To", values("Reply-To"))

	mh := mail.Header{Header: hb.header}
	if date, err := mh.Date(); err != nil {
		pr.add("header Date: cannot parse %s (RFC 5322 3.3)", quote([]byte(mh.Get("Date"))))
	} else {
		m.Date = date
	}
	if id, err := mh.MessageID(); err == nil {
		m.MessageID = id
	} else {
		// Test tools send ids like <1234> that miss the "@" of RFC 5322
		// 3.6.4; showing them as sent is more use than nothing.
		id := strings.TrimSpace(mh.Get("Message-Id"))
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		m.MessageID = strings.ToValidUTF8(id, "\uFFFD")
	}
}
