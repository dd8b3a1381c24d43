// Package relay sends accepted mail on to a smarthost through a durable
// queue. A message is spooled (flushed to disk) before the client gets
// its 250; background workers then deliver it with the envelope
// unchanged, retry temporary failures on a schedule, and move permanent
// failures to a failed/ folder with the reason. Nothing is dropped
// silently, and the queue picks up where it was after a restart or a
// crash. The SMTP session never waits on the upstream.
package relay

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/safeio"
	"fakesmtp/internal/store"
)

// TLS modes of the connection to the smarthost.
const (
	TLSNone             = "none"
	TLSStartTLS         = "starttls"
	TLSStartTLSRequired = "starttls-required"
	TLSImplicit         = "implicit"
)

// Config configures a Queue.
type Config struct {
	Dir      string // the queue folder; failed/ and .tmp/ go inside
	Host     string // smarthost
	Port     int
	TLS      string // one of the TLS* modes
	CAFile   string // PEM roots; "" = the system's
	Insecure bool   // skip certificate verification
	User     string // AUTH user; "" = no AUTH
	Password string
	// Match says which recipients are relayed; empty = all (see Matches).
	Match []string
	// Sender replaces the envelope sender when set; "<>" is the null
	// sender.
	Sender   string
	Schedule []time.Duration // waits after each failed attempt; the last repeats
	MaxAge   time.Duration   // a message older than this fails
	Workers  int
	Timeout  time.Duration // each step of a delivery
	Hostname string        // our EHLO name
	// ScanInterval is how often the folder is read again for changes
	// made from outside (fakesmtp queue retry); 0 = 2s.
	ScanInterval time.Duration
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// Queue is the relay queue of one folder.
type Queue struct {
	cfg    Config
	roots  *x509.CertPool
	logger *slog.Logger
	now    func() time.Time
	kick   chan struct{}

	mu       sync.Mutex
	inflight map[string]bool
}

// Folder names inside the queue folder.
const (
	failedDir = "failed"
	tmpDir    = ".tmp"
	msgExt    = ".eml"
	stateExt  = ".json"
	reasonExt = ".reason"
)

// New prepares the queue folder: it creates failed/ and .tmp/, removes
// what an interrupted spool left (never acknowledged, so the client
// retries), settles the moves to and from failed/ that a crash cut short
// (see recover), and loads the CA file.
func New(cfg Config, logger *slog.Logger) (*Queue, error) {
	if cfg.Dir == "" {
		return nil, errors.New("relay: empty queue folder")
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = []time.Duration{time.Minute}
	}
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	q := &Queue{cfg: cfg, logger: logger, now: cfg.Now, kick: make(chan struct{}, 1), inflight: map[string]bool{}}
	if q.now == nil {
		q.now = time.Now
	}
	for _, d := range []string{cfg.Dir, filepath.Join(cfg.Dir, failedDir), filepath.Join(cfg.Dir, tmpDir)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("relay: relay_tls_ca_file: %w", err)
		}
		q.roots = x509.NewCertPool()
		if !q.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("relay: relay_tls_ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
	}
	if err := q.recover(); err != nil {
		return nil, err
	}
	return q, nil
}

// recover puts the queue folder right after a crash. It removes what an
// interrupted spool left: files in .tmp/, and messages whose state file
// was never written (the client got no 250 for them). And it settles the
// moves between the queue and failed/ that a crash cut short (see
// moveFailed and retryFailed), so that every entry is whole in one
// place, never lost and never listed twice.
func (q *Queue) recover() error {
	dir, fdir, tmp := q.cfg.Dir, filepath.Join(q.cfg.Dir, failedDir), filepath.Join(q.cfg.Dir, tmpDir)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	for _, e := range entries {
		os.Remove(filepath.Join(tmp, e.Name()))
	}
	ids := map[string]bool{}
	for _, d := range []string{dir, fdir} {
		entries, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("relay: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") {
				// A safeio.WriteFile cut short: the file it replaces is
				// whole.
				os.Remove(filepath.Join(d, name))
				continue
			}
			if ext := filepath.Ext(name); ext == msgExt || ext == stateExt || ext == reasonExt {
				if msgID := strings.TrimSuffix(name, ext); id.Valid(msgID) {
					ids[msgID] = true
				}
			}
		}
	}
	for _, msgID := range slices.Sorted(maps.Keys(ids)) {
		q.recoverEntry(msgID)
	}
	// Made durable here; if lost, the next start does the same again.
	safeio.SyncDir(fdir)
	safeio.SyncDir(dir)
	return nil
}

