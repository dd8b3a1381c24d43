// Package outputs hands accepted messages to other mail software: an
// IIS/Exchange-style pickup folder, or a Maildir. Every output is
// durable before the client gets its 250, and no consumer ever sees a
// partial file: each file is written elsewhere on the same file system,
// flushed, and renamed into place.
package outputs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fakesmtp/internal/safeio"
	"fakesmtp/internal/store"
)

// Config lists the outputs of a Set.
type Config struct {
	// KeepEML keeps the store's <ID>.eml file ("eml" among the outputs);
	// without it the file is removed once the other outputs have the
	// message.
	KeepEML bool
	// PickupPath is the pickup folder; "" = no pickup output.
	PickupPath string
	// MaildirPath is the Maildir (or the root of one Maildir per
	// recipient); "" = no Maildir output.
	MaildirPath string
	// MaildirPerRecipient delivers into <root>/<domain>/<local>/ per
	// recipient instead of one shared Maildir.
	MaildirPerRecipient bool
	// Hostname goes into Maildir file names (the Maildir spec's uniqueness
	// rule).
	Hostname string
	// Relay queues the message for a smarthost; nil = no relay output.
	Relay Spooler
	// Logger hears of what does not fail a delivery but should not go
	// unsaid; nil = discarded.
	Logger *slog.Logger
}

// Spooler takes a message durably for later, asynchronous delivery (the
// relay queue): Spool returns once the message is on disk.
type Spooler interface {
	Spool(env *store.Envelope, received string, body []byte) error
}

// Set delivers each stored message to the configured outputs.
type Set struct {
	cfg Config
	now func() time.Time
}

// New checks the folders (creating them) and returns the Set.
func New(cfg Config, now func() time.Time) (*Set, error) {
	if now == nil {
		now = time.Now
	}
	var errs []error
	if cfg.PickupPath != "" {
		for _, d := range []string{cfg.PickupPath, pickupTmp(cfg.PickupPath)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				errs = append(errs, fmt.Errorf("outputs: pickup folder: %w", err))
			}
		}
	}
	if cfg.PickupPath != "" && len(errs) == 0 {
		clearStale(pickupTmp(cfg.PickupPath), now(), cfg.Logger)
	}
	if cfg.MaildirPath != "" && !cfg.MaildirPerRecipient {
		if err := makeMaildir(cfg.MaildirPath); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Set{cfg: cfg, now: now}, nil
}

// Deliver hands the message stored at path (a store file) to every
// output. An error means the message must not be acknowledged: what the
// outputs before the failing one wrote is taken back, and the caller
// removes the store file, so that the client's retry leaves no second
// copy.
func (s *Set) Deliver(ctx context.Context, path string) error {
	data, err := store.ReadMessage(path)
	if err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	return s.DeliverData(ctx, path, data)
}

// DeliverData is Deliver of a message already read: data is the plain
// form of the store file at path (store.ReadMessage, store.ReadID).
func (s *Set) DeliverData(ctx context.Context, path string, data []byte) error {
	env, body, err := store.Read(data)
	if err != nil {
		return fmt.Errorf("outputs: %s: %w", path, err)
	}
	received := receivedLine(data)
	// The files written so far, removed again if a later output fails.
	// A pickup service or a Maildir reader may have taken one already:
	// that copy cannot be called back, the rest is.
	var written []string
	undo := func() {
		for _, f := range written {
			if os.Remove(f) == nil {
				safeio.SyncDir(filepath.Dir(f))
			}
		}
	}
	if s.cfg.PickupPath != "" {
		f, err := s.pickup(env, received, body)
		if err != nil {
			return err
		}
		written = append(written, f)
	}
	if s.cfg.MaildirPath != "" {
		fs, err := s.maildir(env, received, body)
		written = append(written, fs...)
		if err != nil {
			undo()
			return err
		}
	}
	// The relay comes last: a spooled message is on its way, and there is
	// nothing after it that could fail and need it taken back.
	if s.cfg.Relay != nil {
		if err := s.cfg.Relay.Spool(env, received, body); err != nil {
			undo()
			return err
		}
	}
	if !s.cfg.KeepEML {
		// Every output has the message now. A store file that cannot be
		// removed is an extra copy, not a reason to refuse a message the
		// outputs (and the relay) already took.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logger().Warn("store file not removed after the outputs took the message", "file", path, "err", err)
		}
	}
	return nil
}

func (s *Set) logger() *slog.Logger {
	if s.cfg.Logger != nil {
		return s.cfg.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// receivedLine returns the Received header fakesmtp wrote into the store
// file, so that the hand-off keeps the trace (RFC 5321 4.4); "" if absent.
func receivedLine(data []byte) string {
	s := string(data)
	i := strings.Index(s, "\r\nReceived: ")
	if i < 0 {
		return ""
	}
	rest := s[i+2:]
	j := strings.Index(rest, "\r\n")
	if j < 0 {
		return ""
	}
	return rest[:j+2]
}

// staleAfter is how old a file in the pickup's temporary folder must be
// to be taken for a leftover of a crash: a pickup file is written and
// renamed within a session's DATA, and another fakesmtp sharing the
// pickup folder may be writing one right now.
const staleAfter = time.Hour

// clearStale removes the files in dir older than staleAfter: pickup files
// whose writer crashed before the rename. Their messages were never
// acknowledged (the 250 comes after the rename), so nothing is lost.
func clearStale(dir string, now time.Time, logger *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) < staleAfter {
			continue
		}
		if os.Remove(filepath.Join(dir, e.Name())) == nil && logger != nil {
			logger.Info("removed a pickup file left unfinished by an earlier run", "file", filepath.Join(dir, e.Name()))
		}
	}
}

// pickupTmp is where pickup files are written before the rename: beside
// the pickup folder, on the same file system, never inside it (a pickup
// service takes every file it finds there).
func pickupTmp(dir string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(dir)), "."+filepath.Base(filepath.Clean(dir))+".fakesmtp-tmp")
}

// PickupContent is a message in the IIS SMTP / Exchange pickup format:
// "X-Sender:" and one "X-Receiver:" per recipient, bare addresses (the
// null sender written "<>"), at the very top, then the message.
func PickupContent(env *store.Envelope, received string, body []byte) []byte {
	var b strings.Builder
	from := env.MailFrom
	if from == "" {
		from = "<>"
	}
	b.WriteString("X-Sender: " + store.Sanitize(from) + "\r\n")
	for _, r := range env.RcptTo {
		b.WriteString("X-Receiver: " + store.Sanitize(r) + "\r\n")
	}
	b.WriteString(received)
	return append([]byte(b.String()), body...)
}

// pickup writes the pickup file and returns its path.
func (s *Set) pickup(env *store.Envelope, received string, body []byte) (string, error) {
	data := PickupContent(env, received, body)
	tmp := filepath.Join(pickupTmp(s.cfg.PickupPath), env.ID+".eml")
	final := filepath.Join(s.cfg.PickupPath, env.ID+".eml")
	if err := safeio.WriteNew(tmp, data, 0o644); err != nil {
		return "", fmt.Errorf("outputs: pickup: %w", err)
	}
	if err := safeio.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("outputs: pickup: %w", err)
	}
	if err := safeio.SyncDir(s.cfg.PickupPath); err != nil {
		os.Remove(final)
		return "", fmt.Errorf("outputs: pickup: %w", err)
	}
	return final, nil
}
