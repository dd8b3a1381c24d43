package mimeview

import (
	"reflect"
	"strings"
	"testing"
)

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
