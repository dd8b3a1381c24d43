package traps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"fakesmtp/internal/safeio"
)

// stateVersion is the state file's format version; a newer file is
// refused rather than half-understood and then overwritten.
const stateVersion = 1

// stateFile is the JSON state file:
//
//	{"version": 1, "updated": "2026-01-02T15:04:05Z",
//	 "entries": [{"ip": "192.0.2.1", "first": "...", "last": "...", "hits": 2,
//	              "rcpt": "trap@example.test", "reason": "trap mailbox"}]}
//
// Expiry is not stored: an entry is live until last + TTL, with the TTL of
// the process reading it, so changing trap_ttl applies to existing entries.
type stateFile struct {
	Version int       `json:"version"`
	Updated time.Time `json:"updated"` // last change; the DNS SOA serial
	Entries []Entry   `json:"entries"`
}

// fileStamp identifies one version of the state file. Every write renames
// a new file into place, so the file identity (inode, or volume and file
// index on Windows) changes on each write even where the file system's
// modification times are coarse; size and time are compared too.
type fileStamp struct {
	info fs.FileInfo // nil: no file
}

// same reports whether fi is the version s was taken from.
func (s fileStamp) same(fi fs.FileInfo) bool {
	if s.info == nil || fi == nil {
		return s.info == nil && fi == nil
	}
	return os.SameFile(s.info, fi) && s.info.ModTime().Equal(fi.ModTime()) && s.info.Size() == fi.Size()
}

// update is the one read-modify-write cycle for the state: under this
// process's mutex and the cross-process file lock it reads the state file
// (another process may have changed it), lets fn edit the entries, writes
// the file back if fn reports a change, installs the result in memory and
// brings the published files up to date.
func (t *Traps) update(fn func(map[netip.Addr]Entry) bool) error {
	t.opMu.Lock()
	defer t.opMu.Unlock()
	path := t.cfg.StatePath
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("traps: state folder: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return fmt.Errorf("traps: lock %s: %w", path, err)
	}
	defer unlock()

	st, stamp, err := readState(path)
	if err != nil {
		return err
	}
	m := make(map[netip.Addr]Entry, len(st.Entries))
	for _, e := range st.Entries {
		m[e.IP] = e
	}
	now := t.now()
	if fn(m) {
		st = stateFile{Version: stateVersion, Updated: now.UTC(), Entries: make([]Entry, 0, len(m))}
		for _, e := range m {
			st.Entries = append(st.Entries, e)
		}
		sortEntries(st.Entries)
		data, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return fmt.Errorf("traps: encode state: %w", err)
		}
		if err := safeio.WriteFile(path, append(data, '\n'), 0o600); err != nil {
			return fmt.Errorf("traps: write state: %w", err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("traps: write state: %w", err)
		}
		stamp = fileStamp{fi}
	}
	t.mu.Lock()
	t.entries, t.updated, t.file, t.lastCheck = m, st.Updated, stamp, now
	t.mu.Unlock()
	return t.publish(m, now)
}

// refresh re-reads the state file if another process replaced it since
// this one last read or wrote it. It looks at most once per
// StateCheckInterval of the injected clock, so a busy server does not
// stat the file per connection. A failed reload keeps the list in memory.
func (t *Traps) refresh() {
	now := t.now()
	t.mu.Lock()
	if since := now.Sub(t.lastCheck); !t.lastCheck.IsZero() && since >= 0 && since < StateCheckInterval {
		t.mu.Unlock()
		return
	}
	t.lastCheck = now
	stamp := t.file
	t.mu.Unlock()

	fi, err := os.Stat(t.cfg.StatePath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.logger.Warn("trap state check failed", "path", t.cfg.StatePath, "err", err)
		return
	}
	if stamp.same(fi) {
		return
	}
	if err := t.update(func(map[netip.Addr]Entry) bool { return false }); err != nil {
		t.logger.Error("trap state reload failed; keeping the list in memory", "err", err)
		return
	}
	t.mu.RLock()
	n := len(t.entries)
	t.mu.RUnlock()
	t.logger.Info("trap state reloaded", "path", t.cfg.StatePath, "entries", n)
}

// updatedAt returns when the state last changed (zero if never).
func (t *Traps) updatedAt() time.Time {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.updated
}

// readState reads and checks the state file. A missing file is an empty
// state with a nil stamp. The stamp is taken from the open file, so it
// always describes the bytes that were read.
func readState(path string) (stateFile, fileStamp, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stateFile{Version: stateVersion}, fileStamp{}, nil
	}
	if err != nil {
		return stateFile{}, fileStamp{}, fmt.Errorf("traps: read state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return stateFile{}, fileStamp{}, fmt.Errorf("traps: read state: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return stateFile{}, fileStamp{}, fmt.Errorf("traps: read state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return stateFile{}, fileStamp{}, fmt.Errorf("traps: state %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return stateFile{}, fileStamp{}, fmt.Errorf("traps: state %s: version %d, this program knows %d", path, st.Version, stateVersion)
	}
	for i, e := range st.Entries {
		ip, err := clientIP(e.IP)
		if err != nil {
			return stateFile{}, fileStamp{}, fmt.Errorf("traps: state %s: entry %d: %w", path, i+1, err)
		}
		st.Entries[i].IP = ip
		st.Entries[i].Reason = cleanReason(e.Reason)
	}
	return st, fileStamp{fi}, nil
}
