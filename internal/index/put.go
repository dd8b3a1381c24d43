package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"fakesmtp/internal/id"
)

// Put adds m to the index, or replaces the entry with its ID. An entry
// that exists keeps its Read mark and Tags (a re-index must not undo the
// reader's work); a new one takes them from m.
func (ix *Index) Put(ctx context.Context, m Message) error {
	return ix.PutMany(ctx, []Message{m})
}

// PutMany is Put for many messages in one transaction: a commit costs
// far more than a row, so batches index an order of magnitude faster.
func (ix *Index) PutMany(ctx context.Context, ms []Message) error {
	for _, m := range ms {
		if !id.Valid(m.ID) {
			return fmt.Errorf("index: put: invalid message id %q", m.ID)
		}
	}
	if _, _, err := ix.commit(ctx, ms, nil); err != nil {
		return fmt.Errorf("index: put: %w", err)
	}
	return nil
}

// commit puts ms and deletes the entries of del in one transaction, and
// returns the messages as stored and the IDs that were deleted.
func (ix *Index) commit(ctx context.Context, ms []Message, del []string) (stored []Message, gone []string, err error) {
	err = ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		stored, gone = nil, nil
		var evs []Event
		if len(ms) > 0 {
			p, err := preparePut(ctx, tx, &ix.run)
			if err != nil {
				return nil, err
			}
			defer p.close()
			for _, m := range ms {
				s, err := p.put(ctx, m)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", m.ID, err)
				}
				stored = append(stored, s)
				evs = append(evs, Event{Kind: EventPut, Message: s, IDs: []string{m.ID}})
			}
		}
		if len(del) > 0 {
			var err error
			if gone, err = deleteTx(ctx, tx, del); err != nil {
				return nil, err
			}
			if len(gone) > 0 {
				evs = append(evs, Event{Kind: EventDelete, IDs: gone})
			}
		}
		return evs, nil
	})
	if err != nil || len(gone) > 0 {
		// A rolled-back put leaves the run with values that are free
		// again, a delete may leave a hole in it: see seqRun.
		ix.run.Store(nil)
	}
	if err != nil {
		return nil, nil, err
	}
	return stored, gone, nil
}

// putStmts are the statements of Put, prepared once per transaction.
type putStmts struct {
	run                       *atomic.Pointer[seqRun] // Index.run
	find, taken, gap          *sql.Stmt
	insMsg, insInfo           *sql.Stmt
	updMsg, updInfo           *sql.Stmt
	ftsDel, ftsIns            *sql.Stmt
	labDel, labIns, storedTag *sql.Stmt
}

