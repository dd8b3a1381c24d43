package diagnose

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// Bounds on the work Message does, so a hostile or broken client cannot
// make diagnosis expensive.
const (
	// maxHeaderBytes caps the input examined: real header sections are a
	// few KiB, and 1 MiB is far past anything a client sends on purpose.
	maxHeaderBytes = 1 << 20
	// maxHeaderLines caps the physical lines examined, for the same reason.
	maxHeaderLines = 1000
	// maxLineLen is RFC 5322 2.1.1's limit on a line, CRLF excluded.
	maxLineLen = 998
)

// singleFields are the fields RFC 5322 3.6's table allows at most once,
// lower-cased, mapped to the name used in findings. Read-only.
var singleFields = map[string]string{
	"date":        "Date",
	"from":        "From",
	"sender":      "Sender",
	"reply-to":    "Reply-To",
	"to":          "To",
	"cc":          "Cc",
	"bcc":         "Bcc",
	"message-id":  "Message-ID",
	"in-reply-to": "In-Reply-To",
	"references":  "References",
	"subject":     "Subject",
}

// Message checks the header section of a message (the bytes as received,
// after dot-unstuffing; the body may follow) and returns what the client
// did wrong, in a stable order, each finding at most once (DuplicateHeader
// once per field name):
//
//   - MissingDate, MissingFrom (RFC 5322 3.6) and MissingMessageID
//     (RFC 5322 3.6.4, a SHOULD);
//   - BadDate (not a date-time net/mail.ParseDate accepts, obsolete forms
//     included), BadFrom (net/mail.ParseAddressList fails or finds no
//     mailbox) and BadMessageID (not <left@right>);
//   - DuplicateHeader for any field RFC 5322 3.6's table limits to one;
//   - HeaderLineTooLong (RFC 5322 2.1.1);
//   - NonASCIIHeader, when smtputf8 is false (RFC 6532 3);
//   - NoHeaderBodySeparator, when a line that is not a header field
//     follows header fields with no empty line between them: the classic
//     "forgot the blank line" bug. A message that is only header fields,
//     with no body, is fine (RFC 5322 3.5: the body is optional).
//
// Lines may end in CRLF or bare LF (bare LF is reported by the session as
// BareLFData). Continuation lines starting with SP or HT are unfolded into
// their field (RFC 5322 2.2.3). Parsing stops at the first empty line or at
// the first line that is not a header field. At most the first 1 MiB and
// 1000 lines are examined; if the header section goes on past that, the
// Missing* findings are left out, since the field may come later.
func Message(header []byte, smtputf8 bool) []Finding {
	p := headerParser{smtputf8: smtputf8, counts: map[string]int{}, first: map[string]string{}}
	p.parse(header, false)
	return p.findings
}

// Head is Message of the first bytes of a message that goes on past them
// (a receiver checks the header before the rest has arrived). Running out
// of data then means "not seen yet", not "the message ended": a field
// that comes after the cut is not reported missing, and a line cut in
// the middle is not taken for the start of the body.
func Head(header []byte, smtputf8 bool) []Finding {
	p := headerParser{smtputf8: smtputf8, counts: map[string]int{}, first: map[string]string{}}
	p.parse(header, true)
	return p.findings
}

// headerParser holds the state of one Message call.
type headerParser struct {
	smtputf8 bool
	findings []Finding
	counts   map[string]int    // lower-cased field name -> occurrences, singleFields only
	first    map[string]string // lower-cased field name -> first unfolded value

	curName  string // lower-cased name of the field being unfolded, "" if none
	curValue []byte
	fields   int
}

func (p *headerParser) add(f Finding) {
	for _, g := range p.findings {
		if g == f {
			return
		}
	}
	p.findings = append(p.findings, f)
}

