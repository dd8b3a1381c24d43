package greylist

// The state file is an append-only journal of text lines, so that a state
// change costs one write(2) of one line and a crash of the process loses
// nothing the kernel has been given:
//
//	# fakesmtp greylist journal v1
//	pending	2025-03-01T10:00:00Z	-	192.0.2.0/24	"alice@example.org"	"bob@example.net"
//	passed	2025-03-01T10:00:00Z	2025-03-01T10:07:12.5Z	192.0.2.0/24	"alice@example.org"	"bob@example.net"
//	pending	2025-03-01T11:00:00Z	-	2001:db8::/64	""	"postmaster@example.net"
//
// The first line names the format. Each further line is one triplet's
// whole state after a change, as six tab-separated fields: the state
// (pending or passed), the start of its round (RFC 3339, UTC), the latest
// pass ("-" while pending), the client network, and the sender and
// recipient as Go-quoted strings (strconv.Quote), so the null sender is a
// visible "" and no address can break the line. The last line for a
// triplet wins. Times rather than deadlines are stored, so a changed
// Delay, Expire or PassTTL applies to the saved state at the next start,
// as postgrey's does.
//
// Entries are never deleted by a line: an expired one is dropped by the
// first replay or compaction that finds it expired. Compaction writes
// the live entries to <path>.tmp, fsyncs it, renames it over the journal
// and fsyncs the folder, so the file is always either the old journal or
// the new one. It runs when the journal holds more than twice as many
// lines as there are entries (plus compactSlack), and at Close.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fakesmtp/internal/safeio"
)

const (
	// header is the first line of every journal. The version lets a
	// later format be told apart instead of misread.
	header = "# fakesmtp greylist journal v1\n"

	// compactSlack is how many lines beyond twice the live entries the
	// journal may hold before it is rewritten. The factor two makes the
	// rewrite's cost per Check constant (a list of n entries is
	// rewritten after at least n+slack changes); the slack keeps a
	// small list that is renewed often from being rewritten (and
	// fsynced) every few Checks.
	compactSlack = 1000

	// tmpSuffix names the compaction's temporary file, next to the
	// journal so that the rename stays on one file system. A fixed
	// name means a crash mid-compaction leaves at most one stale file,
	// which the next compaction truncates.
	tmpSuffix = ".tmp"

	// filePerm: the journal holds correspondents' addresses and only
	// this process needs to read it.
	filePerm = 0o600

	// dirPerm is used when the journal's folder does not exist; it is
	// the store's folder mode, as the two usually share a parent.
	dirPerm = 0o755

	// ioBuffer is the replay's read size and the compaction's write
	// size; lines are rarely over 200 bytes, so this moves a few hundred
	// of them per system call.
	ioBuffer = 64 << 10
)

// State words in the journal.
const (
	statePending = "pending"
	statePassed  = "passed"
	noTime       = "-"
)

// journal is the open state file of a List.
type journal struct {
	f       *os.File // opened for appending; nil after a failed compaction left none
	lines   int      // record lines in f, the header excluded
	size    int64    // bytes of f that hold whole lines
	changes int      // state changes recorded since New, for retryAt
	retryAt int      // no compaction before changes reaches this (after a failure)
	lost    bool     // a change could not be appended: the next compaction must run
	buf     []byte   // the record being written, reused
}

// appendRecord appends the journal line for k in state e to b.
func appendRecord(b []byte, k key, e entry) []byte {
	if e.passed() {
		b = append(b, statePassed...)
	} else {
		b = append(b, statePending...)
	}
	b = append(b, '\t')
	b = e.first.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '\t')
	if e.passed() {
		b = e.last.UTC().AppendFormat(b, time.RFC3339Nano)
	} else {
		b = append(b, noTime...)
	}
	b = append(b, '\t')
	b = k.network.AppendTo(b) // the zero Prefix (no client address) is empty
	b = append(b, '\t')
	b = strconv.AppendQuote(b, k.sender)
	b = append(b, '\t')
	b = strconv.AppendQuote(b, k.recipient)
	return append(b, '\n')
}

