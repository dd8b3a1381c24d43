package mimeview

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// copyBufferSize is the buffer leaf bodies are read through: larger
// gains nothing, the multipart reader hands out at most 4 KiB at a time.
const copyBufferSize = 8 << 10

// role is what the walker decided a leaf is shown as.
type role int

const (
	roleNone role = iota // not a body: an attachment, inline resource, or unused alternative
	roleText             // Message.Text
	roleHTML             // Message.HTML
)

// frame is the multipart a child is read from.
type frame struct {
	subtype   string // "mixed", "alternative", "related", "digest", ...
	bodyPos   bool   // the multipart itself is in body position
	start     string // multipart/related root's Content-ID (RFC 2387 3.2)
	bodyTaken bool   // a child of a mixed-like multipart took the body
}

// walker reads the MIME tree of one message, depth first, in the order of
// the bytes. Parse and PartContent share it, so a part has the same ID,
// flags and bytes for both.
//
// The tree is streamed through go-message's textproto.MultipartReader,
// never held: only the leaf being read is in memory, and only as much of
// it as keep asks for. Everything the rules of Parse need to know about a
// leaf (role, Attachment) depends on what came before it, never after,
// so it is decided when the leaf is reached.
type walker struct {
	opt  Options
	prob *problems
	dec  *decoder
	// keep says how many decoded bytes of the leaf p to pass to leaf;
	// -1 keeps all. Size is not known yet.
	keep func(p *Part, r role) int
	// leaf receives each leaf in order; false stops the walk.
	leaf func(p Part, r role, data []byte) bool

	buf        []byte // copy buffer for leaf bodies
	parts      int    // body parts read, against MaxParts
	text, html bool   // Message.Text and HTML have been assigned
	stopped    bool
	// fieldsLeft is what remains of MaxHeaderFields for part headers;
	// fieldsCut is set once fields have been skipped and said so.
	fieldsLeft int
	fieldsCut  bool
}

// walk reads the message raw, whose top-level header splitHeader found
// as hb.
func (w *walker) walk(hb headerBlock, raw []byte) {
	if w.dec == nil {
		w.dec = newDecoder(w.prob)
	}
	w.fieldsLeft = w.opt.MaxHeaderFields - len(hb.fields)
	w.fieldsCut = hb.fieldsCut
	w.entity("", hb.header, bytes.NewReader(raw[hb.body:]), 0, nil, 1)
}

// entity reads one entity: the message itself (id "", parent nil) or the
// index-th body part of parent.
func (w *walker) entity(id string, h message.Header, body io.Reader, depth int, parent *frame, index int) {
	where := "part " + leafID(id)
	if id == "" {
		where = "message"
	}
	mediaType, params := w.dec.fieldParams(&h, "Content-Type", where)
	switch {
	case mediaType == "" && parent != nil && parent.subtype == "digest":
		// RFC 2046 5.1.5: in a digest the default is message/rfc822.
		mediaType = "message/rfc822"
	case mediaType == "":
		// RFC 2045 5.2: no Content-Type means text/plain; us-ascii.
		mediaType = "text/plain"
	case !validMediaType(mediaType):
		// RFC 2045 5.2 recommends the same default for an invalid one.
		w.prob.add("%s: invalid media type %s; taken as text/plain", where, quote([]byte(mediaType)))
		mediaType = "text/plain"
	}
	disp, dparams := w.dec.fieldParams(&h, "Content-Disposition", where)
	switch disp {
	case "", "inline", "attachment":
	default:
		// RFC 2183 2.8: an unrecognized disposition is treated as
		// attachment.
		disp = "attachment"
	}
	p := Part{
		ID:          leafID(id),
		ContentType: mediaType,
		Charset:     strings.ToLower(strings.TrimSpace(params["charset"])),
		Disposition: disp,
		ContentID:   contentID(h.Get("Content-Id")),
	}
	if name := dparams["filename"]; name != "" {
		p.Filename = cleanFilename(name)
	} else {
		// RFC 2046 4.5.1's name parameter, obsolete but still written.
		p.Filename = cleanFilename(params["name"])
	}
	bodyPos, resource := w.position(parent, index, &p)
	if resource && p.ContentID == "" && h.Get("Content-Location") == "" {
		resource = false // nothing in the HTML can refer to it
	}

	if strings.HasPrefix(mediaType, "multipart/") {
		if depth < w.opt.MaxDepth {
			fr := &frame{
				subtype: strings.TrimPrefix(mediaType, "multipart/"),
				bodyPos: bodyPos,
				start:   contentID(params["start"]),
			}
			w.multipart(id, params["boundary"], body, depth, fr, p)
			return
		}
		// Shown as one opaque part, which PartContent can still return.
		w.prob.add("%s: multipart nested deeper than %d; not opened", where, w.opt.MaxDepth)
		w.readLeaf(p, roleNone, body, nil)
		return
	}

	r := roleNone
	if bodyPos {
		switch {
		case mediaType == "text/plain" && !w.text:
			w.text, r = true, roleText
		case mediaType == "text/html" && !w.html:
			w.html, r = true, roleHTML
		}
	}
	p.Attachment = isAttachment(&p, r, resource)
	w.readLeaf(p, r, body, &h)
}

