package index

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// t0 is the start of the statistics tests' first bucket.
var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func session(start time.Time, ip, helo, reason string) Session {
	return Session{
		ID: idAt(start), Start: start, End: start.Add(2 * time.Second),
		ClientIP: ip, ClientPort: 1025, Helo: helo, Reason: reason,
	}
}

func TestSessionRoundTrip(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	s := Session{
		ID: idAt(t0), Start: t0, End: t0.Add(1500 * time.Millisecond),
		ClientIP: "192.0.2.1", ClientPort: 40000, Helo: "client.example", TLS: true, AuthUser: "bob",
		Accepted: 2, Refused: 1, Errors: 3, EarlyTalk: true, Tarpitted: true, TrapHit: true,
		Reason:   "dnsbl",
		DNSLists: []string{"zen.example", "bl.example"}, Findings: []string{"no-quit"}, Verdicts: []string{"trap"},
		MessageIDs: []string{idAt(t0.Add(time.Second)), idAt(t0.Add(time.Second))},
		Transcript: "S: 220 hi\r\nC: EHLO client.example\r\n",
	}
	if err := ix.AddSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := ix.GetSession(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
	}
	// A second write replaces the record, transcript included.
	s.Reason, s.Transcript, s.DNSLists = "quit", "", nil
	if err := ix.AddSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, _ = ix.GetSession(ctx, s.ID)
	if got.Reason != "quit" || got.Transcript != "" || got.DNSLists != nil {
		t.Errorf("after replace: %+v", got)
	}
	if _, err := ix.GetSession(ctx, idAt(t0.Add(time.Hour))); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing session: %v, want ErrNotFound", err)
	}
	if err := ix.AddSession(ctx, Session{}); err == nil {
		t.Error("session without ID accepted")
	}
}

