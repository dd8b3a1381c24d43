package store

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// trustsSyncfs reports whether one syncfs(2) is trusted to flush a batch
// on a file system of type t (statfs f_type, compared in 32 bits, the
// width of the magic numbers and of f_type on 32-bit systems): local disk
// file systems whose sync_fs ends in a journal commit or a cache flush.
// Anything else (NFS, FUSE, 9p, overlays, ...) gets the per-file fsync
// that every file system implements.
func trustsSyncfs(t uint32) bool {
	switch t {
	case unix.EXT4_SUPER_MAGIC, // also ext2 and ext3
		unix.XFS_SUPER_MAGIC,
		unix.BTRFS_SUPER_MAGIC,
		unix.F2FS_SUPER_MAGIC,
		unix.TMPFS_MAGIC:
		return true
	}
	return false
}

// newOps returns Linux's batch flush: syncfs(2) on the store's file
// system once per batch, instead of an fsync per message.
//
// Each fsync of a new file on ext4 without a journal writes the file's
// data, its inode and its folder's entry, one synchronous write after the
// other, then flushes the device's write cache: twenty sessions' fsyncs
// are twenty cache flushes, and the kernel merges none of them. syncfs
// submits all dirty data of the file system together, then all dirty
// metadata blocks together, then flushes the cache once: the cost of one
// flush, shared by the whole batch. With a journal (ext4, xfs), it is one
// journal commit.
//
// syncfs flushes everything on that file system, not only messages: a
// batch waits for other programs' dirty data on it too. A spool on a file
// system of its own keeps that cost out.
//
// The folder is held open for the Store's life. syncfs reports a write
// error that happened since its descriptor was opened, so a descriptor
// opened per batch would miss an error of a background writeback that
// came before it.
func newOps(path string) (*fsOps, error) {
	dir, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(dir.Fd()), &st); err != nil || !trustsSyncfs(uint32(st.Type)) {
		dir.Close()
		return portableOps(path), nil
	}
	// A kernel or seccomp filter without syncfs: fall back now rather
	// than fail every batch.
	if err := unix.Syncfs(int(dir.Fd())); errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		dir.Close()
		return portableOps(path), nil
	}
	return &fsOps{
		flushAll: func() error {
			if err := unix.Syncfs(int(dir.Fd())); err != nil {
				return err
			}
			// syncfs issues its cache flush before it has waited for the
			// last metadata writes (fs/sync.c: sync_fs, then
			// sync_blockdev): without a journal, an inode's new size and
			// block map may still sit in the device's volatile cache,
			// where the renames to come could overtake them. The
			// folder's fsync has nothing left to write and is just a
			// cache flush after all of them.
			return dir.Sync()
		},
		// An fsync writes one file's data, inode and folder entry and
		// flushes the cache once: cheaper than syncfs when the batch is
		// that one file, and in the same order.
		flushOne: (*os.File).Sync,
		check:    writebackError,
		rename:   renameNoReplace,
		syncDir:  dir.Sync,
	}, nil
}

// writebackError waits for f's data to be written and returns any write
// error on f since it was opened: sync_file_range with only
// SYNC_FILE_RANGE_WAIT_AFTER checks the descriptor's error sequence
// (file_fdatawait_range) and writes and flushes nothing.
func writebackError(f *os.File) error {
	return unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WAIT_AFTER)
}

// renameNoReplace renames without replacing: an existing file of the same
// name (an ID clash) is an error rather than a lost message. renameat2
// does it in one system call, where os.Rename first looks the target up
// (Lstat, to refuse a folder): a second lookup in a folder of many
// thousand names. File systems without RENAME_NOREPLACE get the lookup.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return renameIfAbsent(from, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
