//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package traps

// lockFile uses the O_EXCL lock file where flock(2) is missing (Windows,
// Solaris, Plan 9, ...).
func lockFile(name string) (unlock func(), err error) { return lockExcl(name) }
