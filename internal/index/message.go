package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is the index entry of one stored message: its envelope, the
// headers a list shows, and the marks searches filter on.
type Message struct {
	ID      string
	Session string
	// ReceivedAt orders the list ("received") and is what before: and
	// after: compare with, to the microsecond (through seq: messages
	// that share a microsecond take the next free ones).
	ReceivedAt time.Time
	ClientIP   string
	ClientPort int
	Helo       string
	MailFrom   string
	RcptTo     []string

	// From, To and Cc are the header addresses, decoded, each
	// "Display Name <addr>" or a bare addr.
	From, To, Cc []string
	Subject      string
	Date         time.Time // the Date header; zero when missing or unparsable
	MessageID    string

	Size        int64 // bytes of the message as the client sent it
	Attachments int

	// Verdicts are what screening said, from the X-FakeSMTP-* headers:
	// "dnsbl:zen.example", "trap:mailbox", "tls", "auth", "dsn", ...
	// Findings are the X-FakeSMTP-Finding codes. Tags are the reader's.
	// All three come back sorted, without duplicates (compared without
	// regard to case).
	Verdicts []string
	Findings []string
	Tags     []string
	Read     bool

	// Text is the plain-text body, only fed to the full-text index: it
	// is not stored, so Get and List return it empty (the message file
	// has it). Put keeps the first MaxText bytes.
	Text string
}

// MaxText caps the body text indexed per message: enough for any real
// mail's words, and a 50 MB attachment-turned-text cannot bloat the index.
const MaxText = 256 << 10

// Label kinds in the labels table.
const (
	kindVerdict = 1
	kindFinding = 2
	kindTag     = 3
)

// msgColumns are the columns scanMessage reads, in its order, from
// "messages m JOIN message_info i".
const msgColumns = `m.seq, m.id, i.session, i.received_at, i.client_ip, i.client_port, m.helo, i.mail_from,
	i.rcpt_to, i.from_hdr, i.to_hdr, i.cc_hdr, i.subject, i.date, i.message_id, m.size, m.attachments, m.read`

// msgFrom is the FROM clause of msgColumns.
const msgFrom = ` FROM messages m JOIN message_info i ON i.seq = m.seq `

// scanMessage reads one row of msgColumns.
func scanMessage(sc interface{ Scan(...any) error }) (int64, Message, error) {
	var (
		m                  Message
		seq, recv, date    int64
		rcpt, from, to, cc string
		read               int
	)
	err := sc.Scan(&seq, &m.ID, &m.Session, &recv, &m.ClientIP, &m.ClientPort, &m.Helo, &m.MailFrom,
		&rcpt, &from, &to, &cc, &m.Subject, &date, &m.MessageID, &m.Size, &m.Attachments, &read)
	if err != nil {
		return 0, m, err
	}
	m.ReceivedAt = fromNanos(recv)
	m.Date = fromNanos(date)
	m.Read = read != 0
	m.RcptTo = fromJSON(rcpt)
	m.From = fromJSON(from)
	m.To = fromJSON(to)
	m.Cc = fromJSON(cc)
	return seq, m, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanLabels trims, drops empty values and duplicates (without regard
// to case, like the column's collation) and sorts.
func cleanLabels(vs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range vs {
		v = strings.TrimSpace(v)
		k := strings.ToLower(v)
		if v == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func toJSON(ss []string) string {
	if len(ss) == 0 {
		return "[]"
	}
	// Without HTML escaping, "A <a@b>" is stored as written.
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.Encode(ss) // a []string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func fromJSON(s string) []string {
	if s == "" || s == "[]" {
		return nil
	}
	var ss []string
	json.Unmarshal([]byte(s), &ss) // written by toJSON; a damaged value reads as empty
	return ss
}

// Get returns the message with the given ID, or ErrNotFound.
func (ix *Index) Get(ctx context.Context, msgID string) (Message, error) {
	row := ix.r.QueryRowContext(ctx, `SELECT `+msgColumns+msgFrom+`WHERE m.id = ?`, msgID)
	seq, m, err := scanMessage(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("index: get %s: %w", msgID, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("index: get %s: %w", msgID, err)
	}
	ms := []Message{m}
	if err := ix.fillLabels(ctx, []int64{seq}, ms); err != nil {
		return Message{}, fmt.Errorf("index: get %s: %w", msgID, err)
	}
	return ms[0], nil
}

// fillLabels loads the verdicts, findings and tags of ms (whose rows are
// seqs) in one query.
func (ix *Index) fillLabels(ctx context.Context, seqs []int64, ms []Message) error {
	if len(seqs) == 0 {
		return nil
	}
	at := make(map[int64]int, len(seqs))
	args := make([]any, len(seqs))
	for i, s := range seqs {
		at[s] = i
		args[i] = s
	}
	rows, err := ix.r.QueryContext(ctx, `SELECT msg, kind, value FROM labels WHERE msg IN (`+placeholders(len(seqs))+`)
		ORDER BY msg, kind, value`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var kind int
		var v string
		if err := rows.Scan(&seq, &kind, &v); err != nil {
			return err
		}
		m := &ms[at[seq]]
		switch kind {
		case kindVerdict:
			m.Verdicts = append(m.Verdicts, v)
		case kindFinding:
			m.Findings = append(m.Findings, v)
		case kindTag:
			m.Tags = append(m.Tags, v)
		}
	}
	return rows.Err()
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// IDs returns the IDs of all indexed messages, oldest first (IDs sort by
// arrival).
func (ix *Index) IDs(ctx context.Context) ([]string, error) {
	rows, err := ix.r.QueryContext(ctx, `SELECT id FROM messages ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("index: ids: %w", err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("index: ids: %w", err)
	}
	return ids, nil
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
