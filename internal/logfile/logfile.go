// Package logfile provides the io.Writers that fakesmtp's log/slog
// handlers write to: a Writer that keeps one log file per calendar month
// and reuses it a year later, and a LockedWriter that lets several
// handlers share one stream (such as os.Stderr) without interleaving.
//
// The monthly rotation reproduces the 2012 C# FakeSMTP tool. It named its
// log files after the month only ("fakesmtp-11.log"), so when a month
// came round again a year later the old file was overwritten. That caps
// the log at twelve files per prefix with no pruning job and no
// configuration, which is what people running the original expect to
// find on disk.
package logfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The os calls below return *os.PathError, whose message already names
// the operation and the path ("open /var/log/x-11.log: permission
// denied"), so their errors are wrapped with the package prefix alone.

const (
	// dirPerm is used when the log directory does not exist yet. Log
	// files hold addresses and client IPs but no message bodies or
	// secrets (AUTH is never logged), so other local users may read
	// them, as with the original's files.
	dirPerm = 0o755

	// filePerm is the mode of new log files, readable by all for the
	// same reason as dirPerm; the process umask can narrow it further.
	filePerm = 0o644

	// fileSuffix ends every log file name. Keeping ".log" means log
	// viewers and the original's users recognise the files.
	fileSuffix = ".log"
)

// Writer is an io.WriteCloser that appends to <dir>/<prefix>-MM.log,
// where MM is the two-digit month of the clock at the time of each Write.
//
// Each Write goes to the file whole, with a single write to the file
// under a mutex, so a Writer is safe for concurrent use and the records
// of log/slog handlers (which call Write once per record) never
// interleave mid-line, even when several handlers share one Writer.
//
// When the month changes, the next Write switches files. A month's file
// last modified before the month began, that is left over from the same
// month of an earlier year, is truncated when it is opened, so at most
// twelve files of each prefix ever exist; a file already written this
// month is appended to, so a restart keeps the month's earlier lines.
type Writer struct {
	dir    string
	prefix string
	now    func() time.Time

	mu sync.Mutex
	// f is the open file for the year and month below; nil only after
	// Close.
	f     *os.File
	path  string
	year  int
	month time.Month
}

// New returns a Writer for files named <prefix>-MM.log in dir, creating
// dir if it is missing. It opens the current month's file straight away,
// so that an unwritable log path is reported when the program starts
// rather than lost on the first log record.
//
// now is the clock that picks the month; nil means time.Now. Months are
// taken in the location of the times it returns. The file's modification
// time, which the operating system sets from the real clock, is compared
// with now() to decide whether an existing file is stale, so tests that
// inject a clock set modification times explicitly. now is called under
// the Writer's lock and must not call back into the Writer.
func New(dir, prefix string, now func() time.Time) (*Writer, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("logfile: %w", err)
	}
	w := &Writer{dir: dir, prefix: prefix, now: now}
	if err := w.rotate(now()); err != nil {
		return nil, err
	}
	return w, nil
}

// checkPrefix rejects prefixes that would put the file outside dir or
// give it a name that cannot be told apart from another prefix's files.
func checkPrefix(prefix string) error {
	switch {
	case prefix == "":
		return errors.New("logfile: empty prefix")
	case strings.ContainsRune(prefix, '/') || strings.ContainsRune(prefix, filepath.Separator):
		return fmt.Errorf("logfile: prefix %q contains a path separator", prefix)
	case prefix == "." || prefix == "..":
		return fmt.Errorf("logfile: invalid prefix %q", prefix)
	}
	return nil
}

// Write writes p to the file for the current month, switching files
// first if the month has changed since the last Write. p is written with
// one call to the file, under the Writer's mutex. If fewer than len(p)
// bytes are written, Write returns an error.
//
// If the new month's file cannot be opened, Write returns the error and
// keeps the previous file open, so the next Write tries the switch again.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	// Read the clock under the lock so that Writes see months in lock
	// order. Read before it, a record stamped 23:59:59 on 31 October
	// could get the lock after another had switched to November, and
	// would switch back to October's file.
	t := w.now()

	if w.f == nil {
		return 0, fmt.Errorf("logfile: write %s: %w", w.path, os.ErrClosed)
	}
	if y, m, _ := t.Date(); y != w.year || m != w.month {
		if err := w.rotate(t); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("logfile: %w", err)
	}
	if n < len(p) {
		// os.File already reports short writes as errors; this guard keeps
		// the io.Writer contract even if that ever changes.
		return n, fmt.Errorf("logfile: write %s: %w", w.path, io.ErrShortWrite)
	}
	return n, nil
}

// rotate opens the file for t's month, truncating it if it was last
// written before that month began, and makes it the current file,
// closing the previous one. The caller holds w.mu (or, in New, is the
// only user of w).
func (w *Writer) rotate(t time.Time) error {
	year, month, _ := t.Date()
	path := filepath.Join(w.dir, fmt.Sprintf("%s-%02d%s", w.prefix, int(month), fileSuffix))

	// Open first and look at the opened file, rather than Stat then open,
	// so the decision and the file are the same inode. O_APPEND keeps
	// each Write at the end even after the Truncate below, and stops two
	// processes sharing the file from overwriting each other's lines.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, filePerm)
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logfile: %w", err)
	}
	// Truncate only a file last written before this month began: the
	// month has come round again and this is last year's (or an older)
	// file, which the original overwrote. A modification time later than
	// now means the clock was stepped back (NTP, a wrong clock fixed), and
	// those are recent lines, so they are kept; the next Write sets a
	// correct time and the file is judged normally a year later.
	monthStart := time.Date(year, month, 1, 0, 0, 0, 0, t.Location())
	if fi.Size() > 0 && fi.ModTime().Before(monthStart) {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return fmt.Errorf("logfile: %w", err)
		}
	}

	if w.f != nil {
		// The old month's lines are all written by now; an error closing
		// it cannot be acted on and must not stop the new month's logs.
		w.f.Close()
	}
	w.f, w.path, w.year, w.month = f, path, year, month
	return nil
}

// Path returns the path of the current month's file: the one the last
// Write (or New) used.
func (w *Writer) Path() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.path
}

// Close closes the current file. Writes after Close fail with an error
// wrapping os.ErrClosed; closing again does nothing and returns nil, so a
// deferred Close may follow an explicit one.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	return nil
}
