//go:build unix

package hooks

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHookTimeoutKillsChildren: hook_timeout bounds one run of a command
// line with more than one command (`sa-learn ...; logger ...`). The shell
// forks such commands, and the fork keeps the output pipe open: killing
// only /bin/sh left the child running and the run waiting on the pipe
// for as long as the child lived.
func TestHookTimeoutKillsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	took, err := runOnce(t, Config{Exec: `sleep 10 & echo $! > ` + pidFile + `; wait; true`, Timeout: 300 * time.Millisecond})
	if err == nil {
		t.Error("a run cut short by hook_timeout reported success")
	}
	if took > 2*time.Second {
		t.Errorf("hook_timeout 300ms, but the run took %v", took.Round(time.Millisecond))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(waitFile(t, pidFile))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the shell's child %d outlived hook_timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runOnce runs cfg's hook once, one attempt, on a stored message, and
// returns how long it took and its error.
func runOnce(t *testing.T, cfg Config) (time.Duration, error) {
	t.Helper()
	path, _ := storeOne(t)
	cfg.Attempts, cfg.Dir = 1, filepath.Join(t.TempDir(), "hooks")
	r, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sum, body, err := summarize(path)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err = r.once(sum, body)
	return time.Since(began), err
}

// processGone reports whether pid has exited: no such process, or a
// zombie (the test's PID 1 need not reap the orphans it inherits).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, so split after ')'.
	_, rest, _ := bytes.Cut(stat, []byte(") "))
	return bytes.HasPrefix(rest, []byte("Z"))
}

// TestHookBackgroundProcess: a command that exits 0 but leaves a process
// in the background holding its output has done its work: the run ends
// waitDelay after the command, without error (so without retries), and
// leaves that process alone.
func TestHookBackgroundProcess(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	took, err := runOnce(t, Config{Exec: `sleep 10 & echo $! > ` + pidFile})
	pid, perr := strconv.Atoi(strings.TrimSpace(string(waitFile(t, pidFile))))
	if perr != nil {
		t.Fatal(perr)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	if err != nil {
		t.Errorf("once: %v", err)
	}
	if took > 3*time.Second {
		t.Errorf("the run waited %v for the background process", took.Round(time.Millisecond))
	}
	if processGone(pid) {
		t.Error("the background process of a command that exited 0 was killed")
	}
}
