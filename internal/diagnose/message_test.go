package diagnose

import (
	"slices"
	"strings"
	"testing"
)

// clean is a minimal header section with nothing to report.
const clean = "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n" +
	"From: Alice <alice@example.com>\r\n" +
	"Message-ID: <1234@example.com>\r\n"

// without returns clean minus the field whose line starts with name.
func without(name string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(clean, "\r\n") {
		if l != "" && !strings.HasPrefix(l, name+":") {
			b.WriteString(l)
		}
	}
	return b.String()
}

func codes(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func TestMessage(t *testing.T) {
	long := "Subject: " + strings.Repeat("x", 990) + "\r\n" // 999 characters
	edge := "Subject: " + strings.Repeat("x", 989) + "\r\n" // 998 characters
	tests := []struct {
		name     string
		in       string
		smtputf8 bool
		want     []string
	}{
		{"clean", clean, false, nil},
		{"clean with body", clean + "\r\nHello\r\n", false, nil},
		{"clean bare LF", strings.ReplaceAll(clean, "\r\n", "\n") + "\nHello: there\nbody\n", false, nil},
		{"clean no final newline", strings.TrimSuffix(clean, "\r\n"), false, nil},
		{"obsolete date", "Date: 2 Jan 06 15:04 GMT\r\n" + without("Date"), false, nil},
		{"date with comment", "Date: Mon, 2 Jan 2006 15:04:05 +0000 (UTC)\r\n" + without("Date"), false, nil},
		{"folded date", "Date: Mon, 2 Jan 2006\r\n 15:04:05 -0700\r\n" + without("Date"), false, nil},
		{"folded from with tab", "From: Alice\r\n\t<alice@example.com>\r\n" + without("From"), false, nil},
		{"folded message-id", "Message-ID:\r\n <1234@example.com>\r\n" + without("Message-ID"), false, nil},
		{"lower-case names", strings.ToLower(clean), false, nil},
		{"space before colon (obsolete)", "Date : Mon, 2 Jan 2006 15:04:05 -0700\r\n" + without("Date"), false, nil},
		{"encoded word, unknown charset", "From: =?x-unknown?q?A?= <a@example.com>\r\n" + without("From"), false, nil},
		{"message-id literal", "Message-ID: <a.b@[192.0.2.1]>\r\n" + without("Message-ID"), false, nil},
		{"message-id quoted", "Message-ID: <\"a b\"@example.com> (comment)\r\n" + without("Message-ID"), false, nil},
		{"repeatable fields", clean + "Received: a\r\nReceived: b\r\nX-A: 1\r\nX-A: 2\r\n", false, nil},
		{"utf-8 with smtputf8", clean + "Subject: héllo\r\n", true, nil},
		{"998 characters", clean + edge, false, nil},
		{"utf-8 in body", clean + "\r\nhéllo\r\n", false, nil},

		{"empty", "", false, []string{"missing-date", "missing-from", "missing-message-id"}},
		{"body only", "\r\nHello\r\n", false, []string{"missing-date", "missing-from", "missing-message-id"}},
		{"missing date", without("Date"), false, []string{"missing-date"}},
		{"missing from", without("From"), false, []string{"missing-from"}},
		{"missing message-id", without("Message-ID"), false, []string{"missing-message-id"}},
		{"bad date", "Date: yesterday\r\n" + without("Date"), false, []string{"bad-date"}},
		{"empty date", "Date:\r\n" + without("Date"), false, []string{"bad-date"}},
		{"bad from", "From: Alice <alice@\r\n" + without("From"), false, []string{"bad-from"}},
		{"group from", "From: undisclosed:;\r\n" + without("From"), false, []string{"bad-from"}},
		{"bad message-id no brackets", "Message-ID: 1234@example.com\r\n" + without("Message-ID"), false, []string{"bad-message-id"}},
		{"bad message-id no at", "Message-ID: <1234>\r\n" + without("Message-ID"), false, []string{"bad-message-id"}},
		{"bad message-id two", "Message-ID: <a@b> <c@d>\r\n" + without("Message-ID"), false, []string{"bad-message-id"}},
		{"bad message-id space", "Message-ID: <a b@c>\r\n" + without("Message-ID"), false, []string{"bad-message-id"}},
		{"duplicate date", clean + "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n", false, []string{"duplicate-header"}},
		{"duplicate subject", clean + "Subject: a\r\nsubject: b\r\nSUBJECT: c\r\n", false, []string{"duplicate-header"}},
		{"header line too long", clean + long, false, []string{"header-line-too-long"}},
		{"continuation too long", clean + "Subject: a\r\n " + strings.Repeat("x", 998) + "\r\n", false, []string{"header-line-too-long"}},
		{"non-ascii", clean + "Subject: héllo\r\n", false, []string{"non-ascii-header"}},
		{"non-ascii in continuation", clean + "Subject: a\r\n héllo\r\n", false, []string{"non-ascii-header"}},
		{"forgot blank line", clean + "Hello Bob,\r\nsee you.\r\n", false, []string{"no-header-body-separator"}},
		{"forgot blank line, bare LF", strings.ReplaceAll(clean, "\r\n", "\n") + "Hello Bob\n", false, []string{"no-header-body-separator"}},
		{"forgot blank line, colon in sentence", clean + "Dear Bob, note: this\r\n", false, []string{"no-header-body-separator"}},
		{"leading continuation", " x\r\n" + clean, false, []string{"missing-date", "missing-from", "missing-message-id"}},

		{"two duplicates", clean + "To: a@b\r\nTo: c@d\r\nCc: a@b\r\nCc: c@d\r\n", false, []string{"duplicate-header", "duplicate-header"}},
		{"several", "From: x\r\nSubject: é\r\n", false, []string{"non-ascii-header", "missing-date", "bad-from", "missing-message-id"}},
		{"non-ascii reported once", clean + "Subject: é\r\nX-A: é\r\n", false, []string{"non-ascii-header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codes(Message([]byte(tt.in), tt.smtputf8))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Message(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Head checks the first bytes of a message that goes on: what is not
// there yet is not missing, and a line cut short is not a body line.
// Message, on the same bytes taken as the whole message, reports both.
func TestHead(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		head, all []string
	}{
		{"date and message-id after the cut", "From: Alice <alice@example.com>\r\nTo: b@example.org,\r\n c@example.org\r\n",
			nil, []string{"missing-date", "missing-message-id"}},
		{"cut inside a field name", "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\nFrom: alice@example.com\r\nMessage-I",
			nil, []string{"no-header-body-separator", "missing-message-id"}},
		{"whole header in the head", clean + "\r\nbody", nil, nil},
		{"header ends in the head, date missing", without("Date") + "\r\nbody", []string{"missing-date"}, []string{"missing-date"}},
		{"bad date before the cut", "Date: soon\r\nFrom: alice@example.com\r\n", []string{"bad-date"}, []string{"bad-date", "missing-message-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codes(Head([]byte(tt.in), false)); !slices.Equal(got, tt.head) {
				t.Errorf("Head: %q, want %q", got, tt.head)
			}
			if got := codes(Message([]byte(tt.in), false)); !slices.Equal(got, tt.all) {
				t.Errorf("Message: %q, want %q", got, tt.all)
			}
		})
	}
}

func TestMessageDuplicateText(t *testing.T) {
	got := Message([]byte(clean+"message-id: <5@example.com>\r\n"), false)
	if len(got) != 1 || !strings.Contains(got[0].Text, "Message-ID") {
		t.Errorf("got %+v, want one duplicate-header naming Message-ID", got)
	}
}

// TestMessageBounded checks the work limits: past 1000 lines or 1 MiB the
// rest is not looked at, and absent fields are not reported missing since
// they may lie beyond.
func TestMessageBounded(t *testing.T) {
	many := strings.Repeat("X-Filler: y\r\n", 5000)
	huge := "Subject: " + strings.Repeat("x", 2<<20) + "\r\n"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"many lines, fields after the limit", many + clean + clean, nil},
		{"many lines, no fields", many, nil},
		{"fields, then many lines with a duplicate after the limit", clean + many + clean, nil},
		{"bad date before the limit", "Date: soon\r\n" + many, []string{"bad-date"}},
		{"exactly 1000 lines", clean + strings.Repeat("X-Filler: y\r\n", 997), nil},
		{"1001 lines, missing date", without("Date") + strings.Repeat("X-Filler: y\r\n", 999), nil},
		{"999 lines, missing date", without("Date") + strings.Repeat("X-Filler: y\r\n", 997), []string{"missing-date"}},
		{"huge line", clean + huge, []string{"header-line-too-long"}},
		{"huge line first", huge + clean, []string{"header-line-too-long"}},
		// The 1 MiB limit falls inside "X-Filler", which must not be taken
		// for a body line.
		{"cut inside a field name", "Subject: " + strings.Repeat("x", 1<<20-9-2-3) + "\r\nX-Filler: y\r\n", []string{"header-line-too-long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codes(Message([]byte(tt.in), false))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
