package diagnose

import (
	"net/mail"
	"strings"
)

// validDate reports whether v is a date-time net/mail.ParseDate accepts
// (RFC 5322 3.3, obsolete forms included). Almost every client writes
// the one canonical form, "Mon, 2 Jan 2006 15:04:05 -0700", which
// plainDate recognises by hand; ParseDate tries up to 48 layouts and
// was a twentieth of the server's CPU under load, so it only sees the
// rest.
func validDate(v string) bool {
	if plainDate(v) {
		return true
	}
	v, ok := dateTokens(v)
	if !ok {
		return false
	}
	_, err := mail.ParseDate(v)
	return err == nil
}

// dateTokens prepares a date-time for mail.ParseDate, and refuses what
// ParseDate would wrongly let through. It drops the comments (CFWS, RFC
// 5322 3.3; ParseDate skips them only after the zone) and turns every run
// of white space, tabs included (FWS may be a tab, and ParseDate's layouts
// have spaces), into one space. Then the value must be exactly
//
//	[day-name ","] day month year time-of-day zone
//
// ParseDate itself stops reading at the zone, so junk after it ("+0200
// CEST", the PHP date('r T') bug, or a zone written twice) would pass;
// and it takes fractional seconds, which RFC 5322's time-of-day has not.
func dateTokens(v string) (string, bool) {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && depth > 0:
			i++ // quoted-pair inside a comment
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return "", false
			}
			depth--
			b.WriteByte(' ')
		case depth > 0:
		case c == ',':
			b.WriteString(", ")
		default:
			b.WriteByte(c)
		}
	}
	if depth != 0 {
		return "", false
	}
	all := strings.Fields(b.String()) // splits at tabs too
	f := all
	if len(f) > 0 && f[0] != "," && strings.HasSuffix(f[0], ",") {
		f = f[1:] // the day name; ParseDate checks it below
	} else if len(f) > 1 && f[1] == "," {
		f = f[2:] // obs-day-of-week: "Tue , 1 Jul ..."
	}
	if len(f) != 5 || strings.ContainsAny(f[3], ".,") || strings.Contains(strings.Join(f, " "), ",") || !zoneToken(f[4]) {
		return "", false
	}
	return strings.Join(all, " "), true
}

// plainDate reports whether s is exactly
//
//	[day-name ", "] 1*2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT [":" 2DIGIT] SP ("+" / "-") 4DIGIT [SP "(" 1*(ALPHA / DIGIT / SP) ")"]
//
// with every field in range: a strict subset of what mail.ParseDate
// accepts (FuzzPlainDate checks that), so a false answer proves nothing
// and the caller asks ParseDate.
func plainDate(s string) bool {
	if len(s) > 5 && s[3] == ',' && s[4] == ' ' {
		if !oneOf(s[:3], "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") {
			return false
		}
		s = s[5:]
	}
	day, s, ok := digits(s, 1, 2)
	if !ok || len(s) < 5 || s[0] != ' ' || s[4] != ' ' {
		return false
	}
	month := strings.Index("JanFebMarAprMayJunJulAugSepOctNovDec", s[1:4])
	if month < 0 || month%3 != 0 {
		return false
	}
	month = month/3 + 1
	year, s, ok := digits(s[5:], 4, 4)
	if !ok || len(s) < 1 || s[0] != ' ' {
		return false
	}
	hour, s, ok := digits(s[1:], 2, 2)
	if !ok || len(s) < 1 || s[0] != ':' {
		return false
	}
	minute, s, ok := digits(s[1:], 2, 2)
	if !ok {
		return false
	}
	second := 0
	if len(s) > 0 && s[0] == ':' {
		if second, s, ok = digits(s[1:], 2, 2); !ok {
			return false
		}
	}
	if len(s) < 6 || s[0] != ' ' || s[1] != '+' && s[1] != '-' || !zoneComment(s[6:]) {
		return false
	}
	zh, rest, ok := digits(s[2:4], 2, 2)
	if !ok || rest != "" {
		return false
	}
	zm, rest, ok := digits(s[4:6], 2, 2)
	if !ok || rest != "" {
		return false
	}
	return day >= 1 && day <= daysIn(month, year) && hour <= 23 && minute <= 59 && second <= 59 &&
		zh <= 23 && zm <= 59
}

// zoneToken reports whether z is a zone: "+" or "-" and four digits, or
// an obsolete zone name of letters (RFC 5322 4.3: UT, GMT, EST, ..., and
// the military letters).
func zoneToken(z string) bool {
	if len(z) == 5 && (z[0] == '+' || z[0] == '-') {
		_, rest, ok := digits(z[1:], 4, 4)
		return ok && rest == ""
	}
	if len(z) == 0 || len(z) > 5 {
		return false
	}
	for i := 0; i < len(z); i++ {
		if c := z[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// zoneComment reports whether s, what follows the numeric zone, is
// empty or the zone's name in a comment, " (UTC)", as Postfix, Go's
// net/smtp users and many others write it (RFC 5322 3.3 allows CFWS
// there). Only letters, digits and spaces: anything fancier is left to
// ParseDate.
func zoneComment(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 4 || s[0] != ' ' || s[1] != '(' || s[len(s)-1] != ')' {
		return false
	}
	for _, c := range []byte(s[2 : len(s)-1]) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ' ') {
			return false
		}
	}
	return true
}

// digits reads between min and max ASCII digits from the start of s.
func digits(s string, min, max int) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && i < max && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	return n, s[i:], i >= min
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}
