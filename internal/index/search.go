package index

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
)

// List defaults and bounds.
const (
	// DefaultLimit is the page size when ListOptions.Limit is 0: one
	// screen of a message list.
	DefaultLimit = 50
	// MaxLimit caps a page, so one request cannot make the server
	// materialise the whole index.
	MaxLimit = 1000
)

// ListOptions selects a page of messages.
type ListOptions struct {
	Query Query
	// Limit is the page size: 0 means DefaultLimit, more than MaxLimit
	// means MaxLimit, and a negative Limit returns no messages, only the
	// counts.
	Limit, Offset int
	// Sort is "received" (the default: newest first), "size" (smallest
	// first), "subject" or "from" (A to Z, ignoring ASCII case); a
	// leading "-" reverses the order ("-received" is oldest first).
	Sort string
}

// Page is one page of a list.
type Page struct {
	Messages []Message
	// Total is the number of messages the query matches; Unread the
	// number of those not marked read.
	Total  int
	Unread int
}

// sortKeys are the ListOptions.Sort keys: the ORDER BY of the forward
// order (a leading "-" reverses every column). Each has an index (see
// 0001_init.sql), and seq breaks ties. "received" is seq itself: rowid
// order is arrival order.
var sortKeys = map[string]string{
	"received": "m.seq DESC",
	"size":     "m.size ASC, m.seq ASC",
	"subject":  "i.subject COLLATE NOCASE ASC, m.seq ASC",
	"from":     "i.sort_from ASC, m.seq ASC",
}

// sortSpec is a parsed ListOptions.Sort.
type sortSpec struct {
	key   string
	order string // ORDER BY clause
}

// parseSort reads a ListOptions.Sort value.
func parseSort(sort string) (sortSpec, error) {
	if sort == "" {
		sort = "received"
	}
	key, rev := strings.CutPrefix(sort, "-")
	order, ok := sortKeys[key]
	if !ok {
		return sortSpec{}, fmt.Errorf("unknown sort %q (received, size, subject, from, each optionally with a leading -)", sort)
	}
	if rev {
		order = strings.NewReplacer(" ASC", " DESC", " DESC", " ASC").Replace(order)
	}
	return sortSpec{key: key, order: order}, nil
}

