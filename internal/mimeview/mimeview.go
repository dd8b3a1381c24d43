// Package mimeview turns the raw bytes of a received message (RFC 5322,
// MIME per RFC 2045-2049) into a view model for the web UI, the REST API
// and the search index: decoded headers and addresses, the text and HTML
// bodies in UTF-8, and a flat list of leaf parts with IMAP-style section
// numbers (RFC 3501 6.4.5) through which any part's bytes can be fetched.
//
// The input is whatever an SMTP client sent, so it is treated as hostile:
// Parse never fails and never panics, it records what it found broken in
// Message.Problems, and Options bound the work it does. Nothing is kept
// between calls: Parse, PartContent and ByContentID may run concurrently,
// and PartContent walks the message again as Parse did, so that a part's
// ID, flags and bytes agree between the two. Parsing is done
// with github.com/emersion/go-message; its charset package is imported so
// that every charset golang.org/x/text knows can be decoded.
package mimeview

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Defaults for Options. Real mail has a few dozen parts and a nesting of
// three or four (mixed > alternative > related); the caps only stop
// crafted input from making one view cost seconds or gigabytes.
const (
	// DefaultMaxParts is the cap on body parts visited: mailing-list
	// digests reach a few hundred, nothing legitimate reaches more.
	DefaultMaxParts = 500
	// DefaultMaxDepth is the cap on multipart nesting; each level adds a
	// reader to every byte read beneath it.
	DefaultMaxDepth = 20
	// DefaultMaxTextBytes is the cap on the decoded text and HTML bodies
	// kept: more than any person reads, and what a search index wants.
	DefaultMaxTextBytes = 4 << 20
	// DefaultMaxHeaderFields is the cap on header fields parsed in one
	// message. Real headers have tens of fields, Received the longest
	// run (RFC 5321 6.3 rejects for a loop from at least 100 of them);
	// each field parsed costs several hundred bytes however short it is,
	// so "a:b" lines would cost over a hundred times their size. Go's
	// mime/multipart allows a part the same number (multipartmaxheaders).
	DefaultMaxHeaderFields = 10000
	// maxProblems keeps Problems readable when every part is broken.
	maxProblems = 100
	// maxProblemLen bounds one problem, which may quote hostile input.
	maxProblemLen = 300
)

// Options bound the work done on hostile input. Zero or negative fields
// take the defaults. MaxParts counts the body parts of multiparts, nested
// multiparts included, the message itself not; parts past it are not
// read. A multipart enclosed in MaxDepth others is not opened but listed
// as one opaque part.
//
// MaxHeaderFields counts the fields of the top-level header and of every
// body part's header together, since a per-section cap would still let
// MaxParts parts cost that much each. Fields past it are skipped, not
// parsed; the header section they are in still ends at its empty line, so
// the body is where the sender put it. Part headers take from it in the
// order the multipart readers come to them, which may run a few KiB
// ahead of the part being read; that never depends on the part looked
// for, so Parse and PartContent agree.
type Options struct {
	MaxParts        int // cap on MIME parts visited; 0 = DefaultMaxParts
	MaxDepth        int // cap on multipart nesting; 0 = DefaultMaxDepth
	MaxTextBytes    int // cap on decoded Text/HTML kept; 0 = DefaultMaxTextBytes
	MaxHeaderFields int // cap on header fields parsed per message; 0 = DefaultMaxHeaderFields
}

func (o Options) withDefaults() Options {
	if o.MaxParts <= 0 {
		o.MaxParts = DefaultMaxParts
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = DefaultMaxTextBytes
	}
	if o.MaxHeaderFields <= 0 {
		o.MaxHeaderFields = DefaultMaxHeaderFields
	}
	return o
}

// Address is one mailbox of an address header, with its display name
// decoded to UTF-8 (RFC 2047). An entry that could not be parsed keeps
// what could be salvaged: Addr may be empty, or not a valid address.
type Address struct {
	Name, Addr string
}

// HeaderField is one top-level header field, in the order received.
//
// Name is the field name as received (case kept, surrounding blanks
// removed). Raw is every byte after the colon up to the field's final
// line break, folding included, so Name + ":" + Raw shows the field as it
// was sent. Value is Raw unfolded (RFC 5322 2.2.3), trimmed, with RFC 2047
// encoded words decoded and invalid UTF-8 replaced by U+FFFD.
type HeaderField struct {
	Name, Raw, Value string
}

// Part is one leaf of the MIME tree.
type Part struct {
	// ID is the part's section number as in IMAP BODY[section] (RFC 3501
	// 6.4.5): "1", "2.1", ... The body of a message that is not
	// multipart is "1".
	ID string
	// ContentType is the lower-case media type, e.g. "image/png".
	ContentType string
	// Charset is the lower-case charset parameter, "" when absent.
	Charset string
	// Filename is the Content-Disposition filename, else the Content-Type
	// name, decoded from RFC 2231 and RFC 2047 forms, without directories.
	Filename string
	// Disposition is "inline", "attachment" or "" (RFC 2183).
	Disposition string
	// ContentID is the Content-ID without angle brackets (RFC 2392).
	ContentID string
	// Size is the number of bytes once the transfer encoding is removed.
	Size int
	// Attachment says a user would call this part an attachment; see
	// Parse for the rule.
	Attachment bool
}

