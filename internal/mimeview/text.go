package mimeview

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// toUTF8 converts b from the charset label (RFC 2046 4.1.2) to UTF-8.
// UTF-8, US-ASCII and no label at all are read as UTF-8, since eight-bit
// bytes under a US-ASCII label are nearly always UTF-8. An unknown label
// or a failing conversion falls back to UTF-8 too; invalid sequences
// become U+FFFD. The returned problem is "" when all went well.
func toUTF8(b []byte, label string) (string, string) {
	label = strings.ToLower(strings.TrimSpace(label))
	switch label {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		if utf8.Valid(b) {
			return string(b), ""
		}
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), "bytes that are not UTF-8 replaced"
	}
	r, err := charset.Reader(label, bytes.NewReader(b))
	if err != nil {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), "unknown charset " + strconv.Quote(label) + "; read as UTF-8"
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), "cannot convert from " + strconv.Quote(label) + ": " + err.Error() + "; read as UTF-8"
	}
	return string(bytes.ToValidUTF8(out, []byte("\uFFFD"))), ""
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