// parse checks data; cut says that the message goes on after it.
func (p *headerParser) parse(data []byte, cut bool) {
	truncated := cut
	if len(data) > maxHeaderBytes {
		data, truncated = data[:maxHeaderBytes], true
	}
	ended := false // the header section ended within what was examined
	for lines := 0; ; lines++ {
		if len(data) == 0 {
			// Header fields up to the end of the message: no body.
			ended = !truncated
			break
		}
		if lines == maxHeaderLines {
			break
		}
		line, rest, complete := cutLine(data)
		data = rest
		partial := !complete && truncated // cut by maxHeaderBytes
		if len(line) == 0 {
			ended = true
			break
		}
		cont := line[0] == ' ' || line[0] == '\t'
		var name string
		var value []byte
		if !cont || p.fields == 0 {
			// A continuation line with no field before it is no header
			// line at all.
			var ok bool
			name, value, ok = splitField(line)
			if !ok {
				if partial {
					break
				}
				// RFC 5322 2.2: a header field starts with a field name and
				// a colon. Anything else after some fields means the body
				// started without the empty line in front of it.
				if p.fields > 0 {
					p.add(NoHeaderBodySeparator)
				}
				ended = true
				break
			}
			cont = false
		}
		if len(line) > maxLineLen {
			p.add(HeaderLineTooLong)
		}
		if !p.smtputf8 && hasNonASCII(line) {
			p.add(NonASCIIHeader)
		}
		if partial {
			break
		}
		if cont {
			// RFC 5322 2.2.3: unfolding removes the CRLF, keeping the WSP.
			if p.curName != "" {
				p.curValue = append(p.curValue, line...)
			}
			continue
		}
		p.flush()
		p.startField(name, value)
	}
	if ended {
		p.flush()
	}
	p.check(ended)
}

// cutLine returns the first line of data without its line ending (LF or
// CRLF), the rest, and whether the line had a line ending.
func cutLine(data []byte) (line, rest []byte, complete bool) {
	line, rest, complete = bytes.Cut(data, []byte{'\n'})
	if complete {
		line = bytes.TrimSuffix(line, []byte{'\r'})
	}
	return line, rest, complete
}

// splitField splits a header line into its lower-cased name and value.
// RFC 5322 3.6.8: field-name = 1*ftext, ftext = %d33-57 / %d59-126;
// RFC 5322 4.5: the obsolete syntax allows WSP before the colon.
func splitField(line []byte) (name string, value []byte, ok bool) {
	i := 0
	for i < len(line) && line[i] >= 33 && line[i] <= 126 && line[i] != ':' {
		i++
	}
	if i == 0 {
		return "", nil, false
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j == len(line) || line[j] != ':' {
		return "", nil, false
	}
	return strings.ToLower(string(line[:i])), line[j+1:], true
}

func (p *headerParser) startField(name string, value []byte) {
	p.fields++
	if canon, ok := singleFields[name]; ok {
		p.counts[name]++
		if p.counts[name] == 2 {
			f := DuplicateHeader
			f.Text = "the " + canon + " field appears more than once; send it once"
			p.add(f)
		}
	}
	p.curName = name
	p.curValue = append(p.curValue[:0], value...)
}

// flush records the value of the field being unfolded, once complete.
func (p *headerParser) flush() {
	if p.curName == "" {
		return
	}
	if _, seen := p.first[p.curName]; !seen {
		p.first[p.curName] = string(p.curValue)
	}
	p.curName = ""
}

// check validates the fields Message knows. ended reports whether the whole
// header section was seen, without which an absent field may simply lie
// beyond the limits.
func (p *headerParser) check(ended bool) {
	if v, ok := p.first["date"]; ok {
		if !validDate(strings.TrimSpace(v)) {
			p.add(BadDate)
		}
	} else if ended {
		p.add(MissingDate)
	}
	if v, ok := p.first["from"]; ok {
		if !validFrom(v) {
			p.add(BadFrom)
		}
	} else if ended {
		p.add(MissingFrom)
	}
	if v, ok := p.first["message-id"]; ok {
		if !validMsgID(v) {
			p.add(BadMessageID)
		}
	} else if ended {
		p.add(MissingMessageID)
	}
}

// validFrom reports whether v is a mailbox-list (RFC 5322 3.6.2). RFC 2047
// encoded words in a charset Go does not know are still syntactically
// valid, so the charset reader passes their bytes through instead of
// failing.
func validFrom(v string) bool {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
	}}
	list, err := p.ParseList(strings.TrimSpace(v))
	return err == nil && len(list) > 0
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