// Message is the view of one message.
type Message struct {
	Header                []HeaderField
	Subject               string
	From, To, Cc, ReplyTo []Address
	Date                  time.Time // zero when absent or unparsable
	MessageID             string    // without angle brackets
	// Text is the text/plain body: the first text/plain part in body
	// position (see Parse), converted to UTF-8.
	Text string
	// HTML is the text/html body, found the same way.
	HTML string
	// Parts lists every leaf part in order.
	Parts []Part
	// Attachments counts the Parts with Attachment set.
	Attachments int
	// Problems says what was broken: Parse never fails.
	Problems []string
}

// Parse builds the view of raw, a message as the client sent it (without
// the store's own X-FakeSMTP-* fields). It never fails: whatever is
// broken is skipped or worked around, and said in Problems.
//
// The body is found as a reader's mail program would show it: the whole
// message when it is not multipart; in multipart/alternative every
// alternative is a candidate (RFC 2046 5.1.4); in multipart/related only
// the root (RFC 2387 3.2); in multipart/mixed and every other subtype
// (RFC 2046 5.1.7: unknown subtypes are treated as mixed) the first part
// that is text/plain, text/html or multipart. Text and HTML are the first
// text/plain and text/html leaves found in body position, never one
// with disposition attachment. message/rfc822 parts are not entered.
//
// A part is an Attachment when its disposition is attachment; or it is
// message/*; or it is another text/* part, not taken as Text or HTML,
// that has a filename; or it is any other non-multipart part, except the
// resources of a multipart/related (non-root parts with a Content-ID or
// Content-Location, RFC 2387 and RFC 2557), which are inline parts of
// the HTML even when they carry a filename.
func Parse(raw []byte, opt Options) (m *Message) {
	m = &Message{}
	pr := &problems{}
	defer func() {
		// Last resort only: a panic here is a bug to fix, but one hostile
		// message must not take the web UI down with it.
		if r := recover(); r != nil {
			pr.add("internal error while parsing: %v", r)
		}
		m.Problems = pr.result()
	}()
	opt = opt.withDefaults()

	dec := newDecoder(pr)
	hb := splitHeader(raw, opt.MaxHeaderFields, pr)
	m.Header = make([]HeaderField, 0, len(hb.fields))
	for _, f := range hb.fields {
		m.Header = append(m.Header, HeaderField{
			Name:  f.name,
			Raw:   f.raw,
			Value: dec.text("header "+f.name, unfold(f.raw)),
		})
	}
	m.envelope(hb, dec, pr)

	w := &walker{
		opt:  opt,
		prob: pr,
		dec:  dec,
		keep: func(_ *Part, r role) int {
			if r == roleNone {
				return 0
			}
			return opt.MaxTextBytes
		},
		leaf: func(p Part, r role, data []byte) bool {
			m.Parts = append(m.Parts, p)
			if p.Attachment {
				m.Attachments++
			}
			switch r {
			case roleText:
				m.Text = bodyText(p, data, opt.MaxTextBytes, pr)
			case roleHTML:
				m.HTML = bodyText(p, data, opt.MaxTextBytes, pr)
			}
			return true
		},
	}
	w.walk(hb, raw)
	return m
}

// bodyText converts a body part to UTF-8 and applies the text cap. data
// holds the first limit bytes of the part; the cap is applied again
// after conversion, which may have made the text longer.
func bodyText(p Part, data []byte, limit int, pr *problems) string {
	if len(data) < p.Size {
		// Cut mid-character by the walker: drop the partial UTF-8
		// sequence rather than report it as invalid.
		data = trimPartialRune(data)
	}
	s, problem := toUTF8(data, p.Charset)
	if problem != "" {
		pr.add("part %s: %s", p.ID, problem)
	}
	if p.Size > limit || len(s) > limit {
		pr.add("part %s: text cut to %d bytes of %d", p.ID, limit, p.Size)
		s = cutUTF8(s, limit)
	}
	return s
}

// problems collects what Parse found broken, once each and at most
// maxProblems of them. A nil *problems discards everything, for the
// walks of PartContent that only look for one part.
type problems struct {
	list    []string
	seen    map[string]bool
	dropped int
}

func (p *problems) add(format string, args ...any) {
	if p == nil {
		return
	}
	// Errors from go-message quote the offending input whole: keep
	// problems one short line of valid UTF-8, fit for a log or JSON.
	s := fmt.Sprintf(format, args...)
	s = strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
	// Replace before cutting: each invalid byte grows to a 3-byte U+FFFD,
	// so cutting first could leave the line over maxProblemLen.
	s = cutUTF8(strings.ToValidUTF8(s, "\uFFFD"), maxProblemLen)
	if p.seen[s] {
		return
	}
	if len(p.list) >= maxProblems {
		p.dropped++
		return
	}
	if p.seen == nil {
		p.seen = make(map[string]bool)
	}
	p.seen[s] = true
	p.list = append(p.list, s)
}

func (p *problems) result() []string {
	if p.dropped > 0 {
		return append(p.list, fmt.Sprintf("and %d more problems", p.dropped))
	}
	return p.list
}

// quote shortens a piece of hostile input for a problem message.
func quote(b []byte) string {
	const max = 60
	if len(b) > max {
		return fmt.Sprintf("%q...", bytes.ToValidUTF8(b[:max], []byte("\uFFFD")))
	}
	return fmt.Sprintf("%q", b)
}
