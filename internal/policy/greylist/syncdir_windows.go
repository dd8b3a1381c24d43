//go:build windows

package greylist

// syncDir is a no-op on Windows: NTFS cannot fsync a directory handle
// opened this way, and its metadata journal makes the rename durable.
func syncDir(path string) error { return nil }
