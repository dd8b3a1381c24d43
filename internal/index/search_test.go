package index

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestQueryOperators runs every operator of the language, negated and
// combined, against the corpus of helpers_test.go.
func TestQueryOperators(t *testing.T) {
	ix := newIndex(t)
	_, names := loadCorpus(t, ix)
	all := "cafe invoice news plain weird"
	for _, c := range []struct{ q, want string }{
		{"", all},
		// Free text: word prefixes over subject, addresses and body.
		{"invoice", "invoice news"},
		{"INVOIC", "invoice news"},
		{"hello", "news plain"},
		{"november", "invoice"},
		{"billing", "invoice"},  // From display name
		{"shop", "invoice"},     // an address's domain
		{"carol", "cafe"},       // Cc
		{"postmaster", "weird"}, // RCPT TO
		{"cafe", "cafe"},        // diacritics removed
		{"CAFÉ", "cafe"},
		{"muller", "cafe"},
		{"ZOË", "cafe"},
		{"hello -newsletter", "plain"},
		{"-hello -invoice", "cafe weird"},
		{"-hello", "cafe invoice weird"},
		// Phrases are exact, in order.
		{`"invoice for november"`, "invoice"},
		{`"november invoice"`, ""},
		{`"invoic"`, ""},
		{`-"quick brown"`, "cafe invoice news weird"},
		// subject: words of the subject only.
		{"subject:invoice", "invoice"},
		{"subject:hello", "plain"},
		{"subject:HELL", "plain"},
		{`subject:"weekly newsletter"`, "news"},
		{`subject:"newsletter weekly"`, ""},
		{"-subject:hello", "cafe invoice news weird"},
		{"subject:fox", ""}, // body only
		// from: substrings of From and MAIL FROM.
		{"from:billing", "invoice"},
		{"from:SHOP.example", "invoice"},
		{"from:bounce@", "invoice"}, // MAIL FROM only
		{"from:zoë", "cafe"},
		{"from:alice", "plain"},
		{"-from:example.org", "cafe invoice news weird"},
		// to: substrings of To, Cc and RCPT TO.
		{"to:alice", "invoice news"},
		{"to:carol", "cafe"},
		{"to:postmaster", "weird"},
		{"to:bob", "cafe plain"},
		// ip: exact, CIDR, text prefix.
		{"ip:10.0.0.0/8", "cafe news"},
		{"ip:10.1.2.3", "cafe"},
		{"ip:10.1.2.4", ""},
		{"ip:10.1.0.0/16", "cafe"},
		{"ip:2001:db8::/32", "weird"},
		{"ip:2001:db8::5", "weird"},
		{"ip:0.0.0.0/0", "cafe invoice news plain"},
		{"ip:192.0.2.", "invoice"},
		{"ip:192.0.2", "invoice"},
		{"ip:10.1", "cafe"},
		{"ip:10.", "cafe news"},
		{"-ip:10.0.0.0/8", "invoice plain weird"},
		// helo: substring; % and _ are literal.
		{"helo:shop", "invoice"},
		{"helo:%", "weird"},
		{"helo:_", "weird"},
		{"helo:[10.1", "cafe"},
		{"has:attachment", "invoice"},
		{"-has:attachment", "cafe news plain weird"},
		{"is:unread", "invoice news plain weird"},
		{"is:read", "cafe"},
		{"-is:read", "invoice news plain weird"},
		{"-is:unread", "cafe"},
		{"finding:missing-date", "invoice news"},
		{"finding:MISSING-DATE", "invoice news"},
		{"finding:missing", ""},
		{"-finding:missing-date", "cafe plain weird"},
		{"verdict:dnsbl", "cafe news"},
		{"verdict:dnsbl:zen.example", "cafe"},
		{"verdict:trap", "cafe"},
		{"verdict:tls", "invoice"},
		{"verdict:dns", ""},
		{"-verdict:dnsbl", "invoice plain weird"},
		{"tag:important", "news"},
		{"tag:IMPORTANT", "news"},
		{"-tag:important", "cafe invoice plain weird"},
		// Dates compare with ReceivedAt (noon UTC of day N).
		{"before:2026-11-03", "cafe invoice"},
		{"after:2026-11-03", "news plain weird"},
		{"after:2026-11-02T12:00:00Z before:2026-11-04T00:00:00+00:00", "cafe weird"},
		{"before:2026-11-02T13:00:00+02:00", "invoice"}, // 11:00 UTC
		{"-before:2026-11-05", "plain"},
		// Combinations.
		{"from:shop.example subject:invoice -is:read", "invoice"},
		{"invoice -from:billing", "news"},
		{"to:alice is:unread -has:attachment", "news"},
		{"verdict:dnsbl -tag:important ip:10.0.0.0/8", "cafe"},
		{`from:example "quick brown" -cafe`, "plain"},
	} {
		t.Run(c.q, func(t *testing.T) {
			q, err := ParseQuery(c.q)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := ix.MatchIDs(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(namesOf(ids, names), " "); got != c.want {
				t.Errorf("%q matched [%s], want [%s]", c.q, got, c.want)
			}
			// List agrees with MatchIDs, counts included.
			p, err := ix.List(context.Background(), ListOptions{Query: q, Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != len(ids) || len(p.Messages) != len(ids) {
				t.Errorf("List total %d, %d messages; MatchIDs %d", p.Total, len(p.Messages), len(ids))
			}
		})
	}
}

// TestHostileQueries feeds SQL and FTS5 syntax through the query
// language: every input must parse or fail as a QueryError, run without
// a database error, match what its literal words say, and leave the
// database as it was.
func TestHostileQueries(t *testing.T) {
	ix := newIndex(t)
	_, names := loadCorpus(t, ix)
	for _, c := range []struct{ q, want string }{
		{`"100%"`, "weird"},
		{`100%`, "weird"},
		{`off_sale`, "weird"},
		{`NEAR`, "weird"},
		{`OR`, "cafe invoice news plain weird"}, // a prefix: "org"
		{`"OR"`, "weird"},
		{`AND`, ""},
		{`NOT`, ""},
		{`(NEAR)`, "weird"},
		{`NEAR(hello world)`, ""},
		{`*stars*`, "weird"},
		{`*`, "cafe invoice news plain weird"}, // no letters: ignored
		{`"*"`, "cafe invoice news plain weird"},
		{`-*`, "cafe invoice news plain weird"},
		{`""`, "cafe invoice news plain weird"},
		{`"now"`, "weird"},
		{`subject:"\"now\""`, "weird"},
		{`subject:"(NEAR)"`, "weird"},
		{`subject:NEAR/2`, ""}, // the phrase "near 2"
		{`subject:"NEAR OR"`, "weird"},
		{`subject:^now`, "weird"},
		{`subject:OR`, "weird"},
		// FTS5 column filters are words like any other.
		{`{subject}:hello`, ""},
		{`body:fox`, ""},
		{`subject : hello`, ""},
		{`'; DROP TABLE messages; --`, "weird"},
		{`from:'; DROP TABLE messages; --`, "ERR"}, // from:'; has no word
		{`from:"'; DROP TABLE messages; --"`, ""},
		{`from:"x' OR 1=1 --"`, ""},

		{`O'Reilly`, "weird"},
		{`from:%`, "ERR"},
		{`from:_`, "ERR"},
		{`to:\`, "ERR"},
		{`from:%' OR '1'='1`, "ERR"},
		{`from:"%' OR '1'='1"`, ""},
		{`tag:' OR 1=1 --`, ""},
		{`verdict:%`, ""},
		{`ip:' OR 1=1`, "ERR"},
		{`helo:\%`, ""},
		{"x\x00y", ""},
		{`-"quick" -"lait"`, "invoice news weird"},
	} {
		q, err := ParseQuery(c.q)
		if c.want == "ERR" {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Errorf("ParseQuery(%q): err = %v, want a QueryError", c.q, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", c.q, err)
			continue
		}
		ids, err := ix.MatchIDs(context.Background(), q)
		if err != nil {
			t.Errorf("%q: %v", c.q, err)
			continue
		}
		if got := strings.Join(namesOf(ids, names), " "); got != c.want {
			t.Errorf("%q matched [%s], want [%s]", c.q, got, c.want)
		}
	}
	if p := list(t, ix, ""); p.Total != 5 {
		t.Errorf("after the hostile queries the index has %d messages, want 5", p.Total)
	}
}

func TestListPagingSortingCounts(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	ms, names := loadCorpus(t, ix)
	order := func(opt ListOptions) string {
		t.Helper()
		p, err := ix.List(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range p.Messages {
			ids = append(ids, m.ID)
		}
		return strings.Join(namesInOrder(ids, names), " ")
	}
	for _, c := range []struct {
		opt  ListOptions
		want string
	}{
		{ListOptions{}, "plain news weird cafe invoice"},
		{ListOptions{Sort: "received"}, "plain news weird cafe invoice"},
		{ListOptions{Sort: "-received"}, "invoice cafe weird news plain"},
		{ListOptions{Sort: "size"}, "cafe weird invoice plain news"},
		{ListOptions{Sort: "-size"}, "news plain invoice weird cafe"},
		// "100% ..." < "Café" < "hello" < "Weekly" < "Your", ignoring case.
		{ListOptions{Sort: "subject"}, "weird cafe plain news invoice"},
		{ListOptions{Sort: "-subject"}, "invoice news plain cafe weird"},
		{ListOptions{Sort: "from"}, "plain invoice news weird cafe"},
		{ListOptions{Limit: 2}, "plain news"},
		{ListOptions{Limit: 2, Offset: 2}, "weird cafe"},
		{ListOptions{Limit: 2, Offset: 4}, "invoice"},
		{ListOptions{Limit: 2, Offset: 5}, ""},
		{ListOptions{Limit: -1}, ""},
	} {
		if got := order(c.opt); got != c.want {
			t.Errorf("List(%+v) = [%s], want [%s]", c.opt, got, c.want)
		}
	}
	q, _ := ParseQuery("to:alice")
	p, err := ix.List(ctx, ListOptions{Query: q, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 2 || p.Unread != 2 || len(p.Messages) != 1 || p.Messages[0].ID != ms["news"].ID {
		t.Errorf("to:alice limit 1 = total %d unread %d %d messages", p.Total, p.Unread, len(p.Messages))
	}
	// Labels come with the listed messages; Text does not.
	if m := p.Messages[0]; !reflect.DeepEqual(m.Tags, []string{"important"}) ||
		!reflect.DeepEqual(m.Findings, []string{"bare-lf-data", "missing-date"}) || m.Text != "" {
		t.Errorf("listed message = %+v", m)
	}
	p, err = ix.List(ctx, ListOptions{Limit: -1})
	if err != nil || p.Total != 5 || p.Unread != 4 || p.Messages != nil {
		t.Errorf("counts only = %+v, %v", p, err)
	}
	q, _ = ParseQuery("verdict:dnsbl")
	if p, _ := ix.List(ctx, ListOptions{Query: q}); p.Total != 2 || p.Unread != 1 {
		t.Errorf("verdict:dnsbl counts = %d/%d, want 2/1", p.Total, p.Unread)
	}
	if _, err := ix.List(ctx, ListOptions{Sort: "date"}); err == nil {
		t.Error("unknown sort accepted")
	}
}

// FuzzSearch runs arbitrary queries against a real index: whatever
// parses must run without a database error (FTS5 syntax errors
// included).
func FuzzSearch(f *testing.F) {
	for _, s := range []string{
		"hello", `"a" -"b" NEAR(x)`, `subject:"(" OR ")"`, "from:%_\\", `*"*`, "-x -y", `subject:^a:b`,
		"ip:::/0", "verdict:a;b", "\x00", "\"\"", "a\"", `"\\`,
	} {
		f.Add(s)
	}
	ix := newIndex(f)
	ms := corpus()
	var all []Message
	for _, m := range ms {
		all = append(all, m)
	}
	if err := ix.PutMany(context.Background(), all); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			return
		}
		if _, err := ix.List(context.Background(), ListOptions{Query: q}); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
