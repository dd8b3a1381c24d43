//go:build !windows

package greylist

import "os"

// syncDir flushes a folder's entries: on POSIX systems a rename is only
// durable once the directory itself is fsynced.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
