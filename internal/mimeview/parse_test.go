package mimeview

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corpusCase is what one file of testdata/ must parse to.
type corpusCase struct {
	file        string
	subject     string
	from        []Address
	to          []Address
	cc          []Address
	date        string // RFC 3339, "" for zero
	messageID   string
	text        string // exact, unless textHas is set
	textHas     []string
	htmlHas     []string // HTML must contain each; nil means HTML must be empty
	parts       []Part
	attachments int
	problems    []string          // substrings, one per expected problem, in order
	content     map[string]string // part ID -> testdata file with its exact bytes
}

var corpus = []corpusCase{
	{
		file:      "plain-ascii.eml",
		subject:   "Quarterly numbers",
		from:      []Address{{"Alice Example", "alice@example.org"}},
		to:        []Address{{"", "bob@example.com"}, {"Carol, Q.", "carol@example.com"}},
		date:      "2024-05-14T11:12:01+02:00",
		messageID: "20240514091201.4F2A1C0@client.example.org",
		text:      "Hi Bob,\r\n\r\nthe numbers are in. Let's talk on Thursday.\r\n\r\n-- \r\nAlice\r\n",
		parts:     []Part{{ID: "1", ContentType: "text/plain", Size: 70}},
	},
	{
		file:      "utf8-8bit.eml",
		subject:   "Café ☕ — naïve résumé 🎉",
		from:      []Address{{"Renée Dupré", "renee@example.fr"}},
		to:        []Address{{"Zoë Ångström", "zoe@example.se"}},
		date:      "2024-05-15T08:00:00Z",
		messageID: "c0ffee.1715760000@example.fr",
		text:      "Bonjour Zoë,\n\nle café est prêt ☕. Ça va? Smörgåsbord, Ærøskøbing, 東京, Ελληνικά, emoji 🎉.\n",
		parts:     []Part{{ID: "1", ContentType: "text/plain", Charset: "utf-8", Size: 115}},
	},
	{
		file: "latin1-qp.eml",
		// A B and a Q encoded word, folded apart: the white space between
		// them goes (RFC 2047 6.2).
		subject: "Grüße aus München, Übersicht 2024",
		from:    []Address{{"Jörg Müller", "joerg@example.de"}},
		// An encoded word inside quotes, as Outlook writes it.
		to:        []Address{{"Zoë Ångström", "zoe@example.com"}},
		cc:        []Address{{"François", "francois@example.fr"}, {"", "plain@example.com"}},
		date:      "2024-05-16T14:30:00+02:00",
		messageID: "4711.0815@mail.example.de",
		text: "Sehr geehrte Damen und Herren,\r\n\r\nanbei die Übersicht für März. Die Straße ist gesperrt.\r\n" +
			"Diese Zeile ist sehr lang und wird deshalb mit einem weichen Zeilenumbruch umbrochen, wie es RFC 2045 vorsieht.\r\n\r\n" +
			"Mit freundlichen Grüßen\r\nJörg Müller\r\n",
		parts: []Part{{ID: "1", ContentType: "text/plain", Charset: "iso-8859-1", Size: 243}},
	},
	{
		file:      "alternative.eml",
		subject:   "Your weekly deals",
		from:      []Address{{"Newsletter", "news@shop.example"}},
		to:        []Address{{"", "customer@example.net"}},
		date:      "2024-05-17T06:00:00-04:00",
		messageID: "deals-2024-20@shop.example",
		text:      "Deals of the week:\r\n* Kettle, 20% off\r\n* Toaster, 15% off\r\n",
		htmlHas:   []string{`<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">`, "<li>Toaster, 15% off</li>"},
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Charset: "utf-8", Size: 59},
			{ID: "2", ContentType: "text/html", Charset: "utf-8", Size: 211},
		},
	},
	{
		file:      "mixed-attachments.eml",
		subject:   "Documents for the application",
		from:      []Address{{"Alice Example", "alice@example.org"}},
		to:        []Address{{"Bob", "bob@example.com"}},
		date:      "2024-05-20T10:00:00Z",
		messageID: "docs.1716199200@example.org",
		text:      "Hi Bob,\r\n\r\nattached: my résumé, a photo, my notes and the figures.\r\n\r\nAlice\r\n",
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Charset: "utf-8", Size: 79},
			{ID: "2", ContentType: "image/png", Filename: "pixel.png", Disposition: "attachment", Size: 69, Attachment: true},
			// RFC 2231 filename* in UTF-8 wins over the RFC 2047 name.
			{ID: "3", ContentType: "application/pdf", Filename: "résumé final.pdf", Disposition: "attachment", Size: 586, Attachment: true},
			// RFC 2231 in ISO-8859-1, which mime.ParseMediaType drops.
			{ID: "4", ContentType: "text/plain", Charset: "iso-8859-1", Filename: "notizen_für_März.txt", Disposition: "attachment", Size: 54, Attachment: true},
			// RFC 2231 continuations, encoded and plain mixed.
			{ID: "5", ContentType: "text/csv", Charset: "us-ascii", Filename: "Bericht über Q1.csv", Disposition: "attachment", Size: 35, Attachment: true},
		},
		attachments: 4,
		content:     map[string]string{"2": "pixel.png", "3": "tiny.pdf", "4": "notes-latin1.txt"},
	},
	{
		file:      "related-cid.eml",
		subject:   "Our new logo",
		from:      []Address{{"Marketing", "marketing@brand.example"}},
		to:        []Address{{"", "subscriber@example.net"}},
		date:      "2024-05-21T12:00:00Z",
		messageID: "logo-launch@brand.example",
		htmlHas:   []string{`<img src="cid:logo.png@01DA1234.5678ABCD" alt="logo">`},
		parts: []Part{
			{ID: "1", ContentType: "text/html", Charset: "us-ascii", Size: 106},
			// Inline resource of the HTML: not an attachment, filename or not.
			{ID: "2", ContentType: "image/png", Filename: "logo.png", Disposition: "inline", ContentID: "logo.png@01DA1234.5678ABCD", Size: 69},
		},
		content: map[string]string{"2": "pixel.png"},
	},
	{
		file:      "nested.eml",
		subject:   "Re: Documents for the application",
		from:      []Address{{"Bob", "bob@example.com"}},
		to:        []Address{{"Alice Example", "alice@example.org"}},
		date:      "2024-05-22T09:15:00Z",
		messageID: "re-docs.1716369300@example.com",
		text:      "Thanks Alice, signed contract attached.\r\n",
		htmlHas:   []string{`<img src="cid:image001.png@01DAAC1B.4F2E3A50">`},
		parts: []Part{
			{ID: "1.1", ContentType: "text/plain", Charset: "us-ascii", Size: 41},
			{ID: "1.2.1", ContentType: "text/html", Charset: "us-ascii", Size: 120},
			{ID: "1.2.2", ContentType: "image/png", Filename: "image001.png", Disposition: "inline", ContentID: "image001.png@01DAAC1B.4F2E3A50", Size: 69},
			{ID: "2", ContentType: "application/pdf", Filename: "contract-signed.pdf", Disposition: "attachment", Size: 586, Attachment: true},
		},
		attachments: 1,
		content:     map[string]string{"1.2.2": "pixel.png", "2": "tiny.pdf"},
	},
	{
		file:      "forwarded-rfc822.eml",
		subject:   "Fwd: Original question",
		from:      []Address{{"Bob", "bob@example.com"}},
		to:        []Address{{"Dave", "dave@example.com"}},
		date:      "2024-05-20T09:00:00Z",
		messageID: "fwd@example.com",
		// Not the forwarded message's text or HTML.
		text: "Dave, see the message below.\r\n",
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Charset: "utf-8", Size: 30},
			{ID: "2", ContentType: "message/rfc822", Disposition: "inline", Size: 476, Attachment: true},
		},
		attachments: 1,
	},
	{
		file:      "broken-missing-close.eml",
		subject:   "Truncated upload",
		from:      []Address{{"", "sloppy@example.org"}},
		to:        []Address{{"", "bob@example.com"}},
		date:      "2024-05-23T10:00:00Z",
		messageID: "trunc@example.org",
		text:      "The attachment follows, but the closing boundary never comes.",
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Size: 61},
			{ID: "2", ContentType: "application/octet-stream", Filename: "pixel.png", Disposition: "attachment", Size: 69, Attachment: true},
		},
		attachments: 1,
		problems:    []string{"message: multipart/mixed ends without its closing boundary"},
		content:     map[string]string{"2": "pixel.png"},
	},
	{
		file:    "broken-base64.eml",
		subject: "Bad base64",
		from:    []Address{{"", "sloppy@example.org"}},
		to:      []Address{{"", "bob@example.com"}},
		date:    "2024-05-23T10:05:00Z",
		text:    "The image below is corrupt.",
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Charset: "utf-8", Size: 27},
			// The 15 bytes decoded before the bad characters.
			{ID: "2", ContentType: "image/png", Filename: "broken.png", Disposition: "attachment", Size: 15, Attachment: true},
		},
		attachments: 1,
		problems:    []string{"part 2: bad base64 data: illegal base64 data at input byte 20"},
	},
	{
		file:    "broken-charset.eml",
		subject: "Hello world",
		from:    []Address{{"", "sloppy@example.org"}},
		to:      []Address{{"", "bob@example.com"}},
		date:    "2024-05-23T10:10:00Z",
		text:    "Café is UTF-8, caf\uFFFD is Latin-1.\r\n",
		parts:   []Part{{ID: "1", ContentType: "text/plain", Charset: "x-unknown", Size: 34}},
		problems: []string{
			`unknown charset "x-unknown" in an encoded word`,
			`part 1: unknown charset "x-unknown"; read as UTF-8`,
		},
	},
	{
		file:    "broken-boundary-absent.eml",
		subject: "Boundary that never appears",
		from:    []Address{{"", "sloppy@example.org"}},
		to:      []Address{{"", "bob@example.com"}},
		date:    "2024-05-23T10:15:00Z",
		// The body is shown rather than lost.
		textHas:  []string{"The sender changed the boundary and forgot the header.", "--some-other-boundary--"},
		parts:    []Part{{ID: "1", ContentType: "text/plain", Size: 132}},
		problems: []string{`message: boundary "declared-boundary" of multipart/mixed never found`},
	},
	{
		file:    "outlook-unquoted-boundary.eml",
		subject: "Unquoted boundary",
		from:    []Address{{"Old Outlook", "oe@example.com"}},
		to:      []Address{{"", "bob@example.com"}},
		date:    "2024-05-24T07:00:00+01:00",
		text:    "It’s “quoted” and costs €20.\r\n",
		htmlHas: []string{"<p>It’s “quoted” and costs €20.</p>"},
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Charset: "windows-1252", Size: 30},
			{ID: "2", ContentType: "text/html", Charset: "windows-1252", Size: 37},
		},
		problems: []string{"message: malformed Content-Type"},
	},
	{
		file:      "iso-2022-jp.eml",
		subject:   "会議の件",
		from:      []Address{{"山田太郎", "yamada@example.jp"}},
		to:        []Address{{"", "tanaka@example.jp"}},
		date:      "2024-05-27T09:00:00+09:00",
		messageID: "jp.20240527@example.jp",
		text:      "お世話になっております。\r\n来週の会議の件、よろしくお願いいたします。\r\n",
		parts:     []Part{{ID: "1", ContentType: "text/plain", Charset: "iso-2022-jp", Size: 82}},
	},
	{
		file:    "windows-1252.eml",
		subject: "Your € invoice – “final”",
		from:    []Address{{"Shop", "shop@example.com"}},
		to:      []Address{{"", "bob@example.com"}},
		date:    "2024-05-28T16:45:00Z",
		text:    "Total: €49 – “thanks” for shopping… ©\r\n",
		parts: []Part{
			{ID: "1", ContentType: "text/plain", Charset: "windows-1252", Size: 39},
			{ID: "2", ContentType: "text/plain", Charset: "shift_jis", Filename: "見積書.txt", Disposition: "attachment", Size: 18, Attachment: true},
		},
		attachments: 1,
	},
}

