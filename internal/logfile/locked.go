package logfile

import (
	"fmt"
	"io"
	"sync"
)

// LockedWriter serialises Writes to an underlying io.Writer.
//
// A log/slog handler locks only around its own writes (handlers derived
// with With share that lock, separately built handlers do not), so two
// handlers writing to os.Stderr, say the text handler for the console and
// the session handler, can interleave their records. The kernel keeps
// only pipe writes of up to PIPE_BUF bytes whole, and terminals and files
// promise nothing. Giving both handlers the same LockedWriter makes each
// record one uninterrupted write.
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLocked returns a LockedWriter that writes to w. All writers of w
// must go through the same LockedWriter for the lock to help.
func NewLocked(w io.Writer) *LockedWriter {
	return &LockedWriter{w: w}
}

// Write writes p to the underlying writer with a single call, holding the
// lock, so concurrent Writes never interleave. A short write without an
// error from the underlying writer is reported as io.ErrShortWrite.
func (lw *LockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	n, err := lw.w.Write(p)
	if err == nil && n < len(p) {
		err = fmt.Errorf("logfile: locked write: %w", io.ErrShortWrite)
	}
	return n, err
}
