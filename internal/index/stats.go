package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Bucket sums the sessions that started in [Start, Start+step).
type Bucket struct {
	Start     time.Time
	Sessions  int
	Accepted  int // messages accepted
	Refused   int // messages or recipients refused
	EarlyTalk int // sessions that talked before their turn
	Tarpitted int // sessions slowed by the tarpit
	TrapHits  int // sessions that wrote to a trap address
	// RefusedBy counts the sessions that did not end with "quit", by
	// Reason ("dnsbl", "early-talk", "timeout", ...): what cut sessions
	// short. Nil when there were none.
	RefusedBy map[string]int
	// ListHits counts, per DNS list, the sessions it listed.
	ListHits map[string]int
}

// maxBuckets bounds Stats: a dashboard draws a few hundred points; a
// one-second step over a year is a mistake, not a chart.
const maxBuckets = 10000

// Stats returns the sessions that started in [from, to), summed in
// buckets of step, oldest first; buckets without sessions are there too,
// with zero counts, so a chart's x axis needs no filling in.
func (ix *Index) Stats(ctx context.Context, from, to time.Time, step time.Duration) ([]Bucket, error) {
	if step <= 0 || !to.After(from) {
		return nil, errors.New("index: stats: need from < to and a positive step")
	}
	// Session starts are kept in Unix nanoseconds, which reach only from
	// 1678 to 2262; and Sub saturates at about 292 years, where adding
	// step would wrap.
	if from.Before(time.Unix(0, math.MinInt64)) || to.After(time.Unix(0, math.MaxInt64)) {
		return nil, errors.New("index: stats: from and to must lie between the years 1678 and 2262")
	}
	d := to.Sub(from)
	n := int(d / step)
	if d%step != 0 {
		n++
	}
	if n > maxBuckets {
		return nil, fmt.Errorf("index: stats: %d buckets, at most %d", n, maxBuckets)
	}
	bs := make([]Bucket, n)
	for i := range bs {
		bs[i].Start = from.Add(time.Duration(i) * step)
	}
	lo, hi, st := from.UnixNano(), to.UnixNano(), int64(step)
	// Integer division buckets the rows in SQL, so only n rows come
	// back whatever the number of sessions.
	rows, err := ix.r.QueryContext(ctx, `SELECT (start - ?1) / ?2 AS b, count(*), sum(accepted), sum(refused),
		sum(early_talk != 0), sum(tarpitted != 0), sum(trap_hit != 0)
		FROM sessions WHERE start >= ?1 AND start < ?3 GROUP BY b`, lo, st, hi)
	if err != nil {
		return nil, fmt.Errorf("index: stats: %w", err)
	}
	err = eachRow(rows, func(r *sql.Rows) error {
		var i int
		var b Bucket
		if err := r.Scan(&i, &b.Sessions, &b.Accepted, &b.Refused, &b.EarlyTalk, &b.Tarpitted, &b.TrapHits); err != nil {
			return err
		}
		b.Start = bs[i].Start
		bs[i] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index: stats: %w", err)
	}
	// The two breakdowns, each as (bucket, key, count) rows.
	breakdowns := []struct {
		q   string
		set func(b *Bucket, key string, n int)
	}{
		{`SELECT (start - ?1) / ?2 AS b, reason, count(*) FROM sessions
			WHERE start >= ?1 AND start < ?3 AND reason NOT IN ('', 'quit') GROUP BY b, reason`,
			func(b *Bucket, key string, n int) {
				if b.RefusedBy == nil {
					b.RefusedBy = map[string]int{}
				}
				b.RefusedBy[key] = n
			}},
		{`SELECT (s.start - ?1) / ?2 AS b, j.value, count(DISTINCT s.id) FROM sessions s, json_each(s.dns_lists) j
			WHERE s.start >= ?1 AND s.start < ?3 GROUP BY b, j.value`,
			func(b *Bucket, key string, n int) {
				if b.ListHits == nil {
					b.ListHits = map[string]int{}
				}
				b.ListHits[key] = n
			}},
	}
	for _, bd := range breakdowns {
		rows, err := ix.r.QueryContext(ctx, bd.q, lo, st, hi)
		if err != nil {
			return nil, fmt.Errorf("index: stats: %w", err)
		}
		err = eachRow(rows, func(r *sql.Rows) error {
			var i, n int
			var key string
			if err := r.Scan(&i, &key, &n); err != nil {
				return err
			}
			bd.set(&bs[i], key, n)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("index: stats: %w", err)
		}
	}
	return bs, nil
}

// TopEntry is one row of a Top list.
type TopEntry struct {
	Key   string
	Count int
}

// tops are the queries of Top's fields. ip and helo count sessions by
// their start (Unix nanoseconds); sender_domain counts messages (the
// MAIL FROM domain) by their arrival (seq, Unix microseconds).
var tops = map[string]string{
	"ip": `SELECT client_ip, count(*) AS n FROM sessions WHERE start >= ? AND start < ? AND client_ip != ''
		GROUP BY client_ip ORDER BY n DESC, client_ip LIMIT ?`,
	"helo": `SELECT helo, count(*) AS n FROM sessions WHERE start >= ? AND start < ? AND helo != ''
		GROUP BY helo ORDER BY n DESC, helo LIMIT ?`,
	"sender_domain": `SELECT sender_domain, count(*) AS n FROM messages WHERE seq >= ? AND seq < ?
		AND sender_domain != '' GROUP BY sender_domain ORDER BY n DESC, sender_domain LIMIT ?`,
}

// defaultTop is Top's n when n <= 0.
const defaultTop = 10

// Top returns the n most frequent values of field ("ip", "helo",
// "sender_domain") in [from, to), most frequent first, ties by key.
func (ix *Index) Top(ctx context.Context, field string, from, to time.Time, n int) ([]TopEntry, error) {
	q, ok := tops[field]
	if !ok {
		return nil, fmt.Errorf("index: top: unknown field %q (ip, helo, sender_domain)", field)
	}
	if n <= 0 {
		n = defaultTop
	}
	lo, hi := from.UnixNano(), to.UnixNano()
	if field == "sender_domain" {
		// Messages are ranged by seq, their arrival in microseconds.
		lo, hi = from.UnixMicro(), to.UnixMicro()
	}
	rows, err := ix.r.QueryContext(ctx, q, lo, hi, n)
	if err != nil {
		return nil, fmt.Errorf("index: top %s: %w", field, err)
	}
	var out []TopEntry
	err = eachRow(rows, func(r *sql.Rows) error {
		var e TopEntry
		if err := r.Scan(&e.Key, &e.Count); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index: top %s: %w", field, err)
	}
	return out, nil
}

// eachRow calls fn for every row and closes rows.
func eachRow(rows *sql.Rows, fn func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
