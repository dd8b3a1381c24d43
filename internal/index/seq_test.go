package index

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"fakesmtp/internal/store"
)

// seqsByID returns the seq of every message, by ID, read straight from the
// database.
func seqsByID(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT id, seq FROM messages`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	err = eachRow(rows, func(r *sql.Rows) error {
		var id string
		var seq int64
		err := r.Scan(&id, &seq)
		out[id] = seq
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// queryInt runs a query that returns one number.
func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestPutFloodSameMillisecond: 4,000 messages received within 2 ms (a
// flood at 10,000 a second arrives ten to the millisecond) get unique
// seqs in arrival order, in microseconds, so that seq stays within a run
// of 4,000 µs of their time and before:/after: still split by time.
// With seq in milliseconds the run was 4,000 ms long, and each insert
// walked it.
func TestPutFloodSameMillisecond(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	at := day(3)
	const n, batch = 4000, 256
	early := Message{ID: idAt(at.Add(-time.Second)), ReceivedAt: at.Add(-time.Second), MailFrom: "a@early.example"}
	late := Message{ID: idAt(at.Add(time.Second)), ReceivedAt: at.Add(time.Second), MailFrom: "b@late.example"}
	if err := ix.Put(ctx, early); err != nil {
		t.Fatal(err)
	}
	flood := make([]Message, n)
	for i := range flood {
		r := at.Add(time.Duration(i) * 2 * time.Millisecond / n) // 10 a microsecond
		flood[i] = Message{ID: idAt(r), ReceivedAt: r, MailFrom: "x@flood.example", Subject: fmt.Sprint(i)}
	}
	for rest := flood; len(rest) > 0; {
		b := rest[:min(batch, len(rest))]
		rest = rest[len(b):]
		if err := ix.PutMany(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Put(ctx, late); err != nil {
		t.Fatal(err)
	}

	got := seqsByID(t, ix.r)
	if len(got) != n+2 {
		t.Fatalf("%d rows, want %d", len(got), n+2)
	}
	seen := map[int64]string{}
	for id, s := range got {
		if other, dup := seen[s]; dup {
			t.Fatalf("seq %d held by %s and %s", s, other, id)
		}
		seen[s] = id
	}
	// Put order, which is arrival order here, in every batch and across
	// them; and no seq before its own time or far after it.
	const maxDrift = 50 * time.Millisecond
	for i, m := range flood {
		s := got[m.ID]
		if i > 0 && s <= got[flood[i-1].ID] {
			t.Fatalf("message %d has seq %d, not after message %d's %d", i, s, i-1, got[flood[i-1].ID])
		}
		if d := time.Duration(s-m.ReceivedAt.UnixMicro()) * time.Microsecond; d < 0 || d > maxDrift {
			t.Fatalf("message %d: seq is %v from its ReceivedAt, want within [0, %v]", i, d, maxDrift)
		}
	}
	if span := got[flood[n-1].ID] - got[flood[0].ID]; span != n-1 {
		t.Errorf("the flood spans %d µs of seq, want %d (one run)", span, n-1)
	}
	if got[early.ID] != early.ReceivedAt.UnixMicro() || got[late.ID] != late.ReceivedAt.UnixMicro() {
		t.Errorf("messages around the flood moved: early %d, late %d; want their ReceivedAt in µs", got[early.ID], got[late.ID])
	}

	// A time half a second after the flood began splits it from late; one
	// half a second before, early from it.
	mid := at.Add(500 * time.Millisecond).Format(time.RFC3339Nano)
	before := at.Add(-500 * time.Millisecond).Format(time.RFC3339Nano)
	for q, want := range map[string]int{
		"after:" + mid:                       1,
		"before:" + mid:                      n + 1,
		"after:" + before + " before:" + mid: n,
		"before:" + before:                   1,
		"after:" + at.Format(time.RFC3339):   n + 1,
	} {
		if p := list(t, ix, q); p.Total != want {
			t.Errorf("%q: %d matches, want %d", q, p.Total, want)
		}
	}
	if p := list(t, ix, "after:"+mid); p.Total != 1 || p.Messages[0].ID != late.ID {
		t.Errorf("after the flood: %d messages, want only the late message", p.Total)
	}
	top, err := ix.Top(ctx, "sender_domain", at.Add(500*time.Millisecond), at.Add(2*time.Second), 10)
	if want := []TopEntry{{"late.example", 1}}; err != nil || !reflect.DeepEqual(top, want) {
		t.Errorf("Top sender_domain after the flood = %v, %v; want %v", top, err, want)
	}
	top, err = ix.Top(ctx, "sender_domain", at, at.Add(500*time.Millisecond), 10)
	if want := []TopEntry{{"flood.example", n}}; err != nil || !reflect.DeepEqual(top, want) {
		t.Errorf("Top sender_domain of the flood = %v, %v; want %v", top, err, want)
	}
}

// TestFreeSeqRunCache: the run freeSeq remembers gives the same seq the
// gap query would. A hole that a delete leaves in the run is filled
// again, and a message indexed late, whose time collides with an older
// message, goes right after it, not after the newest run.
func TestFreeSeqRunCache(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	at := day(4)
	old := Message{ID: idAt(at.Add(-time.Hour)), ReceivedAt: at.Add(-time.Hour)}
	if err := ix.Put(ctx, old); err != nil {
		t.Fatal(err)
	}
	var run []Message
	for i := 0; i < 5; i++ {
		run = append(run, Message{ID: idAt(at), ReceivedAt: at, Subject: fmt.Sprint(i)})
	}
	if err := ix.PutMany(ctx, run); err != nil {
		t.Fatal(err)
	}
	base := at.UnixMicro()
	// Right after the run: its base is below the run's end, and taken.
	oldTwin := Message{ID: idAt(old.ReceivedAt), ReceivedAt: old.ReceivedAt}
	if err := ix.Put(ctx, oldTwin); err != nil {
		t.Fatal(err)
	}
	// One more at the run's time finds the run again: base..base+5.
	sixth := Message{ID: idAt(at), ReceivedAt: at}
	if err := ix.Put(ctx, sixth); err != nil {
		t.Fatal(err)
	}
	if err := ix.Delete(ctx, run[2].ID); err != nil {
		t.Fatal(err)
	}
	again := Message{ID: idAt(at), ReceivedAt: at}
	if err := ix.Put(ctx, again); err != nil {
		t.Fatal(err)
	}
	got := seqsByID(t, ix.r)
	for i, m := range append(run, sixth) {
		if i != 2 && got[m.ID] != base+int64(i) {
			t.Errorf("run message %d: seq %d, want %d", i, got[m.ID], base+int64(i))
		}
	}
	if got[again.ID] != base+2 {
		t.Errorf("after a delete: seq %d, want the hole %d", got[again.ID], base+2)
	}
	if want := old.ReceivedAt.UnixMicro() + 1; got[oldTwin.ID] != want {
		t.Errorf("late message: seq %d, want %d (right after its twin, not after the newest run)", got[oldTwin.ID], want)
	}
}

// v1Put writes m into a database at schema version 1 the way fakesmtp
// did then: seq is ReceivedAt in Unix milliseconds (the caller keeps
// them distinct), and the words go into messages_fts under that rowid.
func v1Put(t *testing.T, db *sql.DB, m Message) int64 {
	t.Helper()
	seq := m.ReceivedAt.UnixMilli()
	k := keysOf(m)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO messages(seq, id, read, size, attachments, ip_key, helo, sender_domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{seq, m.ID, m.Read, m.Size, m.Attachments, k.ipKey, m.Helo, k.senderDomain}},
		{`INSERT INTO message_info(seq, session, received_at, client_ip, client_port, mail_from, rcpt_to, from_hdr,
			to_hdr, cc_hdr, subject, date, message_id, sort_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{seq, m.Session, toNanos(m.ReceivedAt), m.ClientIP, m.ClientPort, m.MailFrom, toJSON(m.RcptTo),
				toJSON(m.From), toJSON(m.To), toJSON(m.Cc), m.Subject, toNanos(m.Date), m.MessageID, k.sortFrom}},
		{`INSERT INTO messages_fts(rowid, subject, sender, recipients, body) VALUES (?, ?, ?, ?, ?)`,
			[]any{seq, m.Subject, k.sender, k.recipients, k.text}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	for kind, vs := range map[int][]string{kindVerdict: m.Verdicts, kindFinding: m.Findings, kindTag: m.Tags} {
		for _, v := range vs {
			if _, err := db.Exec(`INSERT INTO labels(msg, kind, value) VALUES (?, ?, ?)`, seq, kind, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return seq
}

// TestMigrateSeqToMicroseconds: an index written at schema version 1
// (seq in milliseconds) opens with the current code. Every seq and the
// keys that refer to it become microseconds, the reader's marks and the
// labels stay with their messages, the totals stay right, and the words,
// which a contentless FTS5 table cannot renumber, come back from the
// files at the Indexer's next Reconcile.
func TestMigrateSeqToMicroseconds(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	f := newStoreFixture(t)
	kangaroo := f.write(rawMultipart, annotated...)
	echidna1, echidna2 := f.write(rawHTML), f.write(rawHTML)
	gone := f.write(rawHTML) // its file goes while no indexer runs
	marks := map[string]struct {
		read bool
		tags []string
	}{
		kangaroo: {true, []string{"keep", "work"}},
		echidna1: {false, []string{"later"}},
		echidna2: {true, nil},
		gone:     {false, nil},
	}

	path := filepath.Join(t.TempDir(), "index.db") // absolute, as openDB wants
	db, err := openDB(path, false)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigrations(ctx, db, ms[:1], logger); err != nil {
		t.Fatal(err)
	}
	v1 := map[string]int64{}
	stored := map[string]Message{}
	for id, mk := range marks {
		m, err := FromFile(filepath.Join(f.dir, id+store.Ext))
		if err != nil {
			t.Fatal(err)
		}
		m.Read, m.Tags = mk.read, mk.tags
		v1[id] = v1Put(t, db, m)
		stored[id] = m
	}
	if n := queryInt(t, db, `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'echidna'`); n != 3 {
		t.Fatalf("version 1 fixture: echidna in %d FTS rows, want 3", n)
	}
	db.Close()
	f.remove(gone)
	added := f.write(rawMultipart) // arrived while no indexer ran

	ix, err := Open(ctx, path, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if v := queryInt(t, ix.r, `SELECT max(version) FROM schema_migrations`); v != int64(len(ms)) {
		t.Fatalf("schema version %d, want %d", v, len(ms))
	}
	migrated := seqsByID(t, ix.r)
	if len(migrated) != len(v1) {
		t.Fatalf("%d messages after the migration, want %d", len(migrated), len(v1))
	}
	for id, s := range migrated {
		if s != v1[id]*1000 {
			t.Errorf("%s: seq %d, want %d × 1000", id, s, v1[id])
		}
	}
	for _, q := range []string{
		`SELECT count(*) FROM message_info i LEFT JOIN messages m ON m.seq = i.seq WHERE m.id IS NULL`,
		`SELECT count(*) FROM labels l LEFT JOIN messages m ON m.seq = l.msg WHERE m.id IS NULL`,
		`SELECT count(*) FROM pragma_foreign_key_check`,
	} {
		if n := queryInt(t, ix.r, q); n != 0 {
			t.Errorf("%s: %d dangling rows", q, n)
		}
	}
	var integrity string
	if err := ix.r.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v", integrity, err)
	}
	checkCounts := func(when string, total, unread int) {
		t.Helper()
		var ct, cu int
		if err := ix.r.QueryRow(`SELECT total, unread FROM counts`).Scan(&ct, &cu); err != nil {
			t.Fatal(err)
		}
		if ct != total || cu != unread {
			t.Errorf("%s: counts = %d total, %d unread; want %d, %d", when, ct, cu, total, unread)
		}
		// The partial index holds exactly the unread rows.
		if n := queryInt(t, ix.r, `SELECT count(*) FROM messages INDEXED BY messages_unread WHERE read = 0`); n != int64(unread) {
			t.Errorf("%s: messages_unread has %d rows, want %d", when, n, unread)
		}
		if p := list(t, ix, "is:unread"); p.Total != unread {
			t.Errorf("%s: is:unread = %d, want %d", when, p.Total, unread)
		}
	}
	checkCounts("after the migration", 4, 2)
	checkMarks := func(when string) {
		t.Helper()
		for id, mk := range marks {
			if id == gone {
				continue
			}
			m, err := ix.Get(ctx, id)
			if err != nil {
				t.Fatalf("%s: %s: %v", when, id, err)
			}
			want := stored[id]
			if m.Read != mk.read || !reflect.DeepEqual(m.Tags, mk.tags) ||
				!reflect.DeepEqual(m.Verdicts, want.Verdicts) || !reflect.DeepEqual(m.Findings, want.Findings) ||
				m.Subject != want.Subject || !m.ReceivedAt.Equal(want.ReceivedAt) {
				t.Errorf("%s: %s = %+v; want read %v, tags %v, verdicts %v, findings %v, subject %q",
					when, id, m, mk.read, mk.tags, want.Verdicts, want.Findings, want.Subject)
			}
		}
	}
	checkMarks("after the migration")
	if p := list(t, ix, "tag:keep verdict:trap finding:missing-date"); p.Total != 1 || p.Messages[0].ID != kangaroo {
		t.Errorf("labels search after the migration: %+v", p.Messages)
	}
	// before:/after: now compare microseconds; the fixture's messages
	// are a minute apart.
	split := stored[echidna1].ReceivedAt.Add(30 * time.Second).Format(time.RFC3339)
	if p := list(t, ix, "before:"+split); p.Total != 2 {
		t.Errorf("before:%s = %d, want 2 (kangaroo, echidna1)", split, p.Total)
	}
	// The words are gone until the refill: positive and negated word
	// terms both leave those messages out (a delete by "-kangaroo" must
	// not take them for lack of words).
	for _, q := range []string{"kangaroo", "echidna", "-kangaroo", "-from:nobody@example.org", "tag:keep -subject:zzz"} {
		if p := list(t, ix, q); p.Total != 0 {
			t.Errorf("%q before the refill: %d matches, want 0", q, p.Total)
		}
	}
	stale, err := ix.staleText(ctx)
	if want := sortedKeys(marks); err != nil || !reflect.DeepEqual(stale, want) {
		t.Errorf("fts_stale = %v, %v; want %v", stale, err, want)
	}

	x := NewIndexer(ix, f.dir, logger)
	nAdded, nRemoved, err := x.Reconcile(ctx, false)
	if err != nil || nAdded != 4 || nRemoved != 1 {
		t.Fatalf("Reconcile = %d, %d, %v; want 4 (3 refilled, 1 new), 1 (gone)", nAdded, nRemoved, err)
	}
	for q, want := range map[string][]string{
		"kangaroo": {added, kangaroo},
		"echidna":  {echidna1, echidna2},
		"köln":     {added, kangaroo},
	} {
		p := list(t, ix, q)
		var ids []string
		for _, m := range p.Messages {
			ids = append(ids, m.ID)
		}
		sort.Strings(ids)
		if sort.Strings(want); !reflect.DeepEqual(ids, want) {
			t.Errorf("%q after the refill = %v, want %v", q, ids, want)
		}
	}
	// The refill deleted rowids the emptied FTS table did not have.
	if _, err := ix.w.Exec(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 0)`); err != nil {
		t.Errorf("FTS integrity-check after the refill: %v", err)
	}
	if stale, err := ix.staleText(ctx); err != nil || len(stale) != 0 {
		t.Errorf("fts_stale after the refill = %v, %v; want empty", stale, err)
	}
	after := seqsByID(t, ix.r)
	for id := range marks {
		if id != gone && after[id] != v1[id]*1000 {
			t.Errorf("%s: the refill moved seq to %d", id, after[id])
		}
	}
	// The new message lands after the migrated ones: same unit.
	if p, _ := ix.List(ctx, ListOptions{Limit: 1}); p.Messages[0].ID != added {
		t.Errorf("newest after the refill = %s, want %s", p.Messages[0].ID, added)
	}
	checkMarks("after the refill")
	checkCounts("after the refill", 4, 2) // gone (unread) removed, added (unread) new

	// Nothing left to do; and a refill interrupted before its end (the
	// list still full) redoes it without doubling a message's words.
	if nAdded, nRemoved, err = x.Reconcile(ctx, false); nAdded != 0 || nRemoved != 0 || err != nil {
		t.Errorf("second Reconcile = %d, %d, %v; want nothing", nAdded, nRemoved, err)
	}
	if _, err := ix.w.Exec(`INSERT INTO fts_stale(id) VALUES (?), (?)`, kangaroo, gone); err != nil {
		t.Fatal(err)
	}
	if nAdded, _, err = x.Reconcile(ctx, false); nAdded != 1 || err != nil {
		t.Errorf("Reconcile of a half-done refill = %d, %v; want 1", nAdded, err)
	}
	if n := queryInt(t, ix.r, `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'kangaroo'`); n != 2 {
		t.Errorf("kangaroo in %d FTS rows after a second refill, want 2", n)
	}
	checkMarks("after a second refill")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