func TestParseCorpus(t *testing.T) {
	for _, tc := range corpus {
		t.Run(tc.file, func(t *testing.T) {
			raw := readFile(t, tc.file)
			m := Parse(raw, Options{})
			check := func(field string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", field, got, want)
				}
			}
			check("Subject", m.Subject, tc.subject)
			check("From", m.From, tc.from)
			check("To", m.To, tc.to)
			check("Cc", m.Cc, tc.cc)
			check("MessageID", m.MessageID, tc.messageID)
			date := ""
			if !m.Date.IsZero() {
				date = m.Date.Format(time.RFC3339)
			}
			check("Date", date, tc.date)
			if tc.textHas == nil {
				check("Text", m.Text, tc.text)
			}
			for _, s := range tc.textHas {
				if !strings.Contains(m.Text, s) {
					t.Errorf("Text %q lacks %q", m.Text, s)
				}
			}
			if tc.htmlHas == nil && m.HTML != "" {
				t.Errorf("HTML = %q, want none", m.HTML)
			}
			for _, s := range tc.htmlHas {
				if !strings.Contains(m.HTML, s) {
					t.Errorf("HTML %q lacks %q", m.HTML, s)
				}
			}
			check("Parts", m.Parts, tc.parts)
			check("Attachments", m.Attachments, tc.attachments)
			checkProblems(t, m.Problems, tc.problems)

			for id, file := range tc.content {
				want := readFile(t, file)
				p, got, err := PartContent(raw, id, Options{})
				if err != nil {
					t.Errorf("PartContent(%s): %v", id, err)
					continue
				}
				if sha(got) != sha(want) {
					t.Errorf("PartContent(%s) sha256 %s (%d bytes), want %s of %s (%d bytes)",
						id, sha(got), len(got), sha(want), file, len(want))
				}
				if p.Size != len(want) {
					t.Errorf("PartContent(%s).Size = %d, want %d", id, p.Size, len(want))
				}
			}
		})
	}
}

