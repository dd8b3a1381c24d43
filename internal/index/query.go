package index

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Query is a parsed search; the zero Query matches every message. Make
// one with ParseQuery.
type Query struct {
	terms []term
}

// termKind is what a term matches.
type termKind int

const (
	termWord       termKind = iota // free text, token prefix
	termPhrase                     // free text, exact phrase
	termFrom                       // words of From and MAIL FROM
	termTo                         // words of To, Cc and RCPT TO
	termSubject                    // words of the subject
	termIP                         // client IP, CIDR prefix or text prefix
	termHelo                       // substring of HELO/EHLO
	termAttachment                 // has:attachment
	termRead                       // is:read (is:unread is its negation)
	termFinding                    // finding:NAME
	termVerdict                    // verdict:NAME or NAME:*
	termTag                        // tag:NAME
	termBefore                     // received before
	termAfter                      // received at or after
)

// operators maps each key of the language to its kind; has: and is: are
// resolved by value.
var operators = map[string]termKind{
	"from": termFrom, "to": termTo, "subject": termSubject, "ip": termIP, "helo": termHelo,
	"finding": termFinding, "verdict": termVerdict, "tag": termTag,
	"before": termBefore, "after": termAfter, "has": termAttachment, "is": termRead,
}

// term is one condition of a query.
type term struct {
	kind   termKind
	neg    bool
	key    string // the operator as written, lower-case; "" for free text
	value  string
	quoted bool
	pos    int // byte offset of the term in the query, for messages

	at     time.Time    // before:, after:
	ip     netip.Addr   // ip: with an address
	prefix netip.Prefix // ip: with a CIDR prefix
}

// maxTerms bounds a query: each term is a clause or an FTS phrase, and a
// pasted novel should get an error, not a statement the size of it.
const maxTerms = 64

// QueryError is a syntax error in a search, with the 0-based byte offset
// (Pos) where it was found.
type QueryError struct {
	Pos int
	Msg string
}

// Error gives the position as a 1-based column, for people.
func (e *QueryError) Error() string {
	return fmt.Sprintf("index: query: at column %d: %s", e.Pos+1, e.Msg)
}

// ParseQuery parses a search. The grammar, informally:
//
//	query  = term { space term }
//	term   = [ "-" ] ( key ":" value | quoted | word )
//	value  = quoted | bare
//	quoted = '"' { any character; \" and \\ escape } '"', then a space
//	         or the end
//	bare, word = a run of characters up to the next space (or other
//	         control character)
//
// Terms are combined with AND; a leading "-" negates a term. Keys are
// case-insensitive:
//
//	from:V       V's words are in a From header address (display name
//	             included) or in MAIL FROM
//	to:V         V's words are in a To or Cc address or a RCPT TO
//	subject:V    V's words are in the subject
//	ip:V         the client IP is V (192.0.2.1, 2001:db8::1), or lies in
//	             the CIDR prefix V (10.0.0.0/8, 2001:db8::/32) or in the
//	             IPv4 prefix of V's one to three octets ("192.168." and
//	             "192.168" both mean 192.168.0.0/16)
//	helo:V       V is a substring of the HELO/EHLO name (ASCII case
//	             ignored; % and _ are literal)
//	has:attachment
//	is:read, is:unread
//	finding:N    the message has the X-FakeSMTP-Finding code N
//	verdict:N    the message has verdict N, or one of the form N:* (so
//	             verdict:dnsbl matches dnsbl:zen.example)
//	tag:N        the reader tagged the message N
//	before:T     received before T; after:T received at or after T, where
//	             T is a date (2026-01-02, midnight UTC) or an RFC 3339
//	             date-time (2026-01-02T15:04:05+01:00), to the microsecond
//
// finding:, verdict: and tag: compare whole values, ignoring case.
// Anything else is free text, searched in the full-text index over the
// subject, the addresses (From, To, Cc, MAIL FROM, RCPT TO) and the body
// text.
//
// Full-text matching (free text, from:, to:, subject:) is by words, not
// substrings: the tokenizer splits at anything that is not a letter or a
// digit, so "bob@example.com" is the words bob, example, com. A bare
// value matches those words in that order with the last one as a prefix
// ("invoice" finds "invoices", from:bob@exa finds bob@example.com, but
// from:ob does not); a "quoted" value matches the exact words in order.
// Case and diacritics are ignored ("cafe" finds "Café"), and every
// character is taken literally: *, ", (, ), :, ^, NEAR, OR and the like
// have no special meaning. A free-text word with no letters or digits
// matches every message; from:, to: and subject: with no letters or
// digits are an error. A key this grammar does not know ("re:hello") is
// free text too.
func ParseQuery(s string) (Query, error) {
	var q Query
	i := 0
	for {
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !isSep(r) {
				break
			}
			i += n
		}
		if i >= len(s) {
			return q, nil
		}
		t, next, err := parseTerm(s, i)
		if err != nil {
			return Query{}, err
		}
		if len(q.terms) == maxTerms {
			return Query{}, &QueryError{Pos: i, Msg: fmt.Sprintf("more than %d terms", maxTerms)}
		}
		q.terms = append(q.terms, t)
		i = next
	}
}

