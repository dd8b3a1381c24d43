package index

import (
	"context"
	"log/slog"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"fakesmtp/internal/id"
)

// newIndex opens a fresh index file in a test folder, closed at cleanup.
func newIndex(t testing.TB) *Index {
	t.Helper()
	ix, err := Open(context.Background(), filepath.Join(t.TempDir(), "index.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Error(err)
		}
	})
	return ix
}

// idAt returns a message ID made at the given time, so that IDs sort
// like the ReceivedAt of the test messages.
func idAt(at time.Time) string {
	return id.NewGenerator(func() time.Time { return at }).New()
}

// day is the noon of the given day of November 2026, UTC.
func day(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }

// corpus is a small set of varied messages, by name, for the search
// tests.
func corpus() map[string]Message {
	ms := map[string]Message{
		"invoice": {
			ReceivedAt: day(1), Session: "S1", ClientIP: "192.0.2.10", ClientPort: 4000, Helo: "mail.shop.example",
			MailFrom: "bounce@shop.example", RcptTo: []string{"alice@example.org"},
			From: []string{"Billing Dept <billing@shop.example>"}, To: []string{"alice@example.org"},
			Subject: "Your invoice #42", Text: "Please find attached the invoice for November.",
			Size: 3000, Attachments: 1, Verdicts: []string{"tls"}, Findings: []string{"missing-date"},
		},
		"cafe": {
			ReceivedAt: day(2), ClientIP: "10.1.2.3", Helo: "[10.1.2.3]", MailFrom: "zoe@example.net",
			RcptTo: []string{"bob@example.org", "carol@example.org"},
			From:   []string{"Zoë Müller <zoe@example.net>"}, To: []string{"bob@example.org"}, Cc: []string{"carol@example.org"},
			Subject: "Café au lait", Text: "Rendez-vous au café à 10h", Size: 1000,
			Verdicts: []string{"dnsbl:zen.example", "trap:spamtrap"}, Read: true,
		},
		"weird": {
			ReceivedAt: day(3), ClientIP: "2001:db8::5", Helo: "weird_host%", MailFrom: "x@percent.example",
			RcptTo: []string{"postmaster@example.org"}, From: []string{"x@percent.example"},
			Subject: `100% off_sale "now" (NEAR) OR *stars*`, Text: "O'Reilly said 'hi'; DROP TABLE messages; --",
			Size: 2000,
		},
		"news": {
			ReceivedAt: day(4), ClientIP: "10.200.0.1", Helo: "list.example", MailFrom: "news@list.example",
			RcptTo: []string{"alice@example.org"}, From: []string{"news@list.example"}, To: []string{"alice@example.org"},
			Subject: "Weekly newsletter", Text: "hello world, this is the newsletter body; the invoice is elsewhere",
			Size: 5000, Tags: []string{"important"}, Verdicts: []string{"dnsbl:bl.example"},
			Findings: []string{"bare-lf-data", "missing-date"},
		},
		"plain": {
			ReceivedAt: day(5), ClientIP: "198.51.100.7", Helo: "alice-pc", MailFrom: "alice@example.org",
			RcptTo: []string{"bob@example.org"}, From: []string{"Alice <alice@example.org>"}, To: []string{"bob@example.org"},
			Subject: "hello", Text: "the quick brown fox", Size: 4000, Verdicts: []string{"auth"},
		},
	}
	for name, m := range ms {
		m.ID = idAt(m.ReceivedAt)
		ms[name] = m
	}
	return ms
}

// loadCorpus puts the corpus into ix and returns it with a map from ID
// back to name.
func loadCorpus(t *testing.T, ix *Index) (map[string]Message, map[string]string) {
	t.Helper()
	ms := corpus()
	names := map[string]string{}
	var all []Message
	for name, m := range ms {
		names[m.ID] = name
		all = append(all, m)
	}
	if err := ix.PutMany(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	return ms, names
}

// namesOf maps IDs to corpus names, sorted.
func namesOf(ids []string, names map[string]string) []string {
	out := make([]string, 0, len(ids))
	for _, i := range ids {
		out = append(out, names[i])
	}
	sort.Strings(out)
	return out
}
