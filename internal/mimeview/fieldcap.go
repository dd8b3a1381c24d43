package mimeview

import (
	"bufio"
	"bytes"
	"io"
)

// fieldCap sits between a multipart body and go-message's
// MultipartReader and drops the part header fields past the message's
// MaxHeaderFields, so that textproto.ReadHeader, which NextPart calls
// with no limit of its own, parses no more than that. Everything else
// passes through unchanged.
//
// It follows the body a line at a time as the MultipartReader will, to
// know which lines are part headers: a part starts at a delimiter line
// (RFC 2046 5.1.1) and its header ends at the first empty line. The
// reader's own rules are mirrored where they decide whether a part
// starts: in CRLF mode (set by the first delimiter line) a delimiter must
// follow a CRLF or open the part body. A line taken for a delimiter
// that the reader refuses makes it fail, so nothing after it is read.
type fieldCap struct {
	br    *bufio.Reader
	delim []byte // "--" boundary
	left  *int   // header fields the message may still have parsed
	err   error  // of br, returned once pending is handed out

	pending []byte // rest of the current chunk, a slice of br's buffer
	state   capState
	part    int  // delimiters seen: the part being read
	cut     int  // the first part whose header lost fields; 0 for none
	drop    bool // the current line is dropped
	midLine bool // the next chunk continues a line longer than br's buffer

	crlf      bool // go-message's CRLF mode: "\r\n--boundary" ends a body
	prevCRLF  bool // the last complete line ended with CRLF
	prevCR    bool // the last chunk ended with CR, maybe half a CRLF
	bodyStart bool // the next line is the first of a part body
}

type capState int

const (
	capPreamble capState = iota // before the first delimiter line
	capHeader                   // in a part header
	capBody                     // in a part body
	capEpilogue                 // after the close-delimiter: passed on as is
)

// newFieldCap reads r, which skipPreamble has positioned at the first
// delimiter line of boundary. left is shared by every multipart of the
// message.
func newFieldCap(r io.Reader, boundary string, left *int) *fieldCap {
	// bufio's default 4 KiB is the size of the MultipartReader's own
	// buffer, which must hold a whole delimiter line: a longer one is
	// never a delimiter to it, nor here.
	return &fieldCap{br: bufio.NewReader(r), delim: []byte("--" + boundary), left: left}
}

func (c *fieldCap) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(c.pending) == 0 {
			// Do not wait for more once there is something to return.
			if c.err != nil || (n > 0 && c.br.Buffered() == 0) {
				break
			}
			chunk, err := c.br.ReadSlice('\n')
			full := err == bufio.ErrBufferFull
			if err != nil && !full {
				c.err = err
			}
			if len(chunk) > 0 && c.keep(chunk, full) {
				c.pending = chunk
			}
			continue
		}
		k := copy(p[n:], c.pending)
		c.pending = c.pending[k:]
		n += k
	}
	if n == 0 && len(p) > 0 {
		return 0, c.err
	}
	return n, nil
}

// keep takes the next chunk of the body, a whole line or, when full,
// the start or middle of a longer one, and says whether to pass it on.
func (c *fieldCap) keep(chunk []byte, full bool) bool {
	if !c.midLine {
		c.drop = c.lineDropped(chunk)
	}
	c.midLine = full
	if !full {
		c.prevCRLF = bytes.HasSuffix(chunk, []byte("\r\n")) || len(chunk) == 1 && chunk[0] == '\n' && c.prevCR
	}
	c.prevCR = chunk[len(chunk)-1] == '\r'
	return !c.drop
}

// lineDropped moves on by the line starting with chunk and says whether
// it is a header field past the cap, or the continuation of one.
func (c *fieldCap) lineDropped(chunk []byte) bool {
	switch c.state {
	case capPreamble:
		// As the MultipartReader does before the first part, lines that
		// are not a delimiter are passed over.
		if open, closing := c.delimiter(chunk); closing {
			c.state = capEpilogue
		} else if open {
			// go-message switches to LF mode when the first delimiter
			// line ends with a bare LF.
			c.crlf = !bytes.HasSuffix(chunk, []byte("\n")) || bytes.HasSuffix(chunk, []byte("\r\n"))
			c.startPart()
		}
	case capHeader:
		switch {
		case len(trimEOL(chunk)) == 0:
			// RFC 5322 2.1, RFC 2045 3: the empty line ends the header.
			c.state, c.bodyStart = capBody, true
		case chunk[0] == ' ' || chunk[0] == '\t':
			// RFC 5322 2.2.3: a folded line goes with its field.
			return c.drop
		case *c.left > 0:
			*c.left--
		default:
			if c.cut == 0 {
				c.cut = c.part
			}
			return true
		}
	case capBody:
		atStart := c.bodyStart
		c.bodyStart = false
		if !atStart && c.crlf && !c.prevCRLF {
			break
		}
		if open, closing := c.delimiter(chunk); closing {
			c.state = capEpilogue
		} else if open {
			c.startPart()
		}
	}
	return false
}

func (c *fieldCap) startPart() {
	c.state = capHeader
	c.part++
	c.drop = false
}

// delimiter says whether line is a delimiter line of the boundary
// (open) or its close-delimiter line (closing), RFC 2046 5.1.1, judged
// exactly as go-message's MultipartReader judges them (isFinalBoundary,
// isBoundaryDelimiterLine): after the boundary, "--" for the close, and
// spaces or tabs, the line must end in the reader's line ending: CRLF,
// or LF once the first delimiter line ended in a bare LF (then a bare LF
// there is what switches it). A close-delimiter that the reader would
// not take must not end the counting here, or the header fields after it
// would go through uncounted.
func (c *fieldCap) delimiter(line []byte) (open, closing bool) {
	rest, ok := bytes.CutPrefix(line, c.delim)
	if !ok {
		return false, false
	}
	nl := []byte("\r\n")
	if c.state != capPreamble && !c.crlf {
		nl = nl[1:]
	}
	if after, ok := bytes.CutPrefix(rest, []byte("--")); ok {
		if after = bytes.TrimLeft(after, " \t"); len(after) == 0 || bytes.Equal(after, nl) {
			return false, true
		}
	}
	rest = bytes.TrimLeft(rest, " \t")
	if c.state == capPreamble && bytes.Equal(rest, []byte("\n")) {
		return true, false // the reader's switch to bare-LF lines
	}
	return bytes.Equal(rest, nl), false
}
