// Package index keeps a searchable SQLite index of the message files in the
// store and a record of SMTP sessions, for the web UI, the API and the
// command line.
//
// The message files are the source of truth: the index is a cache that
// can be dropped and rebuilt from them (see Indexer.Reconcile), except
// for the marks a reader adds (read, tags). It lives in one SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode, so that readers never wait
// for the writer: one connection writes, a small pool reads.
//
// The layout (migrations/0001_init.sql) is shaped by the two questions
// the web UI asks on every view, "the newest 50 of these" and "how many,
// how many unread": a narrow table of the searchable columns, keyed by
// seq, the arrival time in microseconds (milliseconds until
// migrations/0002_seq_micro.sql, see seqBase), so that rowid order is
// arrival order everywhere, the FTS5 table included; the displayed
// columns apart; one contentless FTS5 table for the words of subject,
// addresses and body; and the totals kept by triggers. bench/indexbench
// measures it.
//
// Searches use the query language described at ParseQuery.
package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned for a message or session that is not in the
// index.
var ErrNotFound = errors.New("index: not found")

// busyTimeoutMS is how long a connection waits for a lock held by another
// process (a `fakesmtp reindex` next to a running server) before it
// fails with SQLITE_BUSY. Within one process the single writer connection
// never contends with itself; 5 s covers a large batch commit elsewhere.
const busyTimeoutMS = 5000

// readers is the size of the read pool. WAL readers run in parallel with
// each other and with the writer; more connections than cores buys
// nothing on the 2-core target, and a few spare ones keep a slow search
// from queueing a page view behind it.
const readers = 4

// readerIdle is how long an unused reader connection, and its page
// cache, is kept: long enough to serve a burst of page views warm, short
// enough that an idle server gives the memory back.
const readerIdle = 5 * time.Minute

// cacheKiB is each connection's page cache, so up to (1 + readers) × 16
// MiB when all are busy. The default (2 MiB) holds less than the hot part
// of a 100,000-message index (the narrow table alone is 10 MiB); with
// 16 MiB a scan of it took 23 ms instead of 54 (memory-mapped I/O did
// not help).
const cacheKiB = 16 * 1024

// Index is the message and session index. Its methods are safe for
// concurrent use.
type Index struct {
	w      *sql.DB // exactly one connection: SQLite allows one writer
	r      *sql.DB // read-only pool
	logger *slog.Logger
	events *Broker[Event]
	// run is the run of seq values the last put extended, so that a
	// burst of messages with the same ReceivedAt does not walk it once
	// per message (see putStmts.freeSeq); nil when unknown. Only write
	// transactions use it, and there is one at a time (w has one
	// connection).
	run atomic.Pointer[seqRun]
}

// Open opens (creating if needed) the index database at path and brings
// its schema up to date. It refuses a database written by a newer
// fakesmtp (ErrSchemaTooNew) rather than guess at its layout.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Index, error) {
	if path == "" {
		return nil, errors.New("index: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	w, err := openDB(abs, false)
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w, logger); err != nil {
		w.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	r, err := openDB(abs, true)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxIdleTime(readerIdle)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	return &Index{w: w, r: r, logger: logger, events: NewBroker[Event](defaultEventBuffer)}, nil
}

// openDB opens a database/sql handle on the file with the connection
// settings every connection needs. The path goes in a file: URI, so that
// no character of it (a '?' or '#') is taken for a parameter.
func openDB(abs string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	// The index is a cache of the files: after a power loss the last
	// commits may be gone, and Reconcile puts them back. NORMAL in WAL
	// mode still survives a crash of the process, and spares an fsync
	// per commit.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// BEGIN IMMEDIATE takes the write lock at the start, so a
		// transaction never fails half-way on a lock upgrade.
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return sql.Open("sqlite", u.String())
}

// Close closes the database. Subscribers' channels are closed.
func (ix *Index) Close() error {
	ix.events.Close()
	// Leave the WAL folded into the main file, so that a copied index
	// is complete on its own.
	if _, err := ix.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		ix.logger.Warn("index checkpoint at close failed", "err", err)
	}
	err := errors.Join(ix.r.Close(), ix.w.Close())
	if err != nil {
		return fmt.Errorf("index: close: %w", err)
	}
	return nil
}

// Subscribe returns a channel of the changes committed to the index from
// now on, and a function that ends the subscription. See Broker.
func (ix *Index) Subscribe() (<-chan Event, func()) { return ix.events.Subscribe() }

// write runs fn in one write transaction and publishes events only
// after the commit, so that no subscriber hears of a change that was
// rolled back.
func (ix *Index) write(ctx context.Context, fn func(tx *sql.Tx) ([]Event, error)) error {
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	evs, err := fn(tx)
	if err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for _, e := range evs {
		ix.events.Publish(e)
	}
	return nil
}
