//go:build !linux

package store

// newOps returns the portable flush (portableOps): without a
// file-system-wide flush there is no data flush to share, and each
// message file gets its own fsync.
func newOps(path string) (*fsOps, error) {
	return portableOps(path), nil
}

// renameNoReplace renames without replacing an existing file; see
// renameIfAbsent.
func renameNoReplace(from, to string) error { return renameIfAbsent(from, to) }
