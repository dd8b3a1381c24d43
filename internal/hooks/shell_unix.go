//go:build unix

package hooks

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// shellCommand runs line through /bin/sh in a process group of its own,
// and cancelling it (hook_timeout, or Close past its grace) kills the
// whole group. The shell forks each command of a line with more than one
// (`sa-learn --spam "$FAKESMTP_PATH"; logger done`): killing the shell
// alone left that child running with the output pipe open, and the run
// waited on the pipe for as long as the child lived.
//
// Being in its own group, the command no longer gets the terminal's
// SIGINT with fakesmtp: fakesmtp's stop gives it the grace, then kills it.
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", line)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's ID is the shell's PID (Setpgid with Pgid 0). The
		// group lives on after the shell while any of its processes
		// does, and the kernel reuses no PID that still names a group.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return cmd
}
