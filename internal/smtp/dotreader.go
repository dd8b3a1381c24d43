package smtp

import (
	"bufio"
	"errors"
	"io"
)

// MaxTextLine is the longest text line RFC 5322 section 2.1.1 allows
// (998 characters), which with CRLF is RFC 5321 section 4.5.3.1.6's 1000.
const MaxTextLine = 998

// DataStats describes the message content a DotReader has read. The
// session uses it to refuse or annotate a message after the real end of
// data, never before (a delayed refusal keeps the stream in sync).
type DataStats struct {
	// Bytes is the number of message bytes returned, after unstuffing.
	Bytes int64
	// BareLF and BareCR count line-feeds and carriage returns that are not
	// part of a CRLF pair. RFC 5321 section 2.3.8 allows no other line
	// terminator, so these are content, and a sign of a broken or hostile
	// client (SMTP smuggling, CVE-2023-51764).
	BareLF, BareCR int
	// LongLines counts lines longer than MaxTextLine.
	LongLines int
	// EightBit is set when a byte >= 0x80 was seen.
	EightBit bool
	// NUL is set when a NUL byte was seen.
	NUL bool
}

// DotReader reads the content of a DATA command (RFC 5321 section 4.1.1.4)
// from r: it returns the message with dot-stuffing removed (section 4.5.2)
// and returns io.EOF at the only valid end of data, CRLF "." CRLF.
//
// Every other sequence that some servers took for an end of data —
// LF.LF, LF.CRLF, CRLF.LF, CR.CR, CRLF.CRCRLF, NULs between the bytes —
// is content and is returned as such, byte for byte; that is what makes
// SMTP smuggling impossible here. A dot at the start of a line is removed
// only when more text follows it on that line; a dot followed by a bare CR
// or LF is kept, so such lines are stored exactly as sent.
//
// The DotReader never reads past the end of data: the bytes after it stay
// in r for the command reader.
type DotReader struct {
	r       *bufio.Reader
	state   dotState
	held    [2]byte // bytes held back while deciding on a line-start dot
	nheld   int
	emitted int // bytes of held already returned
	lineLen int
	done    bool
	err     error
	stats   DataStats
}

type dotState uint8

const (
	dotBOL   dotState = iota // at the start of a line (after CRLF)
	dotDot                   // "." at line start, held
	dotDotCR                 // ".\r" at line start, held
	dotCR                    // "\r" inside a line, returned already
	dotText                  // inside a line
)

// NewDotReader returns a DotReader reading DATA content from r. The DATA
// command's own CRLF has been read, so r starts at the start of a line.
func NewDotReader(r *bufio.Reader) *DotReader {
	return &DotReader{r: r, state: dotBOL}
}

// Stats returns what has been read so far.
func (d *DotReader) Stats() DataStats { return d.stats }

// Done reports whether the end of data has been read.
func (d *DotReader) Done() bool { return d.done }

// Read implements io.Reader. A connection that ends before the end of
// data gives io.ErrUnexpectedEOF; read errors (such as a deadline) are
// returned as they are.
func (d *DotReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if d.emitted < d.nheld {
			c := copy(p[n:], d.held[d.emitted:d.nheld])
			d.emitted += c
			n += c
			if d.emitted == d.nheld {
				d.nheld, d.emitted = 0, 0
			}
			continue
		}
		if d.done {
			break
		}
		if d.err != nil {
			break
		}
		if d.state == dotText || d.state == dotBOL {
			if k := d.fastRun(p[n:]); k > 0 {
				n += k
				continue
			}
		}
		if n > 0 && d.r.Buffered() == 0 {
			// Return what we have rather than block for more.
			break
		}
		c, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			d.err = err
			break
		}
		n += d.step(c, p[n:])
	}
	d.stats.Bytes += int64(n)
	if n > 0 {
		return n, nil
	}
	if d.done {
		return 0, io.EOF
	}
	return 0, d.err
}

// fastRun copies buffered plain text (no CR, LF, or line-start dot) to p.
func (d *DotReader) fastRun(p []byte) int {
	buf, _ := d.r.Peek(d.r.Buffered())
	if len(buf) > len(p) {
		buf = buf[:len(p)]
	}
	if d.state == dotBOL && len(buf) > 0 && buf[0] == '.' {
		return 0
	}
	i := 0
	for ; i < len(buf); i++ {
		c := buf[i]
		if c == '\r' || c == '\n' {
			break
		}
		if c >= 0x80 {
			d.stats.EightBit = true
		} else if c == 0 {
			d.stats.NUL = true
		}
	}
	if i == 0 {
		return 0
	}
	copy(p, buf[:i])
	d.r.Discard(i)
	d.lineLen += i
	d.state = dotText
	return i
}

