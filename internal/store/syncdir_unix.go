//go:build !windows

package store

import "os"

// syncDir flushes a folder's entries (POSIX: fsync on the directory makes
// a rename durable).
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
