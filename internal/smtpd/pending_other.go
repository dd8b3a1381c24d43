//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package smtpd

import "net"

// pendingInput cannot look into the socket buffer on this platform; early
// talk is then detected from the bytes already read.
func pendingInput(c net.Conn) bool { return false }

// waitReadable is not available here: the caller waits with a buffer.
func waitReadable(c net.Conn) error { return errNoRawWait }