// List returns a page of the messages matching opt.Query, with the
// number of matches and of unread ones among them. Messages come without
// Text.
func (ix *Index) List(ctx context.Context, opt ListOptions) (Page, error) {
	var p Page
	sort, err := parseSort(opt.Sort)
	if err != nil {
		return p, fmt.Errorf("index: list: %w", err)
	}
	limit := opt.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	offset := max(opt.Offset, 0)
	pl := opt.Query.plan()
	if opt.Query.IsZero() {
		// Kept by triggers: counting 100,000 rows per page view is
		// what this table saves.
		err = ix.r.QueryRowContext(ctx, `SELECT total, unread FROM counts`).Scan(&p.Total, &p.Unread)
	} else {
		q, args := pl.selectFrom(`count(*), coalesce(sum(m.read = 0), 0)`)
		err = ix.r.QueryRowContext(ctx, q, args...).Scan(&p.Total, &p.Unread)
	}
	if err != nil {
		return p, fmt.Errorf("index: list: count: %w", err)
	}
	if limit < 0 || offset >= p.Total {
		return p, nil
	}
	q, args := pl.page(sort)
	rows, err := ix.r.QueryContext(ctx, q, append(args, limit, offset)...)
	if err != nil {
		return p, fmt.Errorf("index: list: %w", err)
	}
	var seqs []int64
	err = eachRow(rows, func(r *sql.Rows) error {
		var seq int64
		err := r.Scan(&seq)
		seqs = append(seqs, seq)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("index: list: %w", err)
	}
	if p.Messages, err = ix.messages(ctx, seqs); err != nil {
		return p, fmt.Errorf("index: list: %w", err)
	}
	return p, nil
}

// messages loads the rows of seqs, in that order, with their labels.
// The page is chosen on the narrow table first and only its rows are
// read in full.
func (ix *Index) messages(ctx context.Context, seqs []int64) ([]Message, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	at := make(map[int64]int, len(seqs))
	args := make([]any, len(seqs))
	for i, s := range seqs {
		at[s] = i
		args[i] = s
	}
	rows, err := ix.r.QueryContext(ctx, `SELECT `+msgColumns+msgFrom+`WHERE m.seq IN (`+placeholders(len(seqs))+`)`, args...)
	if err != nil {
		return nil, err
	}
	ms := make([]Message, len(seqs))
	err = eachRow(rows, func(r *sql.Rows) error {
		seq, m, err := scanMessage(r)
		ms[at[seq]] = m
		return err
	})
	if err != nil {
		return nil, err
	}
	return ms, ix.fillLabels(ctx, seqs, ms)
}

// MatchIDs returns the IDs of every message q matches, oldest first: the
// selection of a delete-by-search. The zero Query matches all messages.
func (ix *Index) MatchIDs(ctx context.Context, q Query) ([]string, error) {
	sq, args := q.plan().selectFrom(`m.id`)
	rows, err := ix.r.QueryContext(ctx, sq+` ORDER BY m.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("index: match: %w", err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("index: match: %w", err)
	}
	return ids, nil
}

// plan is a Query as SQL. Every value from the query is an argument,
// never SQL text: the only text that varies is the choice among the
// fixed fragments below.
type plan struct {
	// match is the FTS5 expression of the full-text terms when at least
	// one is positive (the negative ones joined with NOT); notMatch that
	// of the negative ones when none is.
	match, notMatch string
	// conds are conditions on "messages m", with their args.
	conds []string
	args  []any
}

// plan translates q.
func (q Query) plan() plan {
	var pl plan
	var pos, neg []string
	for _, t := range q.terms {
		switch t.kind {
		case termWord, termPhrase, termSubject, termFrom, termTo:
			e := t.fts()
			switch {
			case e == "":
				// No letters or digits: no words to look for.
			case t.neg:
				neg = append(neg, e)
			default:
				pos = append(pos, e)
			}
		case termRead:
			// Spelled out rather than NOT'ed, so that is:unread can use
			// the partial index on unread messages.
			pl.conds = append(pl.conds, map[bool]string{false: "m.read = 1", true: "m.read = 0"}[t.neg])
		default:
			c, a := t.sql()
			if t.neg {
				c = "NOT (" + c + ")"
			}
			pl.conds = append(pl.conds, c)
			pl.args = append(pl.args, a...)
		}
	}
	// All full-text terms make one MATCH: FTS5 intersects the doclists
	// itself, far faster than one subquery per word.
	switch {
	case len(pos) > 0:
		pl.match = "(" + strings.Join(pos, " AND ") + ")"
		if len(neg) > 0 {
			pl.match += " NOT (" + strings.Join(neg, " OR ") + ")"
		}
	case len(neg) > 0:
		pl.notMatch = strings.Join(neg, " OR ")
	}
	return pl
}

// where returns the conditions on m, and their arguments, that follow
// the MATCH (if any) in a statement.
func (pl plan) where() (string, []any) {
	conds := append([]string(nil), pl.conds...)
	args := append([]any(nil), pl.args...)
	if pl.notMatch != "" {
		// A message waiting in fts_stale has no words indexed yet: it
		// must not pass a negated word for lack of them (a delete by
		// "-from:boss" would take it). Left out, as positive terms
		// leave it out.
		conds = append(conds, "m.seq NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)",
			"m.id NOT IN (SELECT id FROM fts_stale)")
		args = append(args, pl.notMatch)
	}
	if len(conds) == 0 {
		return "1", args
	}
	return strings.Join(conds, " AND "), args
}

// selectFrom returns "SELECT cols FROM ... WHERE ..." over the matching
// rows of m. With a full-text match the FTS table drives the join (CROSS
// JOIN fixes the order): its matches are probed in the narrow table, so
// the cost follows the number of matches, not the size of the index.
func (pl plan) selectFrom(cols string) (string, []any) {
	where, args := pl.where()
	if pl.match == "" {
		return `SELECT ` + cols + ` FROM messages m WHERE ` + where, args
	}
	return `SELECT ` + cols + ` FROM messages_fts f CROSS JOIN messages m ON m.seq = f.rowid
		WHERE f.messages_fts MATCH ? AND ` + where, append([]any{pl.match}, args...)
}

// page returns the statement that selects the seqs of one page; its last
// two parameters are LIMIT and OFFSET.
func (pl plan) page(s sortSpec) (string, []any) {
	if s.key == "received" {
		q, args := pl.selectFrom(`m.seq`)
		if pl.match != "" {
			// FTS5 returns rowids in either order by itself, so the
			// walk stops after one page of matches.
			return q + ` ORDER BY f.rowid` + strings.TrimPrefix(s.order, "m.seq") + ` LIMIT ? OFFSET ?`, args
		}
		return q + ` ORDER BY ` + s.order + ` LIMIT ? OFFSET ?`, args
	}
	where, args := pl.where()
	if pl.match != "" {
		where += ` AND m.seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)`
		args = append(args, pl.match)
	}
	return `SELECT m.seq FROM messages m JOIN message_info i ON i.seq = m.seq WHERE ` + where +
		` ORDER BY ` + s.order + ` LIMIT ? OFFSET ?`, args
}

// fts returns the FTS5 expression of a full-text term, "" when the value
// has nothing the tokenizer would keep. The value always goes inside an
// FTS5 string ("..." with " doubled), where every character is literal:
// no operator, column filter or prefix mark can come from the user.
func (t term) fts() string {
	if !hasToken(t.value) {
		return ""
	}
	e := `"` + strings.ReplaceAll(t.value, `"`, `""`) + `"`
	if !t.quoted {
		// A bare word matches as a prefix of the last token.
		e += " *"
	}
	switch t.kind {
	case termSubject:
		e = "subject : (" + e + ")"
	case termFrom:
		e = "sender : (" + e + ")"
	case termTo:
		e = "recipients : (" + e + ")"
	}
	return e
}

// hasToken reports whether the unicode61 tokenizer finds a token in s:
// its token characters are letters, digits and private-use characters.
func hasToken(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r) || unicode.Is(unicode.Mn, r)
	}) >= 0
}