// parseRecord parses one journal line without its newline.
func parseRecord(line string) (key, entry, error) {
	var k key
	var e entry
	f := strings.Split(line, "\t")
	if len(f) != 6 {
		return k, e, fmt.Errorf("%d fields, want 6", len(f))
	}
	var err error
	if e.first, err = time.Parse(time.RFC3339Nano, f[1]); err != nil {
		return k, e, fmt.Errorf("first seen: %w", err)
	}
	switch f[0] {
	case statePending:
		if f[2] != noTime {
			return k, e, fmt.Errorf("pending entry with a pass time %q", f[2])
		}
	case statePassed:
		if e.last, err = time.Parse(time.RFC3339Nano, f[2]); err != nil {
			return k, e, fmt.Errorf("last pass: %w", err)
		}
		if e.last.IsZero() {
			return k, e, errors.New("passed entry with a zero pass time")
		}
	default:
		return k, e, fmt.Errorf("unknown state %q", f[0])
	}
	if f[3] != "" {
		if k.network, err = netip.ParsePrefix(f[3]); err != nil {
			return k, e, err
		}
	}
	if k.sender, err = strconv.Unquote(f[4]); err != nil {
		return k, e, fmt.Errorf("sender %s: %w", f[4], err)
	}
	if k.recipient, err = strconv.Unquote(f[5]); err != nil {
		return k, e, fmt.Errorf("recipient %s: %w", f[5], err)
	}
	return k, e, nil
}

// replay reads a journal into entries. It returns the number of records
// and the length of the file's whole lines; an incomplete last line
// (no newline: the process died mid-write) is not counted in either, and
// partial is its length. A file with no complete line is empty (hasHeader
// false); any other problem is an error.
func replay(r io.Reader, entries map[key]entry) (records int, good int64, partial int, hasHeader bool, err error) {
	br := bufio.NewReaderSize(r, ioBuffer)
	var line []byte
	for n := 1; ; n++ {
		line = line[:0]
		var rerr error
		for {
			var chunk []byte
			chunk, rerr = br.ReadSlice('\n')
			line = append(line, chunk...)
			if rerr != bufio.ErrBufferFull {
				break
			}
		}
		if rerr == io.EOF {
			if n == 1 && !strings.HasPrefix(header, string(line)) {
				// Not a torn header: some other file, which must
				// not be truncated and overwritten.
				return records, good, 0, false, fmt.Errorf("not a greylist journal: it starts %q", truncate(line, 40))
			}
			return records, good, len(line), hasHeader, nil
		}
		if rerr != nil {
			return records, good, 0, hasHeader, rerr
		}
		good += int64(len(line))
		if n == 1 {
			if string(line) != header {
				return records, good, 0, false, fmt.Errorf("not a greylist journal: first line %q", truncate(bytes.TrimSpace(line), 40))
			}
			hasHeader = true
			continue
		}
		k, e, perr := parseRecord(string(line[:len(line)-1]))
		if perr != nil {
			return records, good, 0, hasHeader, fmt.Errorf("line %d: %w", n, perr)
		}
		entries[k] = e
		records++
	}
}

// load replays the journal at cfg.Path into l.entries and opens it for
// appending, creating it (by a compaction of the empty state) if missing.
func (l *List) load() error {
	path := l.cfg.Path
	l.j = &journal{}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, filePerm)
	if errors.Is(err, fs.ErrNotExist) {
		if err := l.compact(); err != nil {
			return err
		}
		l.logger.Info("greylist: created state file", "file", path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("greylist: open %s: %w", path, err)
	}
	records, good, partial, hasHeader, err := replay(f, l.entries)
	if err != nil {
		f.Close()
		return fmt.Errorf("greylist: read %s: %w", path, err)
	}
	if partial > 0 {
		// Cut the fragment off, or the next record would be glued
		// to it and the journal would be corrupt mid-file.
		l.logger.Warn("greylist: ignored an incomplete last line of the state file (the process stopped mid-write)",
			"file", path, "bytes", partial)
		if err := f.Truncate(good); err != nil {
			f.Close()
			return fmt.Errorf("greylist: truncate %s: %w", path, err)
		}
	}
	l.j.f, l.j.lines, l.j.size = f, records, good
	l.prune(l.clock())
	if !hasHeader || records > 2*len(l.entries)+compactSlack {
		if err := l.compact(); err != nil {
			if l.j.f != nil {
				l.j.f.Close()
			}
			return err
		}
	}
	pending, passed := l.countLocked()
	l.logger.Info("greylist: state loaded", "file", path, "pending", pending, "passed", passed, "records", records)
	return nil
}

