//go:build linux || darwin || freebsd || netbsd || openbsd

package smtpd

import (
	"io"
	"net"
	"syscall"
)

// pendingInput reports whether the client has sent bytes that are still
// in the kernel's socket buffer, without reading them (recv with
// MSG_PEEK|MSG_DONTWAIT). With the bytes already in our read buffer it
// tells whether a client sent ahead of a reply it had to wait for, even
// when the early bytes came in a separate packet (Postfix checks the
// same way before it replies).
func pendingInput(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, _ = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait: this is a look, not a read
	})
	return n > 0
}

// waitReadable blocks, until the connection's read deadline, until the
// socket has input (or EOF), without reading it and without a buffer: the
// runtime's poller wakes the goroutine. It returns nil when there is
// input, the deadline or read error otherwise, and errNoRawWait for
// connections that are not plain sockets.
func waitReadable(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return errNoRawWait
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return errNoRawWait
	}
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, e := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case e == syscall.EAGAIN || e == syscall.EWOULDBLOCK:
			return false // nothing yet: wait for readability
		case e != nil:
			rerr = e
		case n == 0:
			rerr = io.EOF
		}
		return true
	})
	if err != nil {
		return err
	}
	return rerr
}