// recoverEntry settles one entry by the files it has in the queue and in
// failed/.
func (q *Queue) recoverEntry(msgID string) {
	dir, fdir := q.cfg.Dir, filepath.Join(q.cfg.Dir, failedDir)
	has := func(d, ext string) bool {
		_, err := os.Lstat(filepath.Join(d, msgID+ext))
		return err == nil
	}
	queuedMsg, queuedState := has(dir, msgExt), has(dir, stateExt)
	failedMsg, failedState, failedReason := has(fdir, msgExt), has(fdir, stateExt), has(fdir, reasonExt)
	switch {
	case queuedMsg && !queuedState && (failedState || failedReason):
		// A retry cut short after it moved the message back: the entry
		// was still failed, and is again. Never removed: its client had
		// its 250 long ago.
		if err := safeio.Rename(filepath.Join(dir, msgID+msgExt), filepath.Join(fdir, msgID+msgExt)); err != nil {
			q.logger.Error("relay: cannot put the message of an interrupted retry back in failed/", "id", msgID, "err", err)
			return
		}
		q.logger.Warn("relay: a retry was interrupted; the message is back in failed/", "id", msgID)
	case queuedMsg && !queuedState:
		q.logger.Warn("relay: removed a message whose spool was interrupted", "id", msgID)
		os.Remove(filepath.Join(dir, msgID+msgExt))
	case queuedState && !queuedMsg && failedMsg:
		// A move to failed/ cut short after the message moved (attempt
		// does the same for a running queue).
		os.Remove(filepath.Join(dir, msgID+stateExt))
	case queuedMsg && queuedState && !failedMsg && failedState && q.sameEntry(msgID):
		// A move to failed/ cut short after its state was written and
		// before the message moved: that state holds the last attempt's
		// results, the queued one is older and would send again to the
		// recipients that attempt delivered. The move is finished.
		if err := safeio.Rename(filepath.Join(dir, msgID+msgExt), filepath.Join(fdir, msgID+msgExt)); err != nil {
			q.logger.Error("relay: cannot finish moving a message to failed/", "id", msgID, "err", err)
			return
		}
		os.Remove(filepath.Join(dir, msgID+stateExt))
		q.logger.Warn("relay: finished moving a message to failed/ after a crash", "id", msgID)
	case queuedMsg && queuedState && !failedMsg && (failedState || failedReason):
		// A move to failed/ cut short before its state was written (the
		// next attempt does it again), or a retry after the queued
		// state was written (Retry gives the entry a new Created): the
		// entry is queued, the rest is stale.
		os.Remove(filepath.Join(fdir, msgID+stateExt))
		os.Remove(filepath.Join(fdir, msgID+reasonExt))
	case failedMsg && !failedState && !queuedState:
		// Nothing that this code leaves behind; said, not guessed at.
		q.logger.Error("relay: a message in failed/ without its state; see `fakesmtp queue list`", "id", msgID)
	}
}

// sameEntry reports whether the queued and the failed state of msgID are
// the same entry: moveFailed keeps Created, Retry sets it anew.
func (q *Queue) sameEntry(msgID string) bool {
	qs, err := loadState(filepath.Join(q.cfg.Dir, msgID+stateExt))
	if err != nil {
		return false
	}
	fs, err := loadState(filepath.Join(q.cfg.Dir, failedDir, msgID+stateExt))
	if err != nil {
		return false
	}
	return qs.Created.Equal(fs.Created)
}

// Matches reports whether rcpt is relayed under the match list: an entry
// "example.org" matches that domain, ".example.org" its subdomains,
// "user@example.org" that address; all case-insensitive. An empty list
// matches every recipient.
func Matches(match []string, rcpt string) bool {
	if len(match) == 0 {
		return true
	}
	at := strings.LastIndexByte(rcpt, '@')
	domain := strings.ToLower(rcpt[at+1:])
	for _, m := range match {
		m = strings.ToLower(m)
		switch {
		case strings.Contains(m, "@"):
			if strings.EqualFold(m, rcpt) {
				return true
			}
		case strings.HasPrefix(m, "."):
			if strings.HasSuffix(domain, m) {
				return true
			}
		case at >= 0 && domain == m:
			return true
		}
	}
	return false
}

// Spool queues a stored message for the recipients that match: the
// content that goes upstream (our Received line, then the message as
// received) and a state file, both flushed before Spool returns. It is
// called before the client's 250; a message with no matching recipient
// is not queued.
func (q *Queue) Spool(env *store.Envelope, received string, body []byte) error {
	var rcpts []Rcpt
	for _, r := range env.RcptTo {
		if Matches(q.cfg.Match, r) {
			rcpts = append(rcpts, Rcpt{Addr: r, Status: StatusPending})
		}
	}
	if len(rcpts) == 0 {
		return nil
	}
	from := env.MailFrom
	switch q.cfg.Sender {
	case "":
	case "<>":
		from = ""
	default:
		from = q.cfg.Sender
	}
	now := q.now()
	st := &State{ID: env.ID, From: from, ClientFrom: env.MailFrom, Created: now, Next: now, Rcpts: rcpts}
	data := append([]byte(received), body...)
	tmp := filepath.Join(q.cfg.Dir, tmpDir, env.ID+msgExt)
	if err := safeio.WriteNew(tmp, data, 0o640); err != nil {
		return fmt.Errorf("relay: spool %s: %w", env.ID, err)
	}
	final := filepath.Join(q.cfg.Dir, env.ID+msgExt)
	if err := safeio.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("relay: spool %s: %w", env.ID, err)
	}
	// The state file is written last: a message without one is an
	// interrupted spool (see recover). WriteFile flushes the folder,
	// which makes both names durable.
	if err := saveState(filepath.Join(q.cfg.Dir, env.ID+stateExt), st); err != nil {
		os.Remove(final)
		return fmt.Errorf("relay: spool %s: %w", env.ID, err)
	}
	q.logger.Info("relay: queued", "id", env.ID, "from", from, "rcpts", len(rcpts))
	q.Kick()
	return nil
}

// Kick wakes the scheduler now instead of at its next scan.
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}