// step consumes one byte, writes what can be returned into p (which has
// room for at least one byte) or holds it, and returns the count written.
func (d *DotReader) step(c byte, p []byte) int {
	if c >= 0x80 {
		d.stats.EightBit = true
	} else if c == 0 {
		d.stats.NUL = true
	}
	switch d.state {
	case dotBOL:
		if c == '.' {
			d.state = dotDot
			return 0
		}
		return d.text(c, p)
	case dotDot:
		switch c {
		case '\r':
			d.state = dotDotCR
			return 0
		case '\n':
			// ".\n": a bare LF is no line end, so this dot does not start
			// a stuffed line of text; keep it.
			d.hold('.', '\n')
			d.stats.BareLF++
			d.lineLen += 2
			d.state = dotText
			return 0
		default:
			// RFC 5321 4.5.2: drop the first of a line's leading dots.
			return d.text(c, p)
		}
	case dotDotCR:
		if c == '\n' {
			d.done = true
			d.state = dotBOL
			return 0
		}
		// ".\r" then something other than LF: the CR was bare.
		d.stats.BareCR++
		d.lineLen += 2
		// Return the held ".\r" first, then read c again as text.
		d.hold('.', '\r')
		d.state = dotText
		d.r.UnreadByte()
		return 0
	case dotCR:
		if c == '\n' {
			p[0] = c
			if d.lineLen-1 > MaxTextLine {
				d.stats.LongLines++
			}
			d.lineLen = 0
			d.state = dotBOL
			return 1
		}
		d.stats.BareCR++
		return d.text(c, p)
	default:
		return d.text(c, p)
	}
}

// text handles c as a byte inside a line.
func (d *DotReader) text(c byte, p []byte) int {
	p[0] = c
	d.lineLen++
	switch c {
	case '\r':
		d.state = dotCR
	case '\n':
		d.stats.BareLF++
		d.state = dotText
	default:
		d.state = dotText
	}
	return 1
}

func (d *DotReader) hold(a, b byte) {
	d.held[0], d.held[1] = a, b
	d.nheld, d.emitted = 2, 0
}

// ErrLineTooLong is returned by ReadLine for a line longer than its limit;
// the rest of the line has been read and discarded.
var ErrLineTooLong = errors.New("smtp: line too long")

// Line is one command line as read from the client.
type Line struct {
	// Text is the line without its terminator.
	Text string
	// BareLF is set when the line ended in LF without CR.
	BareLF bool
	// Partial holds what was read of the line when a read error (a
	// deadline) cut it short: pass it to ReadLineAfter to go on with the
	// same line rather than take its rest for a new one.
	Partial []byte
}

// ReadLine reads one command line ending in LF from r. A line longer than
// max bytes (terminator included) is drained up to its LF without being
// buffered, and ErrLineTooLong is returned: memory stays bounded however
// long the line is.
func ReadLine(r *bufio.Reader, max int) (Line, error) {
	return ReadLineAfter(r, max, nil)
}

// ReadLineAfter is ReadLine of a line whose first bytes, partial, an
// earlier ReadLine returned in Line.Partial with its error.
func ReadLineAfter(r *bufio.Reader, max int, partial []byte) (Line, error) {
	buf := partial
	if len(buf) > max {
		return drainAfter(r, buf) // a drain a deadline cut short
	}
	for {
		frag, err := r.ReadSlice('\n')
		if err == nil {
			if len(buf)+len(frag) > max {
				return Line{Text: head(buf, frag)}, ErrLineTooLong
			}
			buf = append(buf, frag...)
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && (len(buf) > 0 || len(frag) > 0) {
				err = io.ErrUnexpectedEOF
			}
			// frag is r's buffer, overwritten by the next read: copied.
			return Line{Partial: append(buf[:len(buf):len(buf)], frag...)}, err
		}
		if len(buf)+len(frag) > max {
			return drainAfter(r, append(buf[:len(buf):len(buf)], frag...))
		}
		buf = append(buf, frag...)
	}
	l := Line{}
	buf = buf[:len(buf)-1]
	if len(buf) > 0 && buf[len(buf)-1] == '\r' {
		buf = buf[:len(buf)-1]
	} else {
		l.BareLF = true
	}
	l.Text = string(buf)
	return l, nil
}

// head is the first bytes of an over-long line, so that the caller can
// tell which command it was (a BDAT's chunk must not be read as commands).
func head(buf, frag []byte) string {
	b := append(buf[:len(buf):len(buf)], frag[:min(len(frag), 16)]...)
	return string(b[:min(len(b), 16)])
}

// drainAfter discards the rest of an over-long line whose first bytes,
// more than the limit, are buf. It returns ErrLineTooLong at the LF, or
// the read error with buf as Line.Partial, so that ReadLineAfter goes on
// draining the same line.
func drainAfter(r *bufio.Reader, buf []byte) (Line, error) {
	err := drainLine(r)
	l := Line{Text: head(buf, nil)}
	if !errors.Is(err, ErrLineTooLong) {
		l.Partial = buf
	}
	return l, err
}

// drainLine discards input up to and including the next LF.
func drainLine(r *bufio.Reader) error {
	for {
		_, err := r.ReadSlice('\n')
		if err == nil {
			return ErrLineTooLong
		}
		if err != bufio.ErrBufferFull {
			return err
		}
	}
}