// likeEscape makes s a literal LIKE pattern (ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sql returns the condition of a non-full-text term, without its
// negation.
func (t term) sql() (string, []any) {
	switch t.kind {
	case termHelo:
		return `m.helo LIKE ? ESCAPE '\'`, []any{"%" + likeEscape(t.value) + "%"}
	case termIP:
		if t.prefix.IsValid() {
			lo, hi := prefixRange(t.prefix)
			return `m.ip_key BETWEEN ? AND ?`, []any{lo, hi}
		}
		k := t.ip.As16()
		return `m.ip_key = ?`, []any{k[:]}
	case termAttachment:
		return `m.attachments > 0`, nil
	case termFinding:
		return `m.seq IN (SELECT msg FROM labels WHERE kind = 2 AND value = ?)`, []any{t.value}
	case termTag:
		return `m.seq IN (SELECT msg FROM labels WHERE kind = 3 AND value = ?)`, []any{t.value}
	case termVerdict:
		// NAME or NAME:anything; ':' + 1 is ';', so the second half is
		// an index range. Two SELECTs, because an OR of the two would
		// not use the index.
		return `m.seq IN (SELECT msg FROM labels WHERE kind = 1 AND value = ?
			UNION ALL SELECT msg FROM labels WHERE kind = 1 AND value >= ? AND value < ?)`,
			[]any{t.value, t.value + ":", t.value + ";"}
	case termBefore:
		// seq is the arrival time in microseconds (see seqBase): the
		// range is on the primary key, no other index needed.
		return `m.seq < ?`, []any{t.at.UnixMicro()}
	case termAfter:
		return `m.seq >= ?`, []any{t.at.UnixMicro()}
	}
	panic(fmt.Sprintf("index: term kind %d has no SQL", t.kind)) // a new kind was added to ParseQuery only
}

// prefixRange returns the first and last ip_key of a prefix: IPv4 keys
// are IPv4-mapped IPv6 addresses, so an IPv4 prefix of n bits is one of
// 96+n bits there.
func prefixRange(p netip.Prefix) (lo, hi []byte) {
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	a := p.Addr().As16()
	lo = append([]byte(nil), a[:]...)
	hi = append([]byte(nil), a[:]...)
	for i := bits; i < 128; i++ {
		hi[i/8] |= 0x80 >> (i % 8)
	}
	return lo, hi
}