// checkProblems wants one problem per substring, in order, and no more.
func checkProblems(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("Problems = %q, want %d matching %q", got, len(want), want)
		return
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("Problems[%d] = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// The bytes under test are the committed files themselves: a changed
// fixture must be a deliberate change.
func TestFixtureChecksums(t *testing.T) {
	for file, want := range map[string]string{
		"pixel.png":        "b1ff9c8ea3a780bad09b346c423d2d0e46815926879b18e841d928376a946640",
		"tiny.pdf":         "65775136814cdb9fd1640f643daab38e5c34036ca49018ed6617f35ea2d70ed2",
		"notes-latin1.txt": "fdfcc2d53bcd4d0817e50ccf4a81e33db0146ffb3ec5771dc25df65c5b5fc7dd",
	} {
		if got := sha(readFile(t, file)); got != want {
			t.Errorf("%s: sha256 %s, want %s", file, got, want)
		}
	}
}

func TestHeaderRawAndValue(t *testing.T) {
	raw := readFile(t, "latin1-qp.eml")
	m := Parse(raw, Options{})
	var names []string
	for _, f := range m.Header {
		names = append(names, f.Name)
	}
	wantNames := []string{"Return-Path", "From", "To", "Cc", "Subject", "Date", "Message-ID",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("names = %q, want %q (in order, case as sent)", names, wantNames)
	}
	subj := m.Header[4]
	wantRaw := " =?ISO-8859-1?B?R3L832UgYXVzIA==?=\r\n =?ISO-8859-1?Q?M=FCnchen,_=DCbersicht_2024?="
	if subj.Raw != wantRaw {
		t.Errorf("Subject Raw = %q, want %q", subj.Raw, wantRaw)
	}
	if subj.Value != "Grüße aus München, Übersicht 2024" {
		t.Errorf("Subject Value = %q", subj.Value)
	}
	// Name + ":" + Raw + CRLF gives back the header byte for byte.
	var b strings.Builder
	for _, f := range m.Header {
		b.WriteString(f.Name + ":" + f.Raw + "\r\n")
	}
	if !strings.HasPrefix(string(raw), b.String()+"\r\n") {
		t.Errorf("header not reproduced:\n%s", b.String())
	}

	// Folded with a tab, LF-only endings kept as they came.
	m = Parse([]byte("Received: from a\n\tby b; Tue, 14 May 2024 09:12:03 +0000\nSubject: x\n\nbody\n"), Options{})
	if got := m.Header[0]; got.Raw != " from a\n\tby b; Tue, 14 May 2024 09:12:03 +0000" ||
		got.Value != "from a\tby b; Tue, 14 May 2024 09:12:03 +0000" {
		t.Errorf("Received = %+v", got)
	}
	if m.Text != "body\n" {
		t.Errorf("Text = %q", m.Text)
	}
}

// TestRFC2231ParamsInOtherCharsets: mime.ParseMediaType drops an RFC 2231
// section 0 in a charset other than UTF-8 or US-ASCII but keeps the
// sections after it, or the plain parameter sent as a fallback. The RFC
// 2231 value must win (RFC 2231 4.1), for the Content-Disposition
// filename and the Content-Type name alike.
func TestRFC2231ParamsInOtherCharsets(t *testing.T) {
	for _, tc := range []struct{ name, fields, want string }{
		{
			name:   "filename continuations",
			fields: "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*0*=iso-8859-1''R%E9sum%E9; filename*1*=%20final.pdf",
			want:   "Résumé final.pdf",
		},
		{
			name:   "filename over plain fallback",
			fields: "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"Resume.pdf\"; filename*=iso-8859-1''R%E9sum%E9.pdf",
			want:   "Résumé.pdf",
		},
		{
			name:   "name continuations, encoded and plain",
			fields: "Content-Type: application/pdf; name*0*=windows-1252''%93Q1%94; name*1=\" report.pdf\"",
			want:   "\u201cQ1\u201d report.pdf",
		},
		{
			name:   "name over plain fallback",
			fields: "Content-Type: application/pdf; name=\"Resume.pdf\"; name*=iso-8859-1'fr'R%E9sum%E9.pdf",
			want:   "Résumé.pdf",
		},
		{
			// RFC 2231 3: no section 0, no value; the plain one stays.
			name:   "plain kept without section 0",
			fields: "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"; filename*1=\"b\"",
			want:   "a.pdf",
		},
		{
			// Not standard, but decoded as go-message does.
			name:   "encoded word in plain continuations",
			fields: "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*0=\"=?UTF-8?Q?R=C3=A9sum=C3=A9?=\"; filename*1=\".pdf\"",
			want:   "Résumé.pdf",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\n" +
				tc.fields + "\r\n\r\nxx\r\n--b--\r\n"
			m := Parse([]byte(raw), Options{})
			if len(m.Parts) != 2 {
				t.Fatalf("Parts = %+v", m.Parts)
			}
			if got := m.Parts[1].Filename; got != tc.want {
				t.Errorf("Filename = %q, want %q", got, tc.want)
			}
			checkProblems(t, m.Problems, nil)
			checkConsistent(t, []byte(raw), m, Options{})
		})
	}
}
