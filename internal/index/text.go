package index

import (
	"html"
	"strings"
)

// htmlText is the text of an HTML body for the full-text index: tags,
// comments and the content of script and style elements are dropped,
// character references decoded, runs of white space made one space. It
// is a search aid, not a renderer: words are all it has to get right,
// and a tag boundary counts as a word boundary.
func htmlText(s string) string {
	var b strings.Builder
	b.Grow(len(s) / 2)
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:lt])
		b.WriteByte(' ')
		s = s[lt:]
		switch {
		case strings.HasPrefix(s, "<!--"):
			s = after(s, "-->")
		case hasPrefixFold(s, "<script"):
			s = after(skipTag(s), "</script")
			s = skipTag(s)
		case hasPrefixFold(s, "<style"):
			s = after(skipTag(s), "</style")
			s = skipTag(s)
		default:
			s = skipTag(s)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// after returns what follows the first sep in s, ASCII case ignored, or
// "" when there is none.
func after(s, sep string) string {
	for i := 0; i+len(sep) <= len(s); i++ {
		if hasPrefixFold(s[i:], sep) {
			return s[i+len(sep):]
		}
	}
	return ""
}

// skipTag returns what follows the '>' ending the tag at the start of s.
func skipTag(s string) string {
	i := strings.IndexByte(s, '>')
	if i < 0 {
		return ""
	}
	return s[i+1:]
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case (the tag names
// looked for are ASCII).
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
