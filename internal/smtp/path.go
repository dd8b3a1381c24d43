package smtp

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Limits from RFC 5321 section 4.5.3.1.
const (
	MaxLocalPartLen = 64  // 4.5.3.1.1
	MaxDomainLen    = 255 // 4.5.3.1.2
	MaxPathLen      = 256 // 4.5.3.1.3, brackets included
)

// Path is a reverse-path or forward-path (RFC 5321 section 4.1.2). A
// source route (A-d-l) is accepted and dropped, as Appendix C requires.
type Path struct {
	// Local is the local part exactly as written (a quoted local part
	// keeps its quotes).
	Local string
	// Domain is the domain or address literal, as written.
	Domain string
	// Null is the null reverse-path "<>".
	Null bool
}

// String returns "local@domain", "local" for a bare postmaster, or ""
// for the null path.
func (p Path) String() string {
	if p.Null {
		return ""
	}
	if p.Domain == "" {
		return p.Local
	}
	return p.Local + "@" + p.Domain
}

// Bracketed returns the path as written on the wire, "<local@domain>".
func (p Path) Bracketed() string { return "<" + p.String() + ">" }

// IsPostmaster reports whether p is the bare "<postmaster>" that RFC 5321
// section 4.5.1 requires every server to accept.
func (p Path) IsPostmaster() bool { return p.Domain == "" && strings.EqualFold(p.Local, "postmaster") }

// ASCII reports whether the path has only 7-bit characters; a path with
// UTF-8 needs SMTPUTF8 (RFC 6531 section 3.3).
func (p Path) ASCII() bool { return isASCII(p.Local) && isASCII(p.Domain) }

// Param is one ESMTP parameter, keyword upper-cased (RFC 5321 4.1.2).
type Param struct {
	Key   string
	Value string
	// HasValue distinguishes "KEY=" from "KEY".
	HasValue bool
}

// The tolerated slips of PathArg.Slips.
const (
	SlipSpaceAfterColon = "space after colon"
	SlipMissingBrackets = "missing angle brackets"
	SlipRepeatedParam   = "parameter repeated"
)

// PathArg is the parsed argument of MAIL or RCPT.
type PathArg struct {
	Path   Path
	Params []Param
	// Slips lists tolerated deviations from RFC 5321 syntax, such as a
	// space after the colon or missing angle brackets; the session notes
	// them as client findings.
	Slips []string
}

// Param returns the parameter named key (upper case) and whether it exists.
func (a PathArg) Param(key string) (Param, bool) {
	for _, p := range a.Params {
		if p.Key == key {
			return p, true
		}
	}
	return Param{}, false
}

// Errors from the path parser. The session maps them to 501 replies with
// 5.1.7 (sender) or 5.1.3 (recipient), or 5.5.4 for parameters.
var (
	ErrSyntax       = errors.New("smtp: syntax error in parameters")
	ErrBadAddress   = errors.New("smtp: bad address syntax")
	ErrPathTooLong  = errors.New("smtp: path too long")
	ErrBadParam     = errors.New("smtp: bad parameter syntax")
	ErrDupParam     = errors.New("smtp: duplicate parameter")
	ErrNullNotValid = errors.New("smtp: null path not allowed here")
)

// ParseMailArg parses the argument of MAIL: "FROM:<path> [params]".
func ParseMailArg(arg string) (PathArg, error) {
	return parsePathArg(arg, "FROM:", true)
}

// ParseRcptArg parses the argument of RCPT: "TO:<path> [params]".
func ParseRcptArg(arg string) (PathArg, error) {
	return parsePathArg(arg, "TO:", false)
}

func parsePathArg(arg, prefix string, reverse bool) (PathArg, error) {
	var pa PathArg
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return pa, ErrSyntax
	}
	rest := arg[len(prefix):]
	if trimmed := strings.TrimLeft(rest, " \t"); len(trimmed) != len(rest) {
		// "MAIL FROM: <a@b>" is common (old Outlook, .NET); Postfix accepts it.
		pa.Slips = append(pa.Slips, SlipSpaceAfterColon)
		rest = trimmed
	}
	var pathText string
	if strings.HasPrefix(rest, "<") {
		// A quoted local part may contain '>': find the bracket outside quotes.
		end := closingBracket(rest)
		if end < 0 {
			return pa, ErrBadAddress
		}
		pathText, rest = rest[1:end], rest[end+1:]
		if len(pathText)+2 > MaxPathLen {
			return pa, ErrPathTooLong
		}
	} else {
		pa.Slips = append(pa.Slips, SlipMissingBrackets)
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		pathText, rest = rest[:end], rest[end:]
		if pathText == "" {
			return pa, ErrBadAddress
		}
		if len(pathText)+2 > MaxPathLen {
			return pa, ErrPathTooLong
		}
	}
	p, err := parsePath(pathText, reverse)
	if err != nil {
		return pa, err
	}
	pa.Path = p
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return pa, ErrSyntax
	}
	var repeated bool
	pa.Params, repeated, err = parseParams(strings.TrimLeft(rest, " \t"))
	if repeated {
		// Python's smtplib adds SMTPUTF8 itself, so a caller that also
		// passes it sends "SMTPUTF8 SMTPUTF8": an exact repeat is harmless.
		pa.Slips = append(pa.Slips, SlipRepeatedParam)
	}
	return pa, err
}