func preparePut(ctx context.Context, tx *sql.Tx, run *atomic.Pointer[seqRun]) (*putStmts, error) {
	p := &putStmts{run: run}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.PrepareContext(ctx, q)
		return s
	}
	p.find = prep(`SELECT seq, read FROM messages WHERE id = ?`)
	p.taken = prep(`SELECT 1 FROM messages WHERE seq = ?`)
	// The end of the run of taken values that starts at ?.
	p.gap = prep(`SELECT a.seq + 1 FROM messages a WHERE a.seq >= ?
		AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.seq = a.seq + 1) ORDER BY a.seq LIMIT 1`)
	p.insMsg = prep(`INSERT INTO messages(seq, id, read, size, attachments, ip_key, helo, sender_domain)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	p.insInfo = prep(`INSERT INTO message_info(session, received_at, client_ip, client_port, mail_from,
		rcpt_to, from_hdr, to_hdr, cc_hdr, subject, date, message_id, sort_from, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	p.updMsg = prep(`UPDATE messages SET size = ?, attachments = ?, ip_key = ?, helo = ?, sender_domain = ?
		WHERE seq = ?`)
	p.updInfo = prep(`UPDATE message_info SET session = ?, received_at = ?, client_ip = ?, client_port = ?,
		mail_from = ?, rcpt_to = ?, from_hdr = ?, to_hdr = ?, cc_hdr = ?, subject = ?, date = ?, message_id = ?,
		sort_from = ? WHERE seq = ?`)
	p.ftsDel = prep(`DELETE FROM messages_fts WHERE rowid = ?`)
	p.ftsIns = prep(`INSERT INTO messages_fts(rowid, subject, sender, recipients, body) VALUES (?, ?, ?, ?, ?)`)
	p.labDel = prep(`DELETE FROM labels WHERE msg = ? AND kind IN (1, 2)`)
	p.labIns = prep(`INSERT OR IGNORE INTO labels(msg, kind, value) VALUES (?, ?, ?)`)
	p.storedTag = prep(`SELECT value FROM labels WHERE msg = ? AND kind = 3 ORDER BY value`)
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *putStmts) close() {
	for _, s := range []*sql.Stmt{p.find, p.taken, p.gap, p.insMsg, p.insInfo, p.updMsg, p.updInfo,
		p.ftsDel, p.ftsIns, p.labDel, p.labIns, p.storedTag} {
		if s != nil {
			s.Close()
		}
	}
}

// put upserts one message and returns it as stored (Text dropped, the
// kept Read and Tags filled in).
func (p *putStmts) put(ctx context.Context, m Message) (Message, error) {
	k := keysOf(m)
	m.Text = ""
	msgArgs := []any{m.Size, m.Attachments, k.ipKey, m.Helo, k.senderDomain}
	infoArgs := []any{m.Session, toNanos(m.ReceivedAt), m.ClientIP, m.ClientPort, m.MailFrom,
		toJSON(m.RcptTo), toJSON(m.From), toJSON(m.To), toJSON(m.Cc), m.Subject, toNanos(m.Date), m.MessageID,
		k.sortFrom}
	var seq int64
	var read bool
	err := p.find.QueryRowContext(ctx, m.ID).Scan(&seq, &read)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if seq, err = p.freeSeq(ctx, seqBase(m)); err != nil {
			return m, err
		}
		if _, err := p.insMsg.ExecContext(ctx, append([]any{seq, m.ID, m.Read}, msgArgs...)...); err != nil {
			return m, err
		}
		if _, err := p.insInfo.ExecContext(ctx, append(infoArgs, seq)...); err != nil {
			return m, err
		}
		m.Tags = cleanLabels(m.Tags)
		if err := p.labels(ctx, seq, kindTag, m.Tags); err != nil {
			return m, err
		}
	case err != nil:
		return m, err
	default:
		// The row keeps its seq: its place in arrival order does not
		// change with a re-read of the same file.
		if _, err := p.updMsg.ExecContext(ctx, append(msgArgs, seq)...); err != nil {
			return m, err
		}
		if _, err := p.updInfo.ExecContext(ctx, append(infoArgs, seq)...); err != nil {
			return m, err
		}
		if _, err := p.ftsDel.ExecContext(ctx, seq); err != nil {
			return m, err
		}
		if _, err := p.labDel.ExecContext(ctx, seq); err != nil {
			return m, err
		}
		m.Read = read
		if m.Tags, err = p.tags(ctx, seq); err != nil {
			return m, err
		}
	}
	m.Verdicts, m.Findings = cleanLabels(m.Verdicts), cleanLabels(m.Findings)
	if err := p.labels(ctx, seq, kindVerdict, m.Verdicts); err != nil {
		return m, err
	}
	if err := p.labels(ctx, seq, kindFinding, m.Findings); err != nil {
		return m, err
	}
	if _, err := p.ftsIns.ExecContext(ctx, seq, m.Subject, k.sender, k.recipients, k.text); err != nil {
		return m, err
	}
	return m, nil
}