// truncate shortens b to at most n bytes for an error message.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// countLocked is Len without the lock, for load.
func (l *List) countLocked() (pending, passed int) {
	for _, e := range l.entries {
		if e.passed() {
			passed++
		} else {
			pending++
		}
	}
	return pending, passed
}

// record appends k's new state e to the journal, with one write so that
// a crash leaves at most one incomplete line, and compacts if it is due.
// A failed write is undone (truncated), logged once until a compaction
// succeeds, and made up for by that compaction, which it forces.
func (l *List) record(k key, e entry) {
	j := l.j
	if j == nil {
		return
	}
	j.changes++
	if j.f == nil {
		j.lost = true
	} else {
		j.buf = appendRecord(j.buf[:0], k, e)
		if _, err := j.f.Write(j.buf); err != nil {
			if terr := j.f.Truncate(j.size); terr != nil {
				// Part of the line may be in the file: appending
				// after it would corrupt the journal mid-file, so
				// stop appending until a compaction replaces it.
				err = errors.Join(err, terr)
				j.f.Close()
				j.f = nil
			}
			if !j.lost {
				l.logger.Error("greylist: cannot write the state file; changes are kept in memory until the next compaction",
					"file", l.cfg.Path, "err", err)
			}
			j.lost = true
		} else {
			j.size += int64(len(j.buf))
			j.lines++
		}
	}
	l.maybeCompact()
}

// maybeCompact compacts the journal when it is mostly superseded lines or
// has missed a change, at most once per compactSlack changes after a
// failure so that a full disk does not mean a rewrite per Check.
func (l *List) maybeCompact() {
	j := l.j
	if j == nil || j.changes < j.retryAt {
		return
	}
	if !j.lost && j.lines <= 2*len(l.entries)+compactSlack {
		return
	}
	if err := l.compact(); err != nil {
		l.logger.Error("greylist: compaction failed", "file", l.cfg.Path, "err", err)
		j.retryAt = j.changes + compactSlack
	}
}

// compact rewrites the journal as the header and one line per live entry
// (dropping expired entries from memory too), then makes the new file the
// journal: fsync, rename over, fsync the folder. On error the old journal
// stays in use when it still can.
func (l *List) compact() error {
	j := l.j
	path := l.cfg.Path
	tmp := path + tmpSuffix
	now := l.clock()

	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, filePerm)
	if err != nil {
		return fmt.Errorf("greylist: compact %s: %w", path, err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("greylist: compact %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, ioBuffer)
	size, _ := w.WriteString(header)
	lines := 0
	for k, e := range l.entries {
		if l.expired(e, now) {
			delete(l.entries, k)
			continue
		}
		j.buf = appendRecord(j.buf[:0], k, e)
		n, _ := w.Write(j.buf) // a write error sticks; Flush reports it
		size += n
		lines++
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	// Windows cannot rename over a file that is open, so the old
	// journal is closed first and reopened if the rename fails.
	// (A nil j.f is a journal that must not be appended to: keep it so.)
	reopen := j.f != nil
	if reopen {
		j.f.Close() // every line was already handed to the kernel
		j.f = nil
	}
	if err := safeio.Rename(tmp, path); err != nil {
		if reopen {
			if old, oerr := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, filePerm); oerr == nil {
				j.f = old
			}
		}
		return fail(err)
	}
	j.f, j.lines, j.size, j.lost, j.retryAt = f, lines, int64(size), false, 0
	if err := safeio.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("greylist: compact %s: fsync folder: %w", path, err)
	}
	return nil
}
