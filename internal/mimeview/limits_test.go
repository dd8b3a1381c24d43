package mimeview

import (
	"reflect"
	"strings"
	"testing"
)

// fieldBomb is a header section of n fields of four bytes each: each
// field parsed costs far more than its size.
func fieldBomb(n int) string { return strings.Repeat("a:b\n", n) }

func TestMaxParts(t *testing.T) {
	raw := readFile(t, "many-parts.eml")

	m := Parse(raw, Options{})
	if len(m.Parts) != DefaultMaxParts {
		t.Errorf("default: %d parts, want %d", len(m.Parts), DefaultMaxParts)
	}
	checkProblems(t, m.Problems, []string{"more than 500 MIME parts; the rest is not shown"})
	if _, _, err := PartContent(raw, "501", Options{}); err == nil {
		t.Error("PartContent(501) found a part past MaxParts")
	}

	m = Parse(raw, Options{MaxParts: 2000})
	if len(m.Parts) != 1000 || len(m.Problems) != 0 {
		t.Fatalf("MaxParts 2000: %d parts, problems %q", len(m.Parts), m.Problems)
	}
	if m.Text != "1" {
		t.Errorf("Text = %q, want the first part", m.Text)
	}
	// Text parts with a filename that are not the body are attachments.
	if m.Attachments != 999 {
		t.Errorf("Attachments = %d, want 999", m.Attachments)
	}
	p, data, err := PartContent(raw, "1000", Options{MaxParts: 2000})
	if err != nil || string(data) != "1000" || p.Filename != "part1000.txt" {
		t.Errorf("PartContent(1000) = %+v, %q, %v", p, data, err)
	}

	m = Parse(raw, Options{MaxParts: 3})
	if len(m.Parts) != 3 {
		t.Errorf("MaxParts 3: %d parts", len(m.Parts))
	}
}

func TestMaxDepth(t *testing.T) {
	raw := readFile(t, "deep-nesting.eml")
	ones := func(n int) string { return strings.TrimSuffix(strings.Repeat("1.", n), ".") }

	m := Parse(raw, Options{})
	want := []Part{{ID: ones(20), ContentType: "multipart/mixed", Size: 749}}
	if !reflect.DeepEqual(m.Parts, want) {
		t.Errorf("default: Parts = %+v, want %+v", m.Parts, want)
	}
	checkProblems(t, m.Problems, []string{"multipart nested deeper than 20; not opened"})
	_, data, err := PartContent(raw, ones(20), Options{})
	if err != nil || !strings.HasPrefix(string(data), "--level21\r\n") {
		t.Errorf("opaque part content = %.20q, %v", data, err)
	}

	m = Parse(raw, Options{MaxDepth: 30})
	want = []Part{{ID: ones(30), ContentType: "text/plain", Size: 4}}
	if !reflect.DeepEqual(m.Parts, want) || m.Text != "deep" || len(m.Problems) != 0 {
		t.Errorf("MaxDepth 30: Parts %+v, Text %q, Problems %q", m.Parts, m.Text, m.Problems)
	}
	m = Parse(raw, Options{MaxDepth: 29})
	if len(m.Parts) != 1 || m.Parts[0].ContentType != "multipart/mixed" {
		t.Errorf("MaxDepth 29: Parts %+v", m.Parts)
	}
}

func TestMaxTextBytes(t *testing.T) {
	raw := readFile(t, "utf8-8bit.eml")
	// The cut falls inside the "ë" of "Zoë": no half character, and no
	// invalid UTF-8 reported for it.
	m := Parse(raw, Options{MaxTextBytes: 11})
	if m.Text != "Bonjour Zo" {
		t.Errorf("Text = %q", m.Text)
	}
	checkProblems(t, m.Problems, []string{"part 1: text cut to 11 bytes of 115"})
	if m.Parts[0].Size != 115 {
		t.Errorf("Size = %d, want the whole part", m.Parts[0].Size)
	}
}

func TestMaxHeaderFieldsTopLevel(t *testing.T) {
	// The Content-Type past the cap is not parsed, by mimeview or by
	// go-message: the body stays text/plain.
	raw := []byte(fieldBomb(200000) + "Content-Type: text/html\n\nbody")
	m := Parse(raw, Options{})
	if len(m.Header) != DefaultMaxHeaderFields {
		t.Errorf("%d header fields kept, want %d", len(m.Header), DefaultMaxHeaderFields)
	}
	if m.Text != "body" || m.HTML != "" {
		t.Errorf("Text = %q, HTML = %q; want the body as text/plain", m.Text, m.HTML)
	}
	checkProblems(t, m.Problems, []string{"header: more than 10000 header fields in the message; the rest are skipped"})
	checkConsistent(t, raw, m, Options{})
	if hb := splitHeader(raw, DefaultMaxHeaderFields, nil); hb.header.Len() != DefaultMaxHeaderFields {
		t.Errorf("go-message parsed %d fields, want %d", hb.header.Len(), DefaultMaxHeaderFields)
	}

	// A folded line of a skipped field does not join the last one kept.
	m = Parse([]byte("Subject: a\r\nX-Kept: b\r\nX-Skipped: c\r\n d\r\n\r\nbody"), Options{MaxHeaderFields: 2})
	want := []HeaderField{{"Subject", " a", "a"}, {"X-Kept", " b", "b"}}
	if !reflect.DeepEqual(m.Header, want) || m.Text != "body" {
		t.Errorf("Header = %+v, Text %q; want %+v and the body", m.Header, m.Text, want)
	}
}