func TestListAndPruneSessions(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	var ids []string
	for i, s := range []Session{
		session(t0, "192.0.2.1", "mx.one.example", "quit"),
		session(t0.Add(time.Minute), "192.0.2.2", "mx.two.example", "listed: zen.example"),
		session(t0.Add(2*time.Minute), "192.0.2.1", "ONE.example", "timeout"),
		session(t0.Add(3*time.Minute), "192.0.2.3", "x_%", "quit"),
	} {
		s.Transcript = strings.Repeat("x", i+1)
		if err := ix.AddSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	check := func(opt SessionListOptions, wantTotal int, want ...int) {
		t.Helper()
		ss, total, err := ix.ListSessions(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range ss {
			got = append(got, s.ID)
			if s.Transcript != "" {
				t.Errorf("ListSessions returned a transcript")
			}
		}
		var w []string
		for _, i := range want {
			w = append(w, ids[i])
		}
		if total != wantTotal || !reflect.DeepEqual(got, w) {
			t.Errorf("ListSessions(%+v) = %v (total %d), want %v (total %d)", opt, got, total, w, wantTotal)
		}
	}
	check(SessionListOptions{}, 4, 3, 2, 1, 0)
	check(SessionListOptions{Limit: 2, Offset: 1}, 4, 2, 1)
	check(SessionListOptions{IP: "192.0.2.1"}, 2, 2, 0)
	check(SessionListOptions{Helo: "one"}, 2, 2, 0)
	check(SessionListOptions{Helo: "%"}, 1, 3)
	check(SessionListOptions{Helo: "_"}, 1, 3)
	check(SessionListOptions{Reason: "listed"}, 1, 1)
	check(SessionListOptions{Reason: "%"}, 0)
	check(SessionListOptions{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, 2, 2, 1)
	check(SessionListOptions{IP: "192.0.2.1", From: t0.Add(time.Second)}, 1, 2)

	n, err := ix.PruneSessions(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneSessions = %d, %v; want 2", n, err)
	}
	check(SessionListOptions{}, 2, 3, 2)
	var transcripts int
	ix.r.QueryRow(`SELECT count(*) FROM transcripts`).Scan(&transcripts)
	if transcripts != 2 {
		t.Errorf("%d transcripts left after pruning, want 2", transcripts)
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	add := func(s Session) {
		t.Helper()
		if err := ix.AddSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// Bucket 0 [00:00, 01:00): two sessions.
	s := session(t0.Add(10*time.Minute), "192.0.2.1", "a.example", "quit")
	s.Accepted, s.Refused = 3, 1
	s.Tarpitted = true
	add(s)
	s = session(t0.Add(59*time.Minute), "192.0.2.2", "b.example", "dnsbl")
	s.Refused, s.DNSLists = 2, []string{"zen.example", "bl.example"}
	add(s)
	// Bucket 1 is empty. Bucket 2 [02:00, 03:00): three.
	s = session(t0.Add(2*time.Hour), "192.0.2.1", "a.example", "early-talk")
	s.EarlyTalk, s.DNSLists = true, []string{"zen.example"}
	add(s)
	s = session(t0.Add(2*time.Hour+time.Minute), "192.0.2.3", "c.example", "early-talk")
	s.EarlyTalk, s.TrapHit = true, true
	add(s)
	s = session(t0.Add(2*time.Hour+2*time.Minute), "192.0.2.1", "a.example", "quit")
	s.Accepted = 1
	add(s)
	// Outside [t0, t0+3h30m): before and at the end.
	add(session(t0.Add(-time.Second), "192.0.2.9", "z.example", "timeout"))
	add(session(t0.Add(3*time.Hour+30*time.Minute), "192.0.2.9", "z.example", "timeout"))

	bs, err := ix.Stats(ctx, t0, t0.Add(3*time.Hour+30*time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{
		{Start: t0, Sessions: 2, Accepted: 3, Refused: 3, Tarpitted: 1,
			RefusedBy: map[string]int{"dnsbl": 1}, ListHits: map[string]int{"zen.example": 1, "bl.example": 1}},
		{Start: t0.Add(time.Hour)},
		{Start: t0.Add(2 * time.Hour), Sessions: 3, Accepted: 1, EarlyTalk: 2, TrapHits: 1,
			RefusedBy: map[string]int{"early-talk": 2}, ListHits: map[string]int{"zen.example": 1}},
		{Start: t0.Add(3 * time.Hour)},
	}
	if !reflect.DeepEqual(bs, want) {
		t.Errorf("Stats:\n got %+v\nwant %+v", bs, want)
	}
	for _, bad := range []struct {
		from, to time.Time
		step     time.Duration
	}{
		{t0, t0.Add(time.Hour), 0},
		{t0, t0, time.Minute},
		{t0.Add(time.Hour), t0, time.Minute},
		{t0, t0.Add(365 * 24 * time.Hour), time.Second},
		// Past what Duration holds (Sub saturates) and what Unix
		// nanoseconds reach: an error, not a panic or empty buckets.
		{time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), t0, 8760 * time.Hour},
		{time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), 24 * time.Hour},
		{t0, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), 8760 * time.Hour},
	} {
		if _, err := ix.Stats(ctx, bad.from, bad.to, bad.step); err == nil {
			t.Errorf("Stats(%v, %v, %v): no error", bad.from, bad.to, bad.step)
		}
	}

	top, err := ix.Top(ctx, "ip", t0, t0.Add(4*time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []TopEntry{{"192.0.2.1", 3}, {"192.0.2.2", 1}}; !reflect.DeepEqual(top, want) {
		t.Errorf("Top ip = %v, want %v", top, want)
	}
	top, _ = ix.Top(ctx, "helo", t0, t0.Add(time.Hour), 0)
	if want := []TopEntry{{"a.example", 1}, {"b.example", 1}}; !reflect.DeepEqual(top, want) {
		t.Errorf("Top helo = %v, want %v", top, want)
	}
	if _, err := ix.Top(ctx, "client_ip; DROP TABLE sessions", t0, t0.Add(time.Hour), 1); err == nil {
		t.Error("unknown Top field accepted")
	}
}

func TestTopSenderDomain(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	for i, from := range []string{"a@Example.ORG", "b@example.org", "c@other.example", "", "d@third.example"} {
		m := Message{ID: idAt(day(1).Add(time.Duration(i) * time.Minute)), ReceivedAt: day(1).Add(time.Duration(i) * time.Minute), MailFrom: from}
		if i == 4 {
			m.ReceivedAt = day(9) // outside the range
		}
		if err := ix.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	top, err := ix.Top(ctx, "sender_domain", day(1), day(2), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []TopEntry{{"example.org", 2}, {"other.example", 1}}; !reflect.DeepEqual(top, want) {
		t.Errorf("Top sender_domain = %v, want %v", top, want)
	}
}

// BenchmarkAddSession is the cost of recording one session per
// transaction, against batches of 100.
func BenchmarkAddSession(b *testing.B) {
	ctx := context.Background()
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			ix := newIndex(b)
			at := t0
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				ss := make([]Session, 0, batch)
				for j := 0; j < batch; j++ {
					at = at.Add(time.Millisecond)
					s := session(at, "192.0.2.1", "client.example", "quit")
					s.DNSLists = []string{"zen.example"}
					ss = append(ss, s)
				}
				if err := ix.AddSessions(ctx, ss); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
