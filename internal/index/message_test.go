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

func TestPutGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	m := Message{
		ID:          idAt(day(7)),
		Session:     idAt(day(7).Add(-time.Second)),
		ReceivedAt:  time.Date(2026, 11, 7, 12, 0, 0, 123456789, time.UTC),
		ClientIP:    "2001:db8::7",
		ClientPort:  50123,
		Helo:        "client.example",
		MailFrom:    "a@example.org",
		RcptTo:      []string{"b@example.net", "c@example.net"},
		From:        []string{`"Quoted, Name" <a@example.org>`, "second@example.org"},
		To:          []string{"Bé <b@example.net>"},
		Cc:          []string{"c@example.net"},
		Subject:     "Grüße \"quoted\" 'single' % _",
		Date:        time.Date(2026, 11, 7, 13, 0, 0, 0, time.FixedZone("CET", 3600)),
		MessageID:   "abc@example.org",
		Size:        12345,
		Attachments: 2,
		Verdicts:    []string{"tls", "dnsbl:zen.example", "tls"},
		Findings:    []string{"missing-date", "bare-lf-data"},
		Tags:        []string{"b", "a"},
		Read:        true,
		Text:        "body",
	}
	if err := ix.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := ix.Get(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := m
	want.Text = ""
	want.Verdicts = []string{"dnsbl:zen.example", "tls"}
	want.Findings = []string{"bare-lf-data", "missing-date"}
	want.Tags = []string{"a", "b"}
	if !got.ReceivedAt.Equal(want.ReceivedAt) || !got.Date.Equal(want.Date) {
		t.Errorf("times = %v, %v; want %v, %v", got.ReceivedAt, got.Date, want.ReceivedAt, want.Date)
	}
	got.ReceivedAt, got.Date, want.ReceivedAt, want.Date = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}

	// Empty slices and zero times come back as nil and zero.
	e := Message{ID: idAt(day(8)), ReceivedAt: day(8)}
	if err := ix.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err = ix.Get(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RcptTo != nil || got.From != nil || got.Tags != nil || !got.Date.IsZero() {
		t.Errorf("empty message came back as %+v", got)
	}
}