func TestMaxHeaderFieldsPartHeaders(t *testing.T) {
	// go-message's MultipartReader reads part headers with no cap of its
	// own: the fields past the cap must be kept from it.
	raw := []byte("Content-Type: multipart/mixed; boundary=b\n\n--b\n" + fieldBomb(200000) +
		"Content-Type: text/html\n\nfirst\n--b\nContent-Type: image/png\n\npng\n--b--\n")
	m := Parse(raw, Options{})
	// The cap counts the whole message: the second part's header is
	// skipped too, and the problem said once.
	want := []Part{{ID: "1", ContentType: "text/plain", Size: 5}, {ID: "2", ContentType: "text/plain", Size: 3}}
	if !reflect.DeepEqual(m.Parts, want) || m.Text != "first" {
		t.Errorf("Parts = %+v, Text %q; want %+v", m.Parts, m.Text, want)
	}
	checkProblems(t, m.Problems, []string{"part 1: more than 10000 header fields in the message; the rest are skipped"})
	checkConsistent(t, raw, m, Options{})

	// Each part header takes what the ones before left: 1 top-level field,
	// then 60 and 39 of 100. The Content-Type at field 60 of each part
	// header is parsed in the first, not in the second.
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range 3 {
		b.WriteString("--b\r\n" + strings.Repeat("X-Filler: x\r\n", 59) + "Content-Type: image/png\r\n\r\npng\r\n")
	}
	b.WriteString("--b--\r\n")
	raw = []byte(b.String())
	opt := Options{MaxHeaderFields: 100}
	m = Parse(raw, opt)
	var types []string
	for _, p := range m.Parts {
		types = append(types, p.ContentType)
	}
	if wantTypes := []string{"image/png", "text/plain", "text/plain"}; !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("content types %q, want %q", types, wantTypes)
	}
	checkProblems(t, m.Problems, []string{"part 2: more than 100 header fields in the message; the rest are skipped"})
	checkConsistent(t, raw, m, opt)
}

// TestMaxHeaderFieldsLeavesBodiesAlone: only lines the MultipartReader
// reads as part header lose fields. In CRLF mode "--b" after a bare LF
// does not start a part (go-message looks for "\r\n--b"), so the lines
// after it are body, however many look like fields.
func TestMaxHeaderFieldsLeavesBodiesAlone(t *testing.T) {
	body := "x\n--b\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\ny"
	raw := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + body + "\r\n--b--\r\n")
	opt := Options{MaxHeaderFields: 2}
	m := Parse(raw, opt)
	if m.Text != body {
		t.Errorf("Text = %q, want %q", m.Text, body)
	}
	checkProblems(t, m.Problems, nil)
	checkConsistent(t, raw, m, opt)
}

// TestMaxHeaderFieldsBoundsAllocations: the cost of a header of tiny
// fields, in allocations, is that of MaxHeaderFields fields, not of the
// 200,000 sent (without the cap, several allocations each).
func TestMaxHeaderFieldsBoundsAllocations(t *testing.T) {
	const max = 100
	for name, raw := range map[string][]byte{
		"top-level": []byte(fieldBomb(200000) + "\nbody"),
		"part":      []byte("Content-Type: multipart/mixed; boundary=b\n\n--b\n" + fieldBomb(200000) + "\nbody\n--b--\n"),
	} {
		allocs := testing.AllocsPerRun(1, func() { Parse(raw, Options{MaxHeaderFields: max}) })
		if allocs > 20*max {
			t.Errorf("%s: %.0f allocations for %d fields kept", name, allocs, max)
		}
	}
}

// A close-delimiter that go-message's reader does not take (a bare LF
// before the first part, where it still wants CRLF) must not end the
// field counting: the reader skips it as preamble and goes on to parse
// the next part's header, which would then be read whole.
func TestMaxHeaderFieldsCloseDelimiterItDoesNotTake(t *testing.T) {
	const max = 100
	for _, closing := range []string{"--b--\n", "--b-- \t\n", "--b--x\r\n"} {
		raw := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + closing + "--b\r\n" + fieldBomb(200000) + "\r\nbody\r\n--b--\r\n")
		allocs := testing.AllocsPerRun(1, func() { Parse(raw, Options{MaxHeaderFields: max}) })
		if allocs > 20*max {
			t.Errorf("after %q: %.0f allocations for %d fields kept", closing, allocs, max)
		}
	}
}
