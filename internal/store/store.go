// Package store keeps accepted messages as files: one <ID>.eml per message
// in one folder, written so that a file either is complete and durable or
// does not exist. It also reads those files back.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"fakesmtp/internal/id"
)

// tmpDir is the folder under the store path where messages are written
// before they are complete. It is on the same file system, so the final
// rename is atomic (rename(2)), and it is emptied at start: anything left
// there was never acknowledged with a 250.
const tmpDir = ".tmp"

// Ext is the extension of message files.
const Ext = ".eml"

// Config configures a Store.
type Config struct {
	// Path is the folder of message files. It is created if missing.
	Path string
	// Fsync makes Commit flush the file and the folder to stable storage
	// before it returns. Turn it off only for benchmarks and throwaway
	// labs: without it a 250 no longer means the message survives a crash.
	Fsync bool
}

// Store writes and reads message files.
type Store struct {
	cfg     Config
	tmp     string
	ops     *fsOps     // nil without Fsync
	commits *committer // nil without Fsync
	logger  *slog.Logger
	// bufs holds the buffers that a new file's headers and first bytes
	// are put together in, so that a busy server does not allocate one
	// per message.
	bufs sync.Pool
	// compactRead, when set (tests), runs in Compact after a plain file
	// was read and before its compact form is written: where a delete
	// can slip in.
	compactRead func(msgID string)
}

// maxPooledBuf is the largest buffer kept in Store.bufs: the common
// message (a few KiB, whole in CreateWith's first write) fits, and one
// huge message does not pin its buffer for good.
const maxPooledBuf = 64 << 10

// New prepares the folder at cfg.Path, checks that it is writable, and
// removes temporary files left by a crash.
func New(cfg Config, logger *slog.Logger) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("store: empty path")
	}
	tmp := filepath.Join(cfg.Path, tmpDir)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", tmp, err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", tmp, err)
	}
	for _, e := range entries {
		os.Remove(filepath.Join(tmp, e.Name()))
		logger.Info("removed incomplete message file left by an earlier run", "file", e.Name())
	}
	f, err := os.CreateTemp(tmp, "probe-*")
	if err != nil {
		return nil, fmt.Errorf("store: %s is not writable: %w", cfg.Path, err)
	}
	f.Close()
	os.Remove(f.Name())
	s := openStore(cfg, logger)
	if cfg.Fsync {
		if s.ops, err = newOps(cfg.Path); err != nil {
			return nil, err
		}
		s.commits = &committer{ops: s.ops}
	}
	return s, nil
}

// Open returns the Store at path for a program that only reads it,
// possibly beside a running server (`fakesmtp export`). Unlike New it
// leaves .tmp alone, where the server keeps the messages it is still
// receiving: removing them would make the server refuse those messages.
// Use List, Locate and the readers; not Create or Put.
func Open(path string, logger *slog.Logger) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("store: %s is not a folder", path)
	}
	return openStore(Config{Path: path}, logger), nil
}

// openStore returns the Store of cfg; New and Open check the folder first.
func openStore(cfg Config, logger *slog.Logger) *Store {
	s := &Store{cfg: cfg, tmp: filepath.Join(cfg.Path, tmpDir), logger: logger}
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return s
}

// Path returns the folder of message files.
func (s *Store) Path() string { return s.cfg.Path }

// FilePath returns the path of the message file with the given ID.
func (s *Store) FilePath(msgID string) (string, error) {
	if !id.Valid(msgID) {
		return "", fmt.Errorf("store: invalid message id %q", msgID)
	}
	return filepath.Join(s.cfg.Path, msgID+Ext), nil
}

// Writer receives one message. Write the client's bytes to it, then call
// Commit to make the file durable, or Abort to drop it. Abort after
// Commit does nothing, so `defer w.Abort()` is always safe.
type Writer struct {
	s     *Store
	f     *os.File
	final string
	n     int64
	// done is set once the file is no longer the Writer's: committed,
	// aborted, or handed to the committer (which removes it on failure).
	done bool
}

// Create starts a message file for env and writes its headers.
func (s *Store) Create(ctx context.Context, env *Envelope) (*Writer, error) {
	return s.CreateWith(ctx, env, nil)
}

// CreateWith is Create followed by a Write of first, in a single write
// system call: most messages are written whole this way.
func (s *Store) CreateWith(ctx context.Context, env *Envelope, first []byte) (*Writer, error) {
	final, err := s.FilePath(env.ID)
	if err != nil {
		return nil, err
	}
	// The ID is unique, so it names the temporary file too; O_EXCL still
	// guards against a clash.
	f, err := os.OpenFile(filepath.Join(s.tmp, env.ID), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: create %s: %w", env.ID, err)
	}
	w := &Writer{s: s, f: f, final: final}
	bp := s.bufs.Get().(*[]byte)
	buf := append(env.AppendHeaders((*bp)[:0]), first...)
	_, err = f.Write(buf)
	if cap(buf) <= maxPooledBuf {
		*bp = buf
		s.bufs.Put(bp)
	}
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("store: write %s: %w", env.ID, err)
	}
	w.n = int64(len(first))
	return w, nil
}

// Write appends message bytes.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("store: write %s: %w", filepath.Base(w.final), err)
	}
	return n, nil
}

// Size returns the number of message bytes written so far.
func (w *Writer) Size() int64 { return w.n }

// Commit makes the message durable and gives it its final name. Only
// after Commit returns nil may the client be told 250: the file's content
// and its name <ID>.eml are then on stable storage. On error nothing is
// left behind, neither the temporary file nor the final name.
//
// Messages committed at the same time share their flushes (see
// committer): the data of the whole batch is flushed first, then each
// file is renamed from .tmp into the store folder, then the folder is
// flushed. The order is the store's promise: a rename made before the
// data is on the disk could reach the disk first, and a crash would then
// leave an empty or partial file under a final name.
//
// ctx can end the wait only while the message is still queued for a
// batch: see committer.commit.
func (w *Writer) Commit(ctx context.Context) error {
	if w.done {
		return errors.New("store: commit of a finished writer")
	}
	if err := ctx.Err(); err != nil {
		w.Abort()
		return err
	}
	name := filepath.Base(w.final)
	if !w.s.cfg.Fsync {
		w.done = true
		tmp := w.f.Name()
		if err := w.f.Close(); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("store: close %s: %w", name, err)
		}
		if err := renameNoReplace(tmp, w.final); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("store: rename %s: %w", name, err)
		}
		return nil
	}
	if prepare := w.s.ops.prepare; prepare != nil {
		if err := prepare(w.f); err != nil {
			w.Abort()
			return fmt.Errorf("store: fsync %s: %w", name, err)
		}
	}
	w.done = true
	return w.s.commits.commit(ctx, w.f, w.final)
}

// Abort drops an uncommitted message file.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	discard(w.f)
}

// Put stores a whole message from r in one call; it is Create, a copy
// and Commit, for tools and tests.
func (s *Store) Put(ctx context.Context, env *Envelope, r io.Reader) error {
	w, err := s.Create(ctx, env)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return w.Commit(ctx)
}

// List returns the IDs of the stored messages, oldest first (IDs sort by
// time).
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", s.cfg.Path, err)
	}
	var ids []string
	for _, e := range entries {
		if msgID := MessageID(e.Name()); msgID != "" && e.Type().IsRegular() {
			// A plain file and its compact form may both exist for a
			// moment (see Compact); the plain one sorts first.
			if n := len(ids); n > 0 && ids[n-1] == msgID {
				continue
			}
			ids = append(ids, msgID)
		}
	}
	return ids, nil
}
