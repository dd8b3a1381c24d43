package mimeview

import (
	"strings"
	"testing"
)

// hostile are inputs built to confuse a MIME parser. Each must parse
// without a panic, consistently with PartContent, to the text and number
// of parts given. They are seeds of FuzzParse too.
var hostile = []struct {
	name  string
	raw   string
	text  string
	parts int
}{
	{
		// RFC 2046 5.1.2 forbids it; the outer boundary wins, as it
		// must for a streaming reader.
		name: "InnerBoundaryEqualsOuter",
		raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
			"--b\r\n\r\ninner\r\n--b--\r\n--b\r\n\r\nsecond\r\n--b--\r\n",
		parts: 2,
	},
	{
		name: "InnerBoundaryExtendsOuter",
		raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/alternative; boundary=bb\r\n\r\n" +
			"--bb\r\n\r\ninner\r\n--bb--\r\n--b\r\n\r\nsecond\r\n--b--\r\n",
		text:  "inner",
		parts: 2,
	},
	{
		name:  "EmptyBoundary",
		raw:   "Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n\r\nx\r\n----\r\n",
		text:  "--\r\n\r\nx\r\n----\r\n",
		parts: 1,
	},
	{
		// RFC 2046 5.1.1 caps boundaries at 70 characters.
		name: "BoundaryLongerThanBuffer",
		raw: "Content-Type: multipart/mixed; boundary=\"" + strings.Repeat("z", 5000) + "\"\r\n\r\n--" +
			strings.Repeat("z", 5000) + "\r\n\r\nx\r\n--" + strings.Repeat("z", 5000) + "--\r\n",
		text:  "--" + strings.Repeat("z", 5000) + "\r\n\r\nx\r\n--" + strings.Repeat("z", 5000) + "--\r\n",
		parts: 1,
	},
	{
		name: "LFOnlyLineEndings",
		raw: "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nlf body\n--b\n" +
			"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n",
		text:  "lf body",
		parts: 2,
	},
	{
		name:  "MixedLineEndings",
		raw:   "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\n\nA\r\n--b\r\n\r\nB\n--b--\n",
		text:  "A\r",
		parts: 1,
	},
	{
		name:  "NULBytes",
		raw:   "Subject: a\x00b\r\nContent-Type: text/plain\r\n\r\n\x00\x00",
		text:  "\x00\x00",
		parts: 1,
	},
	{
		// message/rfc822 is not entered, so the attached message cannot
		// hide the outer boundary: the outer reader ends it there.
		name: "AttachedMessageCarriesOuterBoundary",
		raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nafter\r\n--b--\r\n",
		text:  "after",
		parts: 2,
	},
	{
		name:  "RFC2231SectionNumberOverflow",
		raw:   "Content-Type: text/plain; name*99999999999999999999=x; name*0*=utf-8''%; name*1*=%G1\r\n\r\nx",
		text:  "x",
		parts: 1,
	},
	{
		name:  "DelimiterAtEOFWithoutLineBreak",
		raw:   "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b",
		text:  "--b",
		parts: 1,
	},
	{
		name:  "CloseDelimiterOnly",
		raw:   "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--",
		parts: 0,
	},
	{
		name:  "QuotedPrintableBadEscape",
		raw:   "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=ZZb=\r\n",
		text:  "a=ZZb",
		parts: 1,
	},
	{
		name:  "HeaderBombOfEncodedWords",
		raw:   "Subject: " + strings.Repeat("=?x?q?a?= =?", 20000) + "\r\n\r\nbody",
		text:  "body",
		parts: 1,
	},
	{
		// go-message's error quotes the whole line.
		name: "HugeMalformedPartHeader",
		raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nok\r\n--b\r\n" +
			strings.Repeat("\xff", 1<<20) + "\r\n\r\nx\r\n--b--\r\n",
		text:  "ok",
		parts: 1,
	},
	{
		name:  "ThousandsOfHeaderFields",
		raw:   strings.Repeat("X-A: =?x-bogus?q?a?=\xff\r\n", 20000) + "\r\nbody",
		text:  "body",
		parts: 1,
	},
}

func TestHostileInputs(t *testing.T) {
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			m := Parse([]byte(tc.raw), Options{})
			if m.Text != tc.text {
				t.Errorf("Text = %.80q, want %.80q", m.Text, tc.text)
			}
			if len(m.Parts) != tc.parts {
				t.Errorf("%d parts, want %d: %+v", len(m.Parts), tc.parts, m.Parts)
			}
			if len(m.Problems) > maxProblems+1 {
				t.Errorf("%d problems, cap is %d", len(m.Problems), maxProblems)
			}
			checkConsistent(t, []byte(tc.raw), m, Options{})
		})
	}
}

func TestProblemsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range 150 {
		b.WriteString("--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n")
	}
	b.WriteString("--b--\r\n")
	m := Parse([]byte(b.String()), Options{})
	if len(m.Parts) != 150 {
		t.Fatalf("%d parts", len(m.Parts))
	}
	if len(m.Problems) != maxProblems+1 || m.Problems[maxProblems] != "and 50 more problems" {
		t.Errorf("%d problems, last %q", len(m.Problems), m.Problems[len(m.Problems)-1])
	}
}

// TestProblemInvalidBytesStayShort: go-message quotes a malformed part
// header whole, and each run of invalid bytes in it becomes a 3-byte
// U+FFFD, so the problem must be cut after the replacement to stay
// within maxProblemLen. A CI fuzz run found this.
func TestProblemInvalidBytesStayShort(t *testing.T) {
	raw := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n " +
		strings.Repeat("\xffa", 200) + "\r\n\r\nbody\r\n--b--\r\n"
	m := Parse([]byte(raw), Options{})
	if len(m.Problems) == 0 {
		t.Fatal("no problem reported for a malformed part header")
	}
	checkConsistent(t, []byte(raw), m, Options{})
}
