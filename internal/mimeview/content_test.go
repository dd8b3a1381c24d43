package mimeview

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// checkConsistent checks what every caller relies on: each listed part
// can be fetched by its ID, as the same Part, with Size bytes; IDs are
// unique; Attachments counts them; text is valid UTF-8 within the cap.
func checkConsistent(t testing.TB, raw []byte, m *Message, opt Options) {
	t.Helper()
	seen := map[string]bool{}
	n := 0
	for _, p := range m.Parts {
		if seen[p.ID] {
			t.Errorf("duplicate part ID %q", p.ID)
		}
		seen[p.ID] = true
		if p.Attachment {
			n++
		}
		got, data, err := PartContent(raw, p.ID, opt)
		if err != nil {
			t.Errorf("PartContent(%q): %v", p.ID, err)
			continue
		}
		if got != p {
			t.Errorf("PartContent(%q) part = %+v, Parse said %+v", p.ID, got, p)
		}
		if len(data) != p.Size {
			t.Errorf("PartContent(%q) gave %d bytes, Size is %d", p.ID, len(data), p.Size)
		}
		if p.ContentID != "" {
			// The first part with that Content-ID, maybe an earlier one.
			got, data, err := ByContentID(raw, p.ContentID, opt)
			if err != nil || len(data) != got.Size {
				t.Errorf("ByContentID(%q) = %+v, %d bytes, %v", p.ContentID, got, len(data), err)
			}
		}
	}
	if n != m.Attachments {
		t.Errorf("Attachments = %d, %d parts have Attachment", m.Attachments, n)
	}
	max := opt.withDefaults().MaxTextBytes
	for name, s := range map[string]string{"Text": m.Text, "HTML": m.HTML, "Subject": m.Subject} {
		if strings.ToValidUTF8(s, "\uFFFD") != s {
			t.Errorf("%s is not valid UTF-8: %q", name, s)
		}
		if name != "Subject" && len(s) > max {
			t.Errorf("%s has %d bytes, cap %d", name, len(s), max)
		}
	}
	valid := func(what, s string) {
		if strings.ToValidUTF8(s, "") != s {
			t.Errorf("%s is not valid UTF-8: %q", what, s)
		}
	}
	for _, list := range [][]Address{m.From, m.To, m.Cc, m.ReplyTo} {
		for _, a := range list {
			valid("address name", a.Name)
			valid("address", a.Addr)
		}
	}
	for _, p := range m.Parts {
		valid("part "+p.ID, p.ContentType+p.Charset+p.Filename+p.Disposition+p.ContentID)
	}
	valid("MessageID", m.MessageID)
	for _, f := range m.Header {
		if strings.ToValidUTF8(f.Value, "\uFFFD") != f.Value {
			t.Errorf("header %s value is not valid UTF-8: %q", f.Name, f.Value)
		}
	}
	for _, p := range m.Problems {
		if strings.HasPrefix(p, "internal error") {
			t.Errorf("Parse recovered from a panic: %s", p)
		}
		if len(p) > maxProblemLen || strings.ContainsAny(p, "\r\n") || strings.ToValidUTF8(p, "") != p {
			t.Errorf("problem is not one short line of UTF-8: %.100q", p)
		}
	}
}

func TestPartContentCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) < 12 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw := readFile(t, filepath.Base(f))
			checkConsistent(t, raw, Parse(raw, Options{}), Options{})
		})
	}
}

func TestPartContentNotFound(t *testing.T) {
	raw := readFile(t, "nested.eml")
	// "1" is the multipart/alternative: a container, not a leaf.
	for _, id := range []string{"", "1", "1.2", "3", "1.1.1", "0", "x"} {
		if _, _, err := PartContent(raw, id, Options{}); !errors.Is(err, ErrNoPart) {
			t.Errorf("PartContent(%q) err = %v, want ErrNoPart", id, err)
		}
	}
}

func TestPartContentKeepsCharsetBytes(t *testing.T) {
	raw := readFile(t, "latin1-qp.eml")
	_, data, err := PartContent(raw, "1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Quoted-printable removed, ISO-8859-1 kept: 0xDC is "Ü".
	if !bytes.Contains(data, []byte("anbei die \xdcbersicht f\xfcr M\xe4rz.")) {
		t.Errorf("content = %q", data)
	}
}

func TestPartContentMessageRFC822(t *testing.T) {
	raw := readFile(t, "forwarded-rfc822.eml")
	_, data, err := PartContent(raw, "2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("From: Carol <carol@example.com>\r\n")) ||
		!bytes.HasSuffix(data, []byte("--inner-alt--\r\n")) {
		t.Errorf("attached message = %q", data)
	}
	inner := Parse(data, Options{})
	if inner.Subject != "Original question" || len(inner.Parts) != 2 || len(inner.Problems) != 0 {
		t.Errorf("attached message parses to %+v", inner)
	}
}

func TestByContentID(t *testing.T) {
	raw := readFile(t, "related-cid.eml")
	png := readFile(t, "pixel.png")
	for _, cid := range []string{
		"cid:logo.png@01DA1234.5678ABCD",
		"CID:logo.png%4001DA1234.5678ABCD", // RFC 2392 2: URL-escaped
		"<logo.png@01DA1234.5678ABCD>",
		"logo.png@01DA1234.5678ABCD",
	} {
		p, data, err := ByContentID(raw, cid, Options{})
		if err != nil || p.ID != "2" || !bytes.Equal(data, png) {
			t.Errorf("ByContentID(%q) = %+v, %d bytes, %v", cid, p, len(data), err)
		}
	}
	for _, cid := range []string{"", "cid:", "cid:other@x", "<>"} {
		if _, _, err := ByContentID(raw, cid, Options{}); !errors.Is(err, ErrNoPart) {
			t.Errorf("ByContentID(%q) err = %v, want ErrNoPart", cid, err)
		}
	}
}