// parseTerm parses the term at s[start:] and returns it with the offset
// just after it.
func parseTerm(s string, start int) (term, int, error) {
	t := term{pos: start}
	i := start
	if s[i] == '-' && i+1 < len(s) && !isSpaceAt(s, i+1) {
		t.neg = true
		i++
	}
	if s[i] == '"' {
		v, next, err := parseQuoted(s, i)
		if err != nil {
			return t, 0, err
		}
		t.kind, t.value, t.quoted = termPhrase, v, true
		return t, next, nil
	}
	end := bareEnd(s, i)
	word := s[i:end]
	key, rest, ok := strings.Cut(word, ":")
	kind, known := operators[strings.ToLower(key)]
	if !ok || !known {
		t.kind, t.value = termWord, clean(word)
		return t, end, nil
	}
	t.kind, t.key = kind, strings.ToLower(key)
	valueAt := i + len(key) + 1
	switch {
	case strings.HasPrefix(rest, `"`):
		v, next, err := parseQuoted(s, valueAt)
		if err != nil {
			return t, 0, err
		}
		t.value, t.quoted, end = v, true, next
	default:
		t.value = clean(rest)
	}
	if t.value == "" {
		return t, 0, &QueryError{Pos: valueAt, Msg: t.key + ": needs a value"}
	}
	if err := t.resolve(valueAt); err != nil {
		return t, 0, err
	}
	return t, end, nil
}

// resolve checks the value of an operator and decodes it.
func (t *term) resolve(at int) error {
	bad := func(format string, a ...any) error {
		return &QueryError{Pos: at, Msg: t.key + ": " + fmt.Sprintf(format, a...)}
	}
	switch t.kind {
	case termFrom, termTo, termSubject:
		if !hasToken(t.value) {
			return bad("%q has no letters or digits to search for", t.value)
		}
	case termAttachment:
		switch strings.ToLower(t.value) {
		case "attachment", "attachments":
		default:
			return bad("unknown value %q (has:attachment)", t.value)
		}
	case termRead:
		switch strings.ToLower(t.value) {
		case "read":
		case "unread":
			t.neg = !t.neg
		default:
			return bad("unknown value %q (is:read or is:unread)", t.value)
		}
	case termBefore, termAfter:
		tm, err := parseTime(t.value)
		if err != nil {
			return bad("%q is not a date (2026-01-02) or an RFC 3339 date-time", t.value)
		}
		t.at = tm
	case termIP:
		switch p, err := parseIP(t.value); {
		case err != nil:
			return bad("%q is not an IP address, a CIDR prefix (10.0.0.0/8) or the first octets of an IPv4 address (192.168.)", t.value)
		case p.IsSingleIP():
			t.ip = p.Addr()
		default:
			t.prefix = p
		}
	}
	return nil
}

// parseIP reads an ip: value as a prefix: an address (a prefix of all
// its bits), a CIDR prefix, or one to three leading IPv4 octets with or
// without the final dot ("10." is 10.0.0.0/8, "192.168.1" 192.168.1.0/24).
func parseIP(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	octets := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(octets) > 3 {
		return netip.Prefix{}, errors.New("not an address")
	}
	var b [4]byte
	for i, o := range octets {
		v, err := strconv.ParseUint(o, 10, 8)
		if err != nil || o != strconv.FormatUint(v, 10) {
			return netip.Prefix{}, errors.New("not an address")
		}
		b[i] = byte(v)
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(octets)), nil
}

// parseTime reads a date (midnight UTC) or an RFC 3339 date-time.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// parseQuoted reads the quoted string starting at s[at] == '"'.
func parseQuoted(s string, at int) (string, int, error) {
	var b strings.Builder
	for i := at + 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			if i+1 < len(s) && !isSpaceAt(s, i+1) {
				return "", 0, &QueryError{Pos: i + 1, Msg: "a space must follow a closing quote"}
			}
			return clean(b.String()), i + 1, nil
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				i++
				b.WriteByte(s[i])
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, &QueryError{Pos: at, Msg: "unterminated quote"}
}

// isSep reports whether r separates terms: white space, and the other
// control characters too, so that no bare word holds one.
func isSep(r rune) bool { return unicode.IsSpace(r) || r < 0x20 || r == 0x7f }

func isSpaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isSep(r)
}

func bareEnd(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isSep(r) {
			break
		}
		i += n
	}
	return i
}

// clean turns control characters (NUL included: SQLite's FTS parser
// would stop at it) into spaces and trims, and makes invalid UTF-8 valid.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s))
}

// IsZero reports whether q has no terms, matching every message.
func (q Query) IsZero() bool { return len(q.terms) == 0 }

// String returns q in the query language, normalised (keys lower-case,
// values quoted where needed), such that ParseQuery(q.String()) gives
// back q.
func (q Query) String() string {
	parts := make([]string, 0, len(q.terms))
	for _, t := range q.terms {
		var b strings.Builder
		neg := t.neg
		value := t.value
		if t.kind == termRead {
			// Stored as is:read with the negation folded in.
			value, neg = "read", t.neg
			if neg {
				value, neg = "unread", false
			}
		}
		if neg {
			b.WriteByte('-')
		}
		if t.key != "" {
			b.WriteString(t.key + ":")
		}
		// A word never needs quotes (it has no space and does not start
		// with one), and quoting it would make it a phrase.
		if t.quoted || t.kind != termWord && needsQuotes(value) {
			b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`)
		} else {
			b.WriteString(value)
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " ")
}

func needsQuotes(v string) bool {
	return v == "" || strings.HasPrefix(v, `"`) || strings.IndexFunc(v, isSep) >= 0
}
