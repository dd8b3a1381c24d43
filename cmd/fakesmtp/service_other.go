//go:build !windows

package main

import (
	"fmt"
	"io"
)

// runAsService is for Windows; elsewhere the process is never a service
// of the Windows service manager.
func runAsService(args []string, stdout, stderr io.Writer) (int, bool) { return 0, false }

// serviceCmd explains where service management lives on this platform.
func serviceCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "fakesmtp service: Windows only; on Linux use the systemd unit dist/fakesmtp.service")
	return 2
}