// position decides whether the index-th child of parent is in body
// position (it or something in it may be shown as the body) and whether
// it is a resource of a multipart/related. See Parse for the rules.
func (w *walker) position(parent *frame, index int, p *Part) (bodyPos, resource bool) {
	if parent == nil {
		return p.Disposition != "attachment", false
	}
	if parent.subtype == "related" {
		root := index == 1
		if parent.start != "" {
			root = p.ContentID == parent.start
		}
		if !root {
			return false, true
		}
	}
	if !parent.bodyPos || p.Disposition == "attachment" {
		return false, false
	}
	switch parent.subtype {
	case "alternative", "related":
		// RFC 2046 5.1.4: each alternative is the same content; the
		// related root was checked above.
		return true, false
	}
	// multipart/mixed, and by RFC 2046 5.1.7 any subtype not known: the
	// first part that can be read as a body. This covers
	// multipart/signed (RFC 1847 2.1: the content comes first) and
	// multipart/report (RFC 6522 3: the human-readable part first).
	if parent.bodyTaken {
		return false, false
	}
	switch {
	case p.ContentType == "text/plain", p.ContentType == "text/html",
		strings.HasPrefix(p.ContentType, "multipart/"):
		parent.bodyTaken = true
		return true, false
	}
	return false, false
}

// isAttachment applies the rule given in Parse's documentation.
func isAttachment(p *Part, r role, resource bool) bool {
	switch {
	case p.Disposition == "attachment":
		return true
	case r != roleNone:
		return false
	case strings.HasPrefix(p.ContentType, "message/"):
		return true
	case strings.HasPrefix(p.ContentType, "text/"):
		return p.Filename != ""
	}
	return !resource
}

// multipart reads the body parts of a multipart entity (RFC 2046 5.1).
func (w *walker) multipart(id, boundary string, body io.Reader, depth int, fr *frame, p Part) {
	where := "part " + p.ID
	if id == "" {
		where = "message"
	}
	// The body is recorded until the first boundary is found: if none
	// ever is, it is shown as text rather than lost.
	rec := &recorder{r: body, on: true}
	start, found := skipPreamble(rec, boundary)
	// NextPart reads each part's header with textproto.ReadHeader, which
	// has no cap of its own: the fields past MaxHeaderFields are taken
	// out of the stream before it.
	fc := newFieldCap(start, boundary, &w.fieldsLeft)
	mr := textproto.NewMultipartReader(fc, boundary)
	n := 0
	truncated := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			if n == 0 {
				w.prob.add("%s: %s has no body parts", where, p.ContentType)
			}
			return
		}
		if err != nil {
			switch {
			case n == 0:
				w.noParts(where, boundary, found, err, rec, fr, p)
			case truncated:
				// RFC 2046 5.1.1: the close-delimiter is required.
				w.prob.add("%s: %s ends without its closing boundary", where, p.ContentType)
			default:
				w.prob.add("%s: malformed %s: %v", where, p.ContentType, err)
			}
			return
		}
		if n == 0 {
			rec.stop()
		}
		n++
		if w.parts >= w.opt.MaxParts {
			w.prob.add("more than %d MIME parts; the rest is not shown", w.opt.MaxParts)
			w.stopped = true
			return
		}
		w.parts++
		if fc.cut == n && !w.fieldsCut {
			w.fieldsCut = true
			w.prob.add("part %s: more than %d header fields in the message; the rest are skipped", childID(id, n), w.opt.MaxHeaderFields)
		}
		src := &errReader{r: part}
		w.entity(childID(id, n), message.Header{Header: part.Header}, src, depth+1, fr, n)
		if w.stopped {
			return
		}
		// Read what the child left (an epilogue) so that src sees how
		// the part ended.
		_, _ = io.Copy(io.Discard, src)
		truncated = errors.Is(src.err, io.ErrUnexpectedEOF)
	}
}

// skipPreamble reads past the preamble of a multipart body (RFC 2046
// 5.1.1: text before the first delimiter line, to be ignored) and returns
// a reader that starts at that line. go-message's multipart reader scans
// the preamble a line at a time in a 4 KiB buffer and fails on a longer
// line ("bufio: buffer full"), which the RFC allows there. When no
// delimiter comes, found is false and the reader returned is at the end
// of the body, which the multipart reader reports.
func skipPreamble(r io.Reader, boundary string) (start io.Reader, found bool) {
	if boundary == "" {
		return r, false
	}
	br := bufio.NewReader(r)
	delim := []byte("--" + boundary)
	lineStart := true
	for {
		line, err := br.ReadSlice('\n')
		if lineStart && isDelimiter(line, delim) {
			return io.MultiReader(bytes.NewReader(bytes.Clone(line)), br), true
		}
		switch err {
		case nil:
			lineStart = true
		case bufio.ErrBufferFull:
			lineStart = false // the rest of a long line follows
		default:
			return br, false
		}
	}
}

