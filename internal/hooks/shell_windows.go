//go:build windows

package hooks

import (
	"context"
	"os/exec"
)

// shellCommand runs line through cmd /C. Cancelling it kills cmd.exe
// only: a program it started runs on (killing the tree takes a job
// object). The run does not wait for such a program, though: exec's
// WaitDelay (set by the caller) closes the output pipe it holds.
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	return exec.CommandContext(ctx, "cmd", "/C", line)
}
