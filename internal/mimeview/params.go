package mimeview

import (
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
)

// maxParamSections caps RFC 2231 continuations (name*0, name*1, ...); a
// real filename needs a handful.
const maxParamSections = 64

// fieldParams parses a Content-Type or Content-Disposition field of h:
// the lower-case value ("text/plain", "attachment") and the parameters,
// keys lower-case, values decoded to UTF-8.
//
// go-message does the parsing (mime.ParseMediaType, then RFC 2047 in the
// values). Two things it cannot do are made up for by a lenient parser:
// mime.ParseMediaType rejects the whole field for one bad parameter
// (unquoted "boundary=----=_Part_1" is common) and go-message then
// returns the entire field as the media type; and it drops RFC 2231
// values in any charset but UTF-8 and US-ASCII (filename*=iso-8859-1'de'...).
// The lenient parser's parameters fill the gaps, and replace go-message's
// for every parameter sent in RFC 2231 form; problems are recorded under
// where.
func (d *decoder) fieldParams(h *message.Header, key, where string) (string, map[string]string) {
	raw := h.Get(key)
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	var value string
	var params map[string]string
	var err error
	if key == "Content-Type" {
		value, params, err = h.ContentType()
	} else {
		value, params, err = h.ContentDisposition()
	}
	lv, lp, sectioned := d.lenientParams(raw)
	if err != nil {
		d.prob.add("%s: malformed %s %s: %v", where, key, quote([]byte(raw)), err)
		value = lv
		params = nil
	}
	if params == nil {
		params = make(map[string]string, len(lp))
	}
	for k, v := range lp {
		// go-message decodes RFC 2047 in every parameter, the boundary
		// included, where "=?" is legal and must stay as sent.
		//
		// For an RFC 2231 parameter in another charset than UTF-8 or
		// US-ASCII, mime.ParseMediaType drops the section naming the
		// charset but keeps the sections after it (name*1*=...), or the
		// plain name= sent for old readers: a value, but a wrong one.
		// RFC 2231 4.1 has the extended form win over the plain one, as
		// lenientParams does.
		if _, ok := params[k]; !ok || k == "boundary" || sectioned[k] {
			params[k] = v
		}
	}
	for k, v := range params {
		params[k] = strings.ToValidUTF8(v, "\uFFFD")
	}
	return strings.ToLower(value), params
}

// paramSection is one piece of an RFC 2231 parameter.
type paramSection struct {
	value    string
	extended bool // name*= or name*N*=: charset'language'%XX form
}

// lenientParams splits a field value at the semicolons outside quotes
// and parses each "key=value" on its own, assembling RFC 2231 sections
// (RFC 2231 3 and 4). Pieces it cannot make sense of are skipped.
// sectioned holds the keys whose value was assembled from RFC 2231
// sections (name*=, name*0=, name*0*=, ...).
func (d *decoder) lenientParams(v string) (string, map[string]string, map[string]bool) {
	pieces := splitParams(v)
	value := strings.TrimSpace(pieces[0])
	plain := map[string]string{}
	sections := map[string]map[int]paramSection{}
	for _, p := range pieces[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = unquote(strings.TrimSpace(val))
		if k == "" {
			continue
		}
		base, rest, star := strings.Cut(k, "*")
		if !star {
			plain[k] = val
			continue
		}
		// RFC 2231 3: name*N for continuations, a trailing * for the
		// extended (encoded) form.
		extended := strings.HasSuffix(rest, "*") || rest == ""
		num := strings.TrimSuffix(rest, "*")
		n := 0
		if num != "" {
			var err error
			n, err = strconv.Atoi(num)
			if err != nil || n < 0 || n >= maxParamSections {
				continue
			}
		}
		if sections[base] == nil {
			sections[base] = map[int]paramSection{}
		}
		sections[base][n] = paramSection{value: val, extended: extended}
	}

	params := make(map[string]string, len(plain)+len(sections))
	for k, v := range plain {
		if k == "name" || k == "filename" {
			// Not standard, but what Outlook and Gmail write for
			// non-ASCII names: name="=?UTF-8?B?...?=".
			v = d.text("parameter "+k, v)
		}
		params[k] = v
	}
	var sectioned map[string]bool
	for base, secs := range sections {
		first, ok := secs[0]
		if !ok {
			// RFC 2231 3: sections are numbered from 0; without it there
			// is no value, and a plain one sent alongside stays.
			continue
		}
		// RFC 2231 4.1: the extended form wins over a plain one, which
		// old readers were given as a fallback.
		v := d.joinSections(base, secs)
		if !first.extended && (base == "name" || base == "filename") {
			// Plain continuations of an RFC 2047 encoded name, as for a
			// plain name above; go-message decodes those too.
			v = d.text("parameter "+base, v)
		}
		params[base] = v
		if sectioned == nil {
			sectioned = make(map[string]bool, len(sections))
		}
		sectioned[base] = true
	}
	return value, params, sectioned
}

// joinSections assembles name*0, name*1, ... in order, stopping at the
// first missing number (RFC 2231 3: they must be consecutive). Encoded
// sections are percent-decoded and the whole converted from the charset
// named by the first one, since a multibyte character may span two.
func (d *decoder) joinSections(base string, secs map[int]paramSection) string {
	nums := make([]int, 0, len(secs))
	for n := range secs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var buf []byte
	label := ""
	for i, n := range nums {
		if n != i {
			break
		}
		s := secs[n]
		v := s.value
		if s.extended {
			if i == 0 {
				// charset'language'value; the language is of no use here.
				parts := strings.SplitN(v, "'", 3)
				if len(parts) == 3 {
					label, v = parts[0], parts[2]
				}
			}
			buf = append(buf, percentDecode(v)...)
		} else {
			buf = append(buf, v...)
		}
	}
	if label == "" {
		return strings.ToValidUTF8(string(buf), "\uFFFD")
	}
	s, problem := toUTF8(buf, label)
	if problem != "" {
		d.prob.add("parameter %s: %s", base, problem)
	}
	return s
}

// splitParams splits at semicolons outside quoted strings.
func splitParams(v string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// unquote removes the quotes of a quoted-string (RFC 5322 3.2.4) and its
// backslash escapes; an unterminated one runs to the end.
func unquote(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			b.WriteByte(v[i])
			continue
		}
		if c == '"' {
			break
		}
		b.WriteByte(c)
	}
	return b.String()
}

// percentDecode undoes RFC 2231 %XX escapes; a bad escape is kept as is.
func percentDecode(v string) []byte {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			out = append(out, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
			continue
		}
		out = append(out, v[i])
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// cleanFilename keeps the last path element of a suggested filename (RFC
// 2183 2.3: the receiving MUA should not respect directory information)
// and drops control characters, since the name ends up in the
// Content-Disposition of a download.
func cleanFilename(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	return name
}
