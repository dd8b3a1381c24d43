package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is the record of one SMTP session, written when it ends.
// Unlike messages, sessions exist only here: there is no file to rebuild
// them from.
type Session struct {
	ID         string
	Start, End time.Time
	ClientIP   string
	ClientPort int
	Helo       string
	TLS        bool
	AuthUser   string

	Accepted, Refused, Errors     int
	EarlyTalk, Tarpitted, TrapHit bool

	// Reason says why the session closed: "quit", "timeout",
	// "early-talk", "dnsbl", "too-many-errors", ...
	Reason string
	// DNSLists are the lists that listed the client.
	DNSLists   []string
	Findings   []string
	Verdicts   []string
	MessageIDs []string
	// Transcript is the verbose transcript when one was recorded, else
	// "". ListSessions leaves it empty; GetSession fills it.
	Transcript string
}

// SessionListOptions selects a page of sessions, newest first. Empty
// fields do not filter.
type SessionListOptions struct {
	IP     string // exact client IP
	Helo   string // substring of the HELO/EHLO name, ignoring ASCII case
	Reason string // prefix of Reason ("listed" finds "listed: zen...")
	// From and To bound Start: From <= Start < To.
	From, To time.Time
	// Limit is the page size (0: DefaultLimit, at most MaxLimit).
	Limit, Offset int
}

const sessionColumns = `s.id, s.start, s.end, s.client_ip, s.client_port, s.helo, s.tls, s.auth_user,
	s.accepted, s.refused, s.errors, s.early_talk, s.tarpitted, s.trap_hit, s.reason,
	s.dns_lists, s.findings, s.verdicts, s.message_ids`

// scanSession reads one row of sessionColumns, then any extra columns
// into extra.
func scanSession(sc interface{ Scan(...any) error }, extra ...any) (Session, error) {
	var (
		s                                   Session
		start, end                          int64
		lists, findings, verdicts, messages string
	)
	dest := []any{&s.ID, &start, &end, &s.ClientIP, &s.ClientPort, &s.Helo, &s.TLS, &s.AuthUser,
		&s.Accepted, &s.Refused, &s.Errors, &s.EarlyTalk, &s.Tarpitted, &s.TrapHit, &s.Reason,
		&lists, &findings, &verdicts, &messages}
	err := sc.Scan(append(dest, extra...)...)
	s.Start, s.End = fromNanos(start), fromNanos(end)
	s.DNSLists, s.Findings, s.Verdicts, s.MessageIDs = fromJSON(lists), fromJSON(findings), fromJSON(verdicts), fromJSON(messages)
	return s, err
}

// AddSession records a session, replacing a record with the same ID.
func (ix *Index) AddSession(ctx context.Context, s Session) error {
	return ix.AddSessions(ctx, []Session{s})
}

// AddSessions records sessions in one transaction. A server that ends
// many sessions a second (a flood of refused clients) should collect
// them and write them in batches like this, off the sessions' path: a
// commit costs far more than a row.
func (ix *Index) AddSessions(ctx context.Context, ss []Session) error {
	for _, s := range ss {
		if s.ID == "" {
			return errors.New("index: add session: empty id")
		}
	}
	err := ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO sessions(id, start, end, client_ip, client_port, helo, tls,
			auth_user, accepted, refused, errors, early_talk, tarpitted, trap_hit, reason, dns_lists, findings,
			verdicts, message_ids)
			VALUES (?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET start = excluded.start, end = excluded.end, client_ip = excluded.client_ip,
			client_port = excluded.client_port, helo = excluded.helo, tls = excluded.tls, auth_user = excluded.auth_user,
			accepted = excluded.accepted, refused = excluded.refused, errors = excluded.errors,
			early_talk = excluded.early_talk, tarpitted = excluded.tarpitted, trap_hit = excluded.trap_hit,
			reason = excluded.reason, dns_lists = excluded.dns_lists, findings = excluded.findings,
			verdicts = excluded.verdicts, message_ids = excluded.message_ids`)
		if err != nil {
			return nil, err
		}
		defer ins.Close()
		for _, s := range ss {
			_, err := ins.ExecContext(ctx, s.ID, toNanos(s.Start), toNanos(s.End), s.ClientIP, s.ClientPort, s.Helo,
				s.TLS, s.AuthUser, s.Accepted, s.Refused, s.Errors, s.EarlyTalk, s.Tarpitted, s.TrapHit, s.Reason,
				toJSON(s.DNSLists), toJSON(s.Findings), toJSON(s.Verdicts), toJSON(s.MessageIDs))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.ID, err)
			}
			// The transcript is replaced too: a record without one
			// drops an old one.
			if _, err := tx.ExecContext(ctx, `DELETE FROM transcripts WHERE session = ?`, s.ID); err != nil {
				return nil, err
			}
			if s.Transcript != "" {
				if _, err := tx.ExecContext(ctx, `INSERT INTO transcripts(session, text) VALUES (?, ?)`, s.ID, s.Transcript); err != nil {
					return nil, err
				}
			}
		}
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("index: add sessions: %w", err)
	}
	return nil
}

// GetSession returns the session with the given ID, transcript included,
// or ErrNotFound.
func (ix *Index) GetSession(ctx context.Context, sessionID string) (Session, error) {
	row := ix.r.QueryRowContext(ctx, `SELECT `+sessionColumns+`, coalesce(t.text, '')
		FROM sessions s LEFT JOIN transcripts t ON t.session = s.id WHERE s.id = ?`, sessionID)
	var transcript string
	s, err := scanSession(row, &transcript)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("index: get session %s: %w", sessionID, ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("index: get session %s: %w", sessionID, err)
	}
	s.Transcript = transcript
	return s, nil
}

// ListSessions returns a page of the sessions opt selects, newest first,
// without transcripts, and the number of sessions it selects in all.
func (ix *Index) ListSessions(ctx context.Context, opt SessionListOptions) ([]Session, int, error) {
	var conds []string
	var args []any
	if opt.IP != "" {
		conds, args = append(conds, "s.client_ip = ?"), append(args, opt.IP)
	}
	if opt.Helo != "" {
		conds, args = append(conds, `s.helo LIKE ? ESCAPE '\'`), append(args, "%"+likeEscape(opt.Helo)+"%")
	}
	if opt.Reason != "" {
		conds, args = append(conds, `s.reason LIKE ? ESCAPE '\'`), append(args, likeEscape(opt.Reason)+"%")
	}
	if !opt.From.IsZero() {
		conds, args = append(conds, "s.start >= ?"), append(args, opt.From.UnixNano())
	}
	if !opt.To.IsZero() {
		conds, args = append(conds, "s.start < ?"), append(args, opt.To.UnixNano())
	}
	where := "1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	var total int
	if err := ix.r.QueryRowContext(ctx, `SELECT count(*) FROM sessions s WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("index: list sessions: %w", err)
	}
	limit := opt.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	rows, err := ix.r.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE `+where+
		` ORDER BY s.start DESC, s.id DESC LIMIT ? OFFSET ?`, append(args, limit, max(opt.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("index: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("index: list sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("index: list sessions: %w", err)
	}
	return out, total, nil
}

// PruneSessions deletes the sessions that started before the given time,
// with their transcripts, and returns how many there were.
func (ix *Index) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := ix.write(ctx, func(tx *sql.Tx) ([]Event, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE start < ?`, before.UnixNano())
		if err != nil {
			return nil, err
		}
		n, _ = res.RowsAffected()
		return nil, nil
	})
	if err != nil {
		return 0, fmt.Errorf("index: prune sessions: %w", err)
	}
	return int(n), nil
}
