package diagnose

// validMsgID reports whether v is one msg-id (RFC 5322 3.6.4):
//
//	msg-id   = [CFWS] "<" id-left "@" id-right ">" [CFWS]
//	id-left  = dot-atom-text / obs-id-left (local-part, so also quoted-string)
//	id-right = dot-atom-text / no-fold-literal ("[" *dtext "]")
//
// UTF-8 is accepted in atext, qtext and dtext (RFC 6532 3.2); whether it
// was allowed at all is NonASCIIHeader's business.
func validMsgID(v string) bool {
	s := scanner{s: v}
	s.skipCFWS()
	if !s.eat('<') {
		return false
	}
	if s.peek() == '"' {
		if !s.quotedString() {
			return false
		}
	} else if !s.dotAtomText() {
		return false
	}
	if !s.eat('@') {
		return false
	}
	if s.peek() == '[' {
		if !s.literal() {
			return false
		}
	} else if !s.dotAtomText() {
		return false
	}
	if !s.eat('>') {
		return false
	}
	s.skipCFWS()
	return s.i == len(s.s)
}

// scanner walks a field value byte by byte.
type scanner struct {
	s string
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.s) {
		return s.s[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c && s.i < len(s.s) {
		s.i++
		return true
	}
	return false
}

// skipCFWS skips folding white space and comments (RFC 5322 3.2.2),
// nested comments and quoted pairs included. An unclosed comment is left
// in place, so the caller sees trailing garbage.
func (s *scanner) skipCFWS() {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '(':
			depth, j := 0, s.i
			for ; j < len(s.s); j++ {
				switch s.s[j] {
				case '\\':
					j++
				case '(':
					depth++
				case ')':
					depth--
				}
				if depth == 0 {
					break
				}
			}
			if j >= len(s.s) {
				return
			}
			s.i = j + 1
		default:
			return
		}
	}
}

// isAtext reports whether c is atext (RFC 5322 3.2.3), with 8-bit bytes
// allowed as UTF8-non-ascii (RFC 6532 3.2).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~':
		return true
	}
	return false
}

// dotAtomText scans dot-atom-text = 1*atext *("." 1*atext).
func (s *scanner) dotAtomText() bool {
	for {
		start := s.i
		for s.i < len(s.s) && isAtext(s.s[s.i]) {
			s.i++
		}
		if s.i == start {
			return false
		}
		if !s.eat('.') {
			return true
		}
	}
}

// quotedString scans DQUOTE *(qtext / quoted-pair) DQUOTE (RFC 5322 3.2.4),
// without the folding white space msg-id has no use for.
func (s *scanner) quotedString() bool {
	if !s.eat('"') {
		return false
	}
	for s.i < len(s.s) {
		c := s.s[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			if s.i+1 >= len(s.s) {
				return false
			}
			s.i += 2
		case c == 33 || 35 <= c && c <= 91 || 93 <= c && c <= 126 || c >= 0x80 || c == ' ':
			s.i++
		default:
			return false
		}
	}
	return false
}

// literal scans no-fold-literal = "[" *dtext "]" (RFC 5322 3.6.4),
// dtext = %d33-90 / %d94-126.
func (s *scanner) literal() bool {
	if !s.eat('[') {
		return false
	}
	for s.i < len(s.s) {
		c := s.s[s.i]
		switch {
		case c == ']':
			s.i++
			return true
		case 33 <= c && c <= 90 || 94 <= c && c <= 126 || c >= 0x80:
			s.i++
		default:
			return false
		}
	}
	return false
}