func TestPutKeepsReadAndTags(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	m := corpus()["plain"]
	if err := ix.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.SetRead(ctx, true, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddTags(ctx, m.ID, "keep"); err != nil {
		t.Fatal(err)
	}
	// A re-index (Read false, no tags, new subject and verdicts).
	m.Subject, m.Verdicts, m.Tags, m.Read = "changed", []string{"tls"}, nil, false
	m.Text = "zebra"
	ch, stop := ix.Subscribe()
	defer stop()
	if err := ix.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	// The event carries the message as stored, marks included.
	if e := next(t, ch); !e.Message.Read || !reflect.DeepEqual(e.Message.Tags, []string{"keep"}) {
		t.Errorf("put event after re-put: read %v tags %v", e.Message.Read, e.Message.Tags)
	}
	got, err := ix.Get(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Read || !reflect.DeepEqual(got.Tags, []string{"keep"}) {
		t.Errorf("after re-put: read %v tags %v, want true [keep]", got.Read, got.Tags)
	}
	if got.Subject != "changed" || !reflect.DeepEqual(got.Verdicts, []string{"tls"}) {
		t.Errorf("after re-put: subject %q verdicts %v", got.Subject, got.Verdicts)
	}
	// The old text is out of the full-text index, the new one in.
	for q, want := range map[string]int{"fox": 0, "zebra": 1, "hello": 0, "changed": 1} {
		p := list(t, ix, q)
		if p.Total != want {
			t.Errorf("%q after re-put: %d matches, want %d", q, p.Total, want)
		}
	}
	p := list(t, ix, "")
	if p.Total != 1 || p.Unread != 0 {
		t.Errorf("counts after re-put = %d/%d, want 1/0", p.Total, p.Unread)
	}
}

func TestPutRejectsInvalidID(t *testing.T) {
	ix := newIndex(t)
	for _, bad := range []string{"", "../etc/passwd", "short"} {
		if err := ix.Put(context.Background(), Message{ID: bad}); err == nil {
			t.Errorf("Put with ID %q: no error", bad)
		}
	}
}

func TestPutCapsText(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	m := corpus()["plain"]
	// "needle" sits past the cap, after a multi-byte character that
	// straddles it.
	m.Text = strings.Repeat("a ", MaxText/2-1) + "é needle"
	if err := ix.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	if p := list(t, ix, "needle"); p.Total != 0 {
		t.Error("text past MaxText was indexed")
	}
	if got := truncateUTF8("aé", 2); got != "a" {
		t.Errorf("truncateUTF8 split a character: %q", got)
	}
}

func TestGetNotFound(t *testing.T) {
	ix := newIndex(t)
	if _, err := ix.Get(context.Background(), idAt(day(1))); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestDeleteAndIDs(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	ms, names := loadCorpus(t, ix)
	ids, err := ix.IDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(namesInOrder(ids, names), " "); got != "invoice cafe weird news plain" {
		t.Errorf("IDs order = %s", got)
	}
	if err := ix.Delete(ctx, ms["cafe"].ID, ms["news"].ID, idAt(day(20))); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Get(ctx, ms["cafe"].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted message still there: %v", err)
	}
	// Its labels and full-text rows went with it.
	if p := list(t, ix, "verdict:dnsbl"); p.Total != 0 {
		t.Errorf("labels of deleted messages still match: %d", p.Total)
	}
	if p := list(t, ix, "cafe"); p.Total != 0 {
		t.Errorf("text of a deleted message still matches")
	}
	p := list(t, ix, "")
	if p.Total != 3 || p.Unread != 3 {
		t.Errorf("counts = %d/%d, want 3/3", p.Total, p.Unread)
	}
}

func namesInOrder(ids []string, names map[string]string) []string {
	out := make([]string, len(ids))
	for i, x := range ids {
		out[i] = names[x]
	}
	return out
}

func TestDeleteAllAndMatchIDs(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	ms, names := loadCorpus(t, ix)
	q, _ := ParseQuery("to:alice")
	ids, err := ix.MatchIDs(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(namesInOrder(ids, names), " "); got != "invoice news" {
		t.Errorf("MatchIDs(to:alice) = %s, want invoice news (oldest first)", got)
	}
	all, err := ix.MatchIDs(ctx, Query{})
	if err != nil || len(all) != len(ms) {
		t.Fatalf("MatchIDs(zero) = %d IDs, %v", len(all), err)
	}
	gone, err := ix.DeleteAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gone, all) {
		t.Errorf("DeleteAll returned %v, want %v", gone, all)
	}
	p := list(t, ix, "")
	if p.Total != 0 || p.Unread != 0 || len(p.Messages) != 0 {
		t.Errorf("after DeleteAll: %+v", p)
	}
	for _, q := range []string{"hello", "tag:important", "from:alice"} {
		if p := list(t, ix, q); p.Total != 0 {
			t.Errorf("%q matches after DeleteAll", q)
		}
	}
	// The index works on after being emptied.
	loadCorpus(t, ix)
	if p := list(t, ix, "hello"); p.Total != 2 {
		t.Errorf("hello after refill: %d, want 2", p.Total)
	}
}

func TestSetReadAndTags(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	ms, _ := loadCorpus(t, ix)
	p := list(t, ix, "")
	if p.Total != 5 || p.Unread != 4 {
		t.Fatalf("counts = %d/%d, want 5/4", p.Total, p.Unread)
	}
	if _, err := ix.SetRead(ctx, true, ms["plain"].ID, ms["news"].ID, ms["cafe"].ID); err != nil {
		t.Fatal(err)
	}
	if p := list(t, ix, ""); p.Unread != 2 {
		t.Errorf("unread after SetRead(true) = %d, want 2", p.Unread)
	}
	if p := list(t, ix, "is:read"); p.Total != 3 {
		t.Errorf("is:read = %d, want 3", p.Total)
	}
	if _, err := ix.SetRead(ctx, false, ms["cafe"].ID); err != nil {
		t.Fatal(err)
	}
	if p := list(t, ix, ""); p.Unread != 3 {
		t.Errorf("unread after SetRead(false) = %d, want 3", p.Unread)
	}

	id := ms["plain"].ID
	if err := ix.AddTags(ctx, id, " urgent ", "Review", "", "review"); err != nil {
		t.Fatal(err)
	}
	got, _ := ix.Get(ctx, id)
	if !reflect.DeepEqual(got.Tags, []string{"Review", "urgent"}) {
		t.Errorf("tags = %q, want [Review urgent]", got.Tags)
	}
	if p := list(t, ix, "tag:review"); p.Total != 1 {
		t.Errorf("tag:review = %d, want 1", p.Total)
	}
	if err := ix.RemoveTags(ctx, id, "REVIEW"); err != nil {
		t.Fatal(err)
	}
	got, _ = ix.Get(ctx, id)
	if !reflect.DeepEqual(got.Tags, []string{"urgent"}) {
		t.Errorf("tags after remove = %q, want [urgent]", got.Tags)
	}
	if err := ix.AddTags(ctx, idAt(day(20)), "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddTags on a missing message: %v, want ErrNotFound", err)
	}
	if err := ix.RemoveTags(ctx, idAt(day(20)), "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveTags on a missing message: %v, want ErrNotFound", err)
	}
}

// list runs a query string and fails the test on a parse or list error.
func list(t *testing.T, ix *Index, q string) Page {
	t.Helper()
	pq, err := ParseQuery(q)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", q, err)
	}
	p, err := ix.List(context.Background(), ListOptions{Query: pq, Limit: MaxLimit})
	if err != nil {
		t.Fatalf("List(%q): %v", q, err)
	}
	return p
}

