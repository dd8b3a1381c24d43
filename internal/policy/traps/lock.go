package traps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// The state file is edited by the server and by "fakesmtp traps" in
// another process; each read-modify-write cycle holds a lock on
// StatePath+".lock". Cycles take milliseconds (a small JSON file and up to
// three list files), so waiting is short and a long wait means trouble.
const (
	// lockTimeout is how long a writer waits for the lock before giving
	// up with an error, rather than hanging an SMTP session.
	lockTimeout = 10 * time.Second
	// lockPoll is the retry step while the lock is busy.
	lockPoll = 10 * time.Millisecond
	// staleLockAge is when an O_EXCL lock file is taken to be left over
	// by a process that died holding it: no cycle lasts anywhere near
	// this long.
	staleLockAge = 30 * time.Second
)

// lockExcl is the portable lock, for systems without flock(2): the lock
// is the existence of name, created with O_EXCL (atomic on every local
// file system) and removed to release it. A lock file older than
// staleLockAge is removed as left over by a crashed holder. The lock
// works across processes; within one, Traps.opMu serialises.
func lockExcl(name string) (unlock func(), err error) {
	deadline := time.Now().Add(lockTimeout)
	for {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid()) // for whoever finds it stale
			f.Close()
			return func() { os.Remove(name) }, nil
		}
		// Windows refuses to open a file whose deletion is pending with
		// "access denied": the holder is just releasing it.
		busy := errors.Is(err, fs.ErrExist) || (runtime.GOOS == "windows" && errors.Is(err, fs.ErrPermission))
		if !busy {
			return nil, err
		}
		if fi, err := os.Stat(name); err == nil && time.Since(fi.ModTime()) > staleLockAge {
			os.Remove(name)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is held by another process (remove it if none is running)", name)
		}
		time.Sleep(lockPoll)
	}
}
