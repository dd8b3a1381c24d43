// Package safeio writes files so that a crash leaves either the old or
// the new content, never a mix (chasquid's safeio): a temporary file in
// the same folder, fsync, rename over the target, fsync of the folder.
package safeio

import (
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// WriteFile replaces name with data atomically and durably.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// renameRetry is how long Rename keeps trying on Windows.
const (
	renameTries = 50
	renamePause = 20 * time.Millisecond
)

// Rename is os.Rename, retried briefly on Windows, where replacing a file
// fails while another process holds it open without FILE_SHARE_DELETE (a
// virus scanner, an indexer): such holds last milliseconds. Elsewhere
// rename(2) replaces open files.
func Rename(from, to string) error {
	err := os.Rename(from, to)
	for i := 0; err != nil && runtime.GOOS == "windows" && i < renameTries; i++ {
		time.Sleep(renamePause)
		err = os.Rename(from, to)
	}
	return err
}

// SyncDir flushes a folder's entries, which makes a rename in it durable
// (POSIX: fsync on the directory). Windows cannot flush a directory
// handle this way, and NTFS journals the rename, so it does nothing there.
func SyncDir(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// WriteNew writes data to a new file (truncating any leftover of an
// interrupted attempt) and flushes it; on failure nothing is left. It is
// the first half of write-then-rename: the caller renames the file into
// place and flushes the folder.
func WriteNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}