// freeSeq returns base if no row has it, else the first free value after
// the run of taken ones that starts at base. With seq in microseconds,
// runs are short at any real rate of arrival (10,000 messages a second
// are 100 µs apart on average); a burst within a few microseconds, or
// files indexed late out of order, makes longer ones.
//
// The gap query walks the run, so a burst of n messages at the same time
// would cost O(n) each. The run this Index last extended (p.run) skips
// that walk: when base lies in it and the value after it is free, that
// value is what the gap query would return. It is narrower than "the
// last seq assigned + 1": a message indexed late, whose base collides
// far below the newest seq, still gets the first gap after its own
// time, not a place among the newest.
func (p *putStmts) freeSeq(ctx context.Context, base int64) (int64, error) {
	taken, err := p.isTaken(ctx, base)
	if err != nil {
		return 0, err
	}
	r := p.run.Load()
	if !taken {
		if r != nil && base == r.end+1 {
			p.run.Store(&seqRun{start: r.start, end: base})
		} else {
			p.run.Store(&seqRun{start: base, end: base})
		}
		return base, nil
	}
	if r != nil && r.start <= base && base <= r.end {
		// Checked all the same: another process (a `fakesmtp reindex`
		// next to the server) may have taken it. Uniqueness never
		// rests on the cache.
		next := r.end + 1
		taken, err := p.isTaken(ctx, next)
		if err != nil {
			return 0, err
		}
		if !taken {
			p.run.Store(&seqRun{start: r.start, end: next})
			return next, nil
		}
	}
	var next int64
	if err := p.gap.QueryRowContext(ctx, base).Scan(&next); err != nil {
		return 0, err
	}
	// The gap query found base..next-1 taken, and next is about to be.
	p.run.Store(&seqRun{start: base, end: next})
	return next, nil
}

// isTaken reports whether a row has seq.
func (p *putStmts) isTaken(ctx context.Context, seq int64) (bool, error) {
	var one int
	err := p.taken.QueryRowContext(ctx, seq).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// seqRun is a run of consecutive seq values, start to end, that this
// Index assigned or found taken: all of them are taken, unless a
// delete or a rolled-back transaction freed some since, which is why
// those forget it (Index.run = nil). A stale run costs order, never
// uniqueness: freeSeq still checks the value it returns.
type seqRun struct{ start, end int64 }

func (p *putStmts) labels(ctx context.Context, seq int64, kind int, values []string) error {
	for _, v := range values {
		if _, err := p.labIns.ExecContext(ctx, seq, kind, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *putStmts) tags(ctx context.Context, seq int64) ([]string, error) {
	rows, err := p.storedTag.QueryContext(ctx, seq)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

// maxSeqBase keeps seq values, and the runs above them, far from int64
// overflow whatever time a message claims: 2^53 µs is the year 2255 or
// so, and a later ReceivedAt is placed there (its received_at column
// keeps the real value).
const maxSeqBase = 1 << 53

// seqBase is the seq a message would like: its ReceivedAt in Unix
// microseconds (milliseconds before migration 0002), else the
// millisecond time in its ID.
func seqBase(m Message) int64 {
	us := m.ReceivedAt.UnixMicro()
	if m.ReceivedAt.IsZero() {
		us = idMillis(m.ID) * 1000
	}
	return min(max(us, 0), maxSeqBase)
}

// idMillis decodes the millisecond time in the first 10 characters of an
// ID (see internal/id): Crockford base32, 5 bits a character.
func idMillis(s string) int64 {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var ms int64
	for i := 0; i < 10 && i < len(s); i++ {
		ms = ms<<5 | int64(max(strings.IndexByte(alphabet, s[i]), 0))
	}
	return ms
}

// searchKeys are the derived values of a message's rows.
type searchKeys struct {
	ipKey                    []byte
	sortFrom, senderDomain   string
	sender, recipients, text string
}

func keysOf(m Message) searchKeys {
	var k searchKeys
	if a, err := netip.ParseAddr(m.ClientIP); err == nil {
		b := a.As16()
		k.ipKey = b[:]
	}
	if len(m.From) > 0 {
		k.sortFrom = strings.ToLower(m.From[0])
	} else {
		k.sortFrom = strings.ToLower(m.MailFrom)
	}
	if i := strings.LastIndexByte(m.MailFrom, '@'); i >= 0 {
		k.senderDomain = strings.ToLower(m.MailFrom[i+1:])
	}
	k.sender = strings.Join(append(append([]string(nil), m.From...), m.MailFrom), "\n")
	k.recipients = strings.Join(concat(m.To, m.Cc, m.RcptTo), "\n")
	k.text = truncateUTF8(m.Text, MaxText)
	return k
}

func concat(ss ...[]string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s...)
	}
	return out
}