// TestArrivalOrder: "received" order is seq order, and seq follows
// ReceivedAt even for messages that arrive in the same microsecond or
// are indexed late.
func TestArrivalOrder(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	at := day(3)
	var want []string
	var batch []Message
	// 300 messages in the same microsecond: a run of taken seqs.
	for i := 0; i < 300; i++ {
		m := Message{ID: idAt(at), ReceivedAt: at, Subject: fmt.Sprint(i)}
		batch = append(batch, m)
		want = append(want, m.ID)
	}
	if err := ix.PutMany(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// One a millisecond (1000 seqs) later lands after the run; one
	// older, indexed late, lands before it.
	later := Message{ID: idAt(at.Add(time.Millisecond)), ReceivedAt: at.Add(time.Millisecond)}
	older := Message{ID: idAt(at.Add(-time.Hour)), ReceivedAt: at.Add(-time.Hour)}
	for _, m := range []Message{later, older} {
		if err := ix.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	want = append(append([]string{older.ID}, want...), later.ID)
	p, err := ix.List(ctx, ListOptions{Sort: "-received", Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range p.Messages {
		got = append(got, m.ID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("oldest-first order differs: got %d IDs, first %v", len(got), got[:3])
	}
	// A re-put keeps the place.
	batch[0].Subject = "again"
	if err := ix.Put(ctx, batch[0]); err != nil {
		t.Fatal(err)
	}
	p, _ = ix.List(ctx, ListOptions{Sort: "-received", Limit: 2})
	if p.Messages[1].ID != batch[0].ID || p.Messages[1].Subject != "again" {
		t.Errorf("re-put moved the message: %+v", p.Messages[1])
	}
	// A message without ReceivedAt is placed by the time in its ID.
	if got := seqBase(Message{ID: idAt(day(9))}); got != day(9).UnixMicro() {
		t.Errorf("seqBase from the ID = %d, want %d", got, day(9).UnixMicro())
	}
}
