package mimeview

import (
	"reflect"
	"strings"
	"testing"
)

// edgeCase is a small message written out in the test, for one rule.
type edgeCase struct {
	name     string
	raw      string
	text     string
	html     string
	parts    []Part
	problems []string
	subject  string
}

// edgeCases are also seeds of FuzzParse.
var edgeCases = []edgeCase{
	{
		name: "empty", raw: "",
		parts: []Part{{ID: "1", ContentType: "text/plain"}},
	},
	{
		name: "no header at all", raw: "Hello there,\r\nno header here.\r\n",
		text:     "Hello there,\r\nno header here.\r\n",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 31}},
		problems: []string{`line "Hello there," is not a header field`},
	},
	{
		name: "header only", raw: "Subject: hi\r\n", subject: "hi",
		parts: []Part{{ID: "1", ContentType: "text/plain"}},
	},
	{
		name:     "mbox From_ line",
		raw:      "From alice@example.org Tue May 14 09:12:03 2024\nSubject: hi\n\nbody\n",
		subject:  "hi",
		text:     "body\n",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 5}},
		problems: []string{"mbox From_ line"},
	},
	{
		name:    "root text with disposition attachment",
		raw:     "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"C:\\\\Users\\\\x\\\\report.txt\"\r\n\r\ndata",
		parts:   []Part{{ID: "1", ContentType: "text/plain", Disposition: "attachment", Filename: "report.txt", Size: 4, Attachment: true}},
		subject: "",
	},
	{
		name: "unknown disposition is attachment (RFC 2183 2.8)",
		raw:  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\nContent-Type: application/json\r\nContent-Disposition: x-custom\r\n\r\n{}\r\n--b--\r\n",
		text: "hi",
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Size: 2},
			{ID: "2", ContentType: "application/json", Disposition: "attachment", Size: 2, Attachment: true},
		},
	},
	{
		name: "digest defaults to message/rfc822 (RFC 2046 5.1.5)",
		raw:  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\n1\r\n--d--\r\n",
		parts: []Part{
			{ID: "1", ContentType: "message/rfc822", Size: 17, Attachment: true},
		},
	},
	{
		name: "related start parameter picks the root (RFC 2387 3.2)",
		raw: "Content-Type: multipart/related; boundary=r; start=\"<root@x>\"\r\n\r\n" +
			"--r\r\nContent-Type: image/gif\r\nContent-ID: <img@x>\r\n\r\nGIF\r\n" +
			"--r\r\nContent-Type: text/html\r\nContent-ID: <root@x>\r\n\r\n<img src=cid:img@x>\r\n--r--\r\n",
		html: "<img src=cid:img@x>",
		parts: []Part{
			{ID: "1", ContentType: "image/gif", ContentID: "img@x", Size: 3},
			{ID: "2", ContentType: "text/html", ContentID: "root@x", Size: 19},
		},
	},
	{
		name: "related resource without Content-ID is an attachment",
		raw: "Content-Type: multipart/related; boundary=r\r\n\r\n" +
			"--r\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n" +
			"--r\r\nContent-Type: image/gif\r\n\r\nGIF\r\n--r--\r\n",
		html: "<p>x</p>",
		parts: []Part{
			{ID: "1", ContentType: "text/html", Size: 8},
			{ID: "2", ContentType: "image/gif", Size: 3, Attachment: true},
		},
	},
	{
		name: "mixed: inline image is an attachment, later text is not the body",
		raw: "Content-Type: multipart/mixed; boundary=m\r\n\r\n" +
			"--m\r\nContent-Type: image/jpeg\r\nContent-Disposition: inline\r\n\r\nJPG\r\n" +
			"--m\r\nContent-Type: text/plain\r\n\r\nfirst text\r\n" +
			"--m\r\nContent-Type: text/plain\r\n\r\nfooter\r\n--m--\r\n",
		text: "first text",
		parts: []Part{
			{ID: "1", ContentType: "image/jpeg", Disposition: "inline", Size: 3, Attachment: true},
			{ID: "2", ContentType: "text/plain", Size: 10},
			{ID: "3", ContentType: "text/plain", Size: 6},
		},
	},
	{
		name:     "invalid media type defaults to text/plain (RFC 2045 5.2)",
		raw:      "Content-Type: text\r\n\r\nhello",
		text:     "hello",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 5}},
		problems: []string{`invalid media type "text"`},
	},
	{
		name:     "unknown transfer encoding is shown undecoded",
		raw:      "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n",
		text:     "begin 644 x\r\n",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 13}},
		problems: []string{`part 1: encoding error: unhandled encoding "x-uuencode"; shown undecoded`},
	},
	{
		name:     "multipart without boundary",
		raw:      "Content-Type: multipart/mixed\r\n\r\nplain words",
		text:     "plain words",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 11}},
		problems: []string{"without a boundary parameter"},
	},
	{
		name:     "multipart with no body parts",
		raw:      "Content-Type: multipart/mixed; boundary=e\r\n\r\npreamble\r\n--e--\r\n",
		problems: []string{"multipart/mixed has no body parts"},
	},
	{
		name: "malformed part header ends the multipart",
		raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n" +
			"--b\r\nthis line has no colon\r\n\r\nlost\r\n--b--\r\n",
		text:     "first",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 5}},
		problems: []string{"message: malformed multipart/mixed: message: malformed MIME header line"},
	},
	{
		name:     "malformed first part header: the body is shown as text",
		raw:      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nno colon\r\n\r\nx\r\n--b--\r\n",
		text:     "--b\r\nno colon\r\n\r\nx\r\n--b--\r\n",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 27}},
		problems: []string{`message: malformed multipart/mixed: message: malformed MIME header line: no colon\r\n; shown as text`},
	},
	{
		name: "nested multipart missing its close inside a good outer one",
		raw: "Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n" +
			"Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\n\r\nplain\r\n" +
			"--out\r\nContent-Type: application/zip\r\n\r\nPK\r\n--out--\r\n",
		text: "plain",
		parts: []Part{
			{ID: "1.1", ContentType: "text/plain", Size: 5},
			{ID: "2", ContentType: "application/zip", Size: 2, Attachment: true},
		},
		problems: []string{"part 1: multipart/alternative ends without its closing boundary"},
	},
	{
		name: "boundary with encoded-word syntax is kept as sent",
		raw: "Content-Type: multipart/mixed; boundary=\"=?utf-8?q?x?=\"\r\n\r\n" +
			"--=?utf-8?q?x?=\r\n\r\nok\r\n--=?utf-8?q?x?=--\r\n",
		text:  "ok",
		parts: []Part{{ID: "1", ContentType: "text/plain", Size: 2}},
	},
	{
		// go-message alone fails with "bufio: buffer full".
		name: "preamble line longer than 4 KiB",
		raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("x", 5000) +
			"\r\n--b\r\n\r\nhello\r\n--b--\r\n",
		text:  "hello",
		parts: []Part{{ID: "1", ContentType: "text/plain", Size: 5}},
	},
	{
		name: "boundary prefix in the preamble is not a delimiter",
		raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--bb\r\n" + strings.Repeat("x", 5000) +
			"\r\n--b \t\r\n\r\nhello\r\n--b--",
		text:  "hello",
		parts: []Part{{ID: "1", ContentType: "text/plain", Size: 5}},
	},
	{
		name:     "header bytes that are not UTF-8",
		raw:      "Subject: caf\xe9\r\n\r\nx",
		subject:  "caf\uFFFD",
		text:     "x",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 1}},
		problems: []string{"header Subject: bytes that are not UTF-8"},
	},
	{
		name:     "invalid UTF-8 body",
		raw:      "Content-Type: text/plain; charset=utf-8\r\n\r\nbad \xff byte",
		text:     "bad \uFFFD byte",
		parts:    []Part{{ID: "1", ContentType: "text/plain", Charset: "utf-8", Size: 10}},
		problems: []string{"part 1: bytes that are not UTF-8 replaced"},
	},
}

func TestParseEdgeCases(t *testing.T) {
	for _, tc := range edgeCases {
		t.Run(tc.name, func(t *testing.T) {
			m := Parse([]byte(tc.raw), Options{})
			if m.Subject != tc.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.subject)
			}
			if m.Text != tc.text {
				t.Errorf("Text = %q, want %q", m.Text, tc.text)
			}
			if m.HTML != tc.html {
				t.Errorf("HTML = %q, want %q", m.HTML, tc.html)
			}
			if !reflect.DeepEqual(m.Parts, tc.parts) {
				t.Errorf("Parts = %+v\nwant    %+v", m.Parts, tc.parts)
			}
			checkProblems(t, m.Problems, tc.problems)
			checkConsistent(t, []byte(tc.raw), m, Options{})
		})
	}
}
