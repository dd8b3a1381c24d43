package mimeview

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNoPart is returned, wrapped, by PartContent and ByContentID when no
// leaf part matches.
var ErrNoPart = errors.New("mimeview: no such part")

// PartContent returns the part of raw with the given ID (as in
// Message.Parts) and its bytes with the Content-Transfer-Encoding removed.
// The charset is not converted, for text parts either: a download gets
// the bytes the sender meant, and the part's Charset says how to read
// them. When the encoded data is bad, the bytes decoded before the error
// are returned, as Parse's Size counts them; Parse reports the problem.
//
// The message is walked again, as Parse walked it and with the same
// options, up to the part: no state is kept between calls.
func PartContent(raw []byte, id string, opt Options) (Part, []byte, error) {
	return find(raw, opt, func(p *Part) bool { return p.ID == id }, "id "+id)
}

// ByContentID finds the first leaf part whose Content-ID is cid and
// returns it as PartContent does, for the cid: URLs of an HTML body. cid
// may be given as the URL ("cid:" and %XX escapes, RFC 2392 2), with or
// without angle brackets.
func ByContentID(raw []byte, cid string, opt Options) (Part, []byte, error) {
	given := cid
	if len(cid) >= 4 && strings.EqualFold(cid[:4], "cid:") {
		cid = cid[4:]
		if u, err := url.PathUnescape(cid); err == nil {
			cid = u
		}
	}
	want := contentID(cid)
	if want == "" {
		return Part{}, nil, fmt.Errorf("content-id %q: %w", given, ErrNoPart)
	}
	// The forms as given count too, for odd Content-IDs ("<<x>>",
	// "cid:x") that normalizing would change.
	match := func(p *Part) bool {
		return p.ContentID != "" && (p.ContentID == want || p.ContentID == cid || p.ContentID == given)
	}
	return find(raw, opt, match, "content-id "+want)
}

// find walks raw up to the first leaf that match accepts.
func find(raw []byte, opt Options, match func(*Part) bool, what string) (p Part, data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, data, err = Part{}, nil, fmt.Errorf("mimeview: %s: internal error: %v", what, r)
		}
	}()
	found := false
	w := &walker{
		opt: opt.withDefaults(),
		keep: func(q *Part, _ role) int {
			if match(q) {
				return -1
			}
			return 0
		},
		leaf: func(q Part, _ role, d []byte) bool {
			if match(&q) {
				p, data, found = q, d, true
				return false
			}
			return true
		},
	}
	hb := splitHeader(raw, w.opt.MaxHeaderFields, nil)
	w.walk(hb, raw)
	if !found {
		return Part{}, nil, fmt.Errorf("%s: %w", what, ErrNoPart)
	}
	if data == nil {
		data = []byte{}
	}
	return p, data, nil
}