// closingBracket finds the '>' that closes a path starting at s[0]=='<',
// skipping quoted strings.
func closingBracket(s string) int {
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '>':
			return i
		}
	}
	return -1
}

func parsePath(s string, reverse bool) (Path, error) {
	if s == "" {
		if !reverse {
			return Path{}, ErrNullNotValid
		}
		return Path{Null: true}, nil
	}
	// RFC 5321 Appendix C: accept and ignore a source route "@a,@b:".
	if s[0] == '@' {
		colon := strings.IndexByte(s, ':')
		if colon < 0 {
			return Path{}, ErrBadAddress
		}
		for _, hop := range strings.Split(s[:colon], ",") {
			if len(hop) < 2 || hop[0] != '@' || !validDomain(hop[1:]) {
				return Path{}, ErrBadAddress
			}
		}
		s = s[colon+1:]
	}
	at := lastUnquotedAt(s)
	if at < 0 {
		// Only "postmaster" may come without a domain (RFC 5321 4.5.1).
		if !reverse && strings.EqualFold(s, "postmaster") {
			return Path{Local: s}, nil
		}
		return Path{}, ErrBadAddress
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > MaxLocalPartLen || len(domain) > MaxDomainLen {
		return Path{}, ErrPathTooLong
	}
	if !validLocalPart(local) || !validDomainOrLiteral(domain) {
		return Path{}, ErrBadAddress
	}
	return Path{Local: local, Domain: domain}, nil
}

func lastUnquotedAt(s string) int {
	inQuote, at := false, -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '@':
			at = i
		}
	}
	return at
}

// validLocalPart checks Dot-string / Quoted-string (RFC 5321 4.1.2),
// with RFC 6531's UTF8-non-ascii allowed in atext and qtext.
func validLocalPart(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	if s[0] == '"' {
		if len(s) < 2 || s[len(s)-1] != '"' {
			return false
		}
		q := s[1 : len(s)-1]
		for i := 0; i < len(q); i++ {
			c := q[i]
			switch {
			case c == '\\':
				if i+1 >= len(q) || q[i+1] < 32 || q[i+1] > 126 {
					return false
				}
				i++
			case c == '"':
				return false
			case c >= 32 && c <= 126, c >= 0x80:
			default:
				return false
			}
		}
		return true
	}
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			if !isAtext(atom[i]) {
				return false
			}
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func validDomainOrLiteral(s string) bool {
	if strings.HasPrefix(s, "[") {
		return validAddressLiteral(s)
	}
	return validDomain(s)
}

// validAddressLiteral checks "[1.2.3.4]", "[IPv6:...]" and the General
// form "[tag:content]" of RFC 5321 section 4.1.3.
func validAddressLiteral(s string) bool {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	inner := s[1 : len(s)-1]
	if len(inner) > 5 && strings.EqualFold(inner[:5], "IPv6:") {
		a, err := netip.ParseAddr(inner[5:])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	if a, err := netip.ParseAddr(inner); err == nil {
		return a.Is4()
	}
	tag, content, ok := strings.Cut(inner, ":")
	if !ok || !validLdhStr(tag) || content == "" {
		return false
	}
	for i := 0; i < len(content); i++ {
		if c := content[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidDomain reports whether s is a syntactically valid domain (RFC 5321
// 4.1.2 sub-domain rules, with UTF-8 U-labels allowed per RFC 6531).
func ValidDomain(s string) bool { return validDomain(s) }

func validDomain(s string) bool {
	if s == "" || len(s) > MaxDomainLen || !utf8.ValidString(s) {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !validLdhStr(label) {
			return false
		}
	}
	return true
}

// validLdhStr checks Let-dig [Ldh-str]: letters, digits, inner hyphens;
// bytes >= 0x80 are allowed for U-labels.
func validLdhStr(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80) {
			return false
		}
	}
	return true
}

// parseParams splits "KEY=VALUE KEY2" (RFC 5321 4.1.2 esmtp-param). An
// exact repeat of a parameter is dropped and reported; a repeat with
// another value is ErrDupParam.
func parseParams(s string) (ps []Param, repeated bool, err error) {
	if s == "" {
		return nil, false, nil
	}
next:
	for _, f := range strings.Fields(s) {
		k, v, has := strings.Cut(f, "=")
		if !validParamKeyword(k) || has && !validParamValue(v) {
			return ps, repeated, ErrBadParam
		}
		k = strings.ToUpper(k)
		for _, p := range ps {
			if p.Key == k {
				if p.Value == v && p.HasValue == has {
					repeated = true
					continue next
				}
				return ps, repeated, ErrDupParam
			}
		}
		ps = append(ps, Param{Key: k, Value: v, HasValue: has})
	}
	return ps, repeated, nil
}

func validParamKeyword(k string) bool {
	if k == "" || k[0] == '-' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validParamValue checks esmtp-value: %d33-60 / %d62-126, plus UTF-8
// (RFC 6531 section 3.3).
func validParamValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 33 || c == '=' || c == 127 {
			return false
		}
	}
	return utf8.ValidString(v)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// IsASCII reports whether s holds only 7-bit bytes.
func IsASCII(s string) bool { return isASCII(s) }