// isDelimiter reports whether line is a delimiter or close-delimiter
// line for delim ("--" boundary): RFC 2046 5.1.1 allows white space
// after it.
func isDelimiter(line, delim []byte) bool {
	rest, ok := bytes.CutPrefix(trimEOL(line), delim)
	if !ok {
		return false
	}
	rest = bytes.TrimPrefix(rest, []byte("--"))
	return len(bytes.Trim(rest, " \t")) == 0
}

// noParts handles a multipart of which no body part could be read: its
// body is shown as a text/plain leaf with the multipart's ID.
func (w *walker) noParts(where, boundary string, found bool, err error, rec *recorder, fr *frame, p Part) {
	switch {
	case boundary == "":
		w.prob.add("%s: %s without a boundary parameter (RFC 2046 5.1.1); shown as text", where, p.ContentType)
	case found:
		w.prob.add("%s: malformed %s: %v; shown as text", where, p.ContentType, err)
	default:
		w.prob.add("%s: boundary %q of %s never found (%v); shown as text", where, boundary, p.ContentType, err)
	}
	_, _ = io.Copy(io.Discard, rec)
	p.ContentType = "text/plain"
	r := roleNone
	// An empty body (a nested multipart cut short by its parent's
	// boundary) is no text to show.
	if fr.bodyPos && !w.text && len(bytes.TrimSpace(rec.buf)) > 0 {
		w.text, r = true, roleText
	}
	p.Attachment = isAttachment(&p, r, false)
	w.readLeaf(p, r, bytes.NewReader(rec.buf), nil)
}

// readLeaf reads a leaf's body, decoding its Content-Transfer-Encoding
// when h is given, and hands it to w.leaf.
func (w *walker) readLeaf(p Part, r role, body io.Reader, h *message.Header) {
	src := &errReader{r: body}
	var dec io.Reader = src
	cte := "raw"
	if h != nil {
		cte = strings.ToLower(h.Get("Content-Transfer-Encoding"))
		var err error
		dec, err = transferDecoder(*h, src)
		if err != nil {
			w.prob.add("part %s: %v; shown undecoded", p.ID, err)
		}
	}
	sink := &keepWriter{keep: w.keep(&p, r)}
	if w.buf == nil {
		// One copy buffer per walk, not io.Copy's 32 KiB per part.
		w.buf = make([]byte, copyBufferSize)
	}
	_, err := io.CopyBuffer(sink, dec, w.buf)
	if err != nil && src.err == nil {
		// The part itself ended well: the encoded data is bad.
		w.prob.add("part %s: bad %s data: %v", p.ID, cte, err)
	}
	p.Size = sink.n
	if !w.leaf(p, r, sink.buf) {
		w.stopped = true
	}
}

// transferDecoder removes the Content-Transfer-Encoding (RFC 2045 6).
// go-message offers that only inside message.New, which also converts
// text/* to UTF-8; given a copy of the header without Content-Type, New
// sees charset-less text/plain and decodes the transfer encoding alone,
// so parts keep the charset bytes PartContent promises.
func transferDecoder(h message.Header, r io.Reader) (io.Reader, error) {
	hc := h.Copy()
	hc.Del("Content-Type")
	e, err := message.New(hc, r)
	if e == nil {
		return r, err
	}
	return e.Body, err
}

// keepWriter counts what is written and keeps the first keep bytes (all
// of them when keep is negative).
type keepWriter struct {
	keep int
	n    int
	buf  []byte
}

func (k *keepWriter) Write(b []byte) (int, error) {
	k.n += len(b)
	switch room := k.keep - len(k.buf); {
	case k.keep < 0:
		k.buf = append(k.buf, b...)
	case room > 0:
		k.buf = append(k.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// errReader remembers the first error other than io.EOF of r, to tell a
// part cut short by its multipart from bad data inside it.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// recorder copies what is read through it while on.
type recorder struct {
	r   io.Reader
	on  bool
	buf []byte
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if r.on {
		r.buf = append(r.buf, b[:n]...)
	}
	return n, err
}

func (r *recorder) stop() { r.on, r.buf = false, nil }

// leafID is the section number of an entity: the message's own body is
// "1" (RFC 3501 6.4.5).
func leafID(id string) string {
	if id == "" {
		return "1"
	}
	return id
}

// childID numbers the n-th body part of the multipart id.
func childID(id string, n int) string {
	if id == "" {
		return strconv.Itoa(n)
	}
	return id + "." + strconv.Itoa(n)
}

// contentID strips the angle brackets and blanks of a Content-ID
// (RFC 2045 7) or a related start parameter.
func contentID(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "<")
	v = strings.TrimSuffix(v, ">")
	return strings.ToValidUTF8(strings.TrimSpace(v), "\uFFFD")
}

// validMediaType reports whether v is type "/" subtype, both RFC 2045
// 5.1 tokens.
func validMediaType(v string) bool {
	t, sub, ok := strings.Cut(v, "/")
	return ok && isToken(t) && isToken(sub)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}
