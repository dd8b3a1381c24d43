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
// output. An error means the message must not be acknowledged; the
// caller then removes the store file too, so a retry leaves no copy.
func (s *Set) Deliver(ctx context.Context, path string) error {
	data, err := store.ReadMessage(path)
	if err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	env, body, err := store.Read(data)
	if err != nil {
		return fmt.Errorf("outputs: %s: %w", path, err)
	}
	received := receivedLine(data)
	if s.cfg.PickupPath != "" {
		if err := s.pickup(env, received, body); err != nil {
			return err
		}
	}
	if s.cfg.MaildirPath != "" {
		if err := s.maildir(env, received, body); err != nil {
			return err
		}
	}
	if s.cfg.Relay != nil {
		if err := s.cfg.Relay.Spool(env, received, body); err != nil {
			return err
		}
	}
	if !s.cfg.KeepEML {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("outputs: remove %s: %w", path, err)
		}
	}
	return nil
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

func (s *Set) pickup(env *store.Envelope, received string, body []byte) error {
	data := PickupContent(env, received, body)
	tmp := filepath.Join(pickupTmp(s.cfg.PickupPath), env.ID+".eml")
	if err := safeio.WriteNew(tmp, data, 0o644); err != nil {
		return fmt.Errorf("outputs: pickup: %w", err)
	}
	if err := safeio.Rename(tmp, filepath.Join(s.cfg.PickupPath, env.ID+".eml")); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("outputs: pickup: %w", err)
	}
	return safeio.SyncDir(s.cfg.PickupPath)
}
