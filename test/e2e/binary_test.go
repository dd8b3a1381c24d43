package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Time limits. They are generous because a race-enabled binary on a busy
// 2-core CI machine is slow; a passing run is far below them.
const (
	// startTimeout bounds the wait for the readiness line.
	startTimeout = 20 * time.Second
	// stopTimeout bounds the wait for exit after SIGTERM; it must exceed
	// the default shutdown_grace (10 s), which idle sessions never reach.
	stopTimeout = 20 * time.Second
	// cliTimeout bounds a command that is expected to exit by itself.
	cliTimeout = 30 * time.Second
	// startAttempts is how many free ports start tries: a port found free
	// can be taken (by a client's ephemeral port) before the binary binds it.
	startAttempts = 5
)

// binPath is the fakesmtp binary built by TestMain.
var binPath string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

// runMain builds the binary once for every test, runs them and removes
// the binary; it is split from TestMain so the deferred removal runs.
func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fakesmtp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	binPath = filepath.Join(dir, "fakesmtp")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/fakesmtp")
	build := exec.Command("go", args...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot finds the directory of fakesmtp's go.mod above the working
// directory (go test runs a test binary in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && regexp.MustCompile(`(?m)^module fakesmtp\s*$`).Match(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod of module fakesmtp not found above the working directory")
		}
		dir = parent
	}
}

// childEnv is the environment of every fakesmtp process: ours without
// FAKESMTP_* variables (a developer's own settings must not leak in),
// TMPDIR set to a fresh directory (the default store_path is under it),
// the web UI on a free port,
// GORACE without the exit delay of a race-enabled binary,
// plus extra ("K=V").
func childEnv(t *testing.T, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAKESMTP_") && !strings.HasPrefix(kv, "TMPDIR=") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	env = append(env, "TMPDIR="+t.TempDir())
	// Many instances run at once: each gets its own web port (a flag or
	// a later FAKESMTP_HTTP_LISTEN in extra still wins).
	env = append(env, "FAKESMTP_HTTP_LISTEN=127.0.0.1:0")
	if raceEnabled {
		// A race-enabled binary otherwise sleeps 1 s at exit, for
		// goroutines that are still running; ours have ended by then.
		env = append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	return append(env, extra...)
}

// output collects a process's stdout or stderr and lets a test wait for a
// line in it without polling.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every Write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// String returns everything written so far.
func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until re matches the output and returns the submatches.
// It gives up when exited is closed (the process is gone and its output
// complete) or after timeout.
func (o *output) waitFor(re *regexp.Regexp, exited <-chan struct{}, timeout time.Duration) ([]string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		m := re.FindStringSubmatch(o.buf.String())
		changed := o.changed
		o.mu.Unlock()
		if m != nil {
			return m, nil
		}
		select {
		case <-changed:
		case <-exited:
			if m := re.FindStringSubmatch(o.String()); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("process exited before printing %q", re)
		case <-deadline.C:
			return nil, fmt.Errorf("no %q after %v", re, timeout)
		}
	}
}

// readyRE matches the line serve prints once it listens.
var readyRE = regexp.MustCompile(`(?m)^fakesmtp: (\S+) mode, listening on (.+), mail stored in (.+)$`)

// server is a running fakesmtp process.
type server struct {
	Addr  string // the address it listens on
	Mode  string // from the readiness line
	Store string // store path from the readiness line ("not stored ..." when off)
	// StorePath is the --store-path startDev gave.
	StorePath string
	Stdout    *output
	Stderr    *output

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited and its output is complete
	state  *os.ProcessState
	waited bool
}

// start runs fakesmtp with the arguments and extra environment mk
// returns for a free 127.0.0.1 address, waits for its readiness line, and
// stops it with SIGTERM at the end of the test, asserting exit code 0.
// When the address was taken before fakesmtp could bind it, it tries
// another.
func start(t *testing.T, mk func(addr string) (args, env []string)) *server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		args, env := mk(addr)
		s := launch(t, args, env)
		m, err := s.Stdout.waitFor(readyRE, s.exited, startTimeout)
		if err != nil {
			if s.exitedNow() && strings.Contains(s.Stderr.String(), "address already in use") && attempt < startAttempts {
				t.Logf("start attempt %d: %s was taken; retrying", attempt, addr)
				continue
			}
			s.kill()
			t.Fatalf("fakesmtp %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, s.Stdout, s.Stderr)
		}
		// The first address is the plain listener; TLS ones follow.
		s.Mode, s.Addr, s.Store = m[1], strings.Split(m[2], ", ")[0], m[3]
		if s.Addr != addr {
			t.Errorf("readiness line says listening on %q, want %q", s.Addr, addr)
		}
		t.Cleanup(func() {
			if !s.waited {
				s.stop(t)
			}
			if t.Failed() {
				t.Logf("fakesmtp stdout:\n%s\nfakesmtp stderr:\n%s", s.Stdout, s.Stderr)
			}
		})
		return s
	}
}

// startDev starts "fakesmtp serve --listen ADDR --store-path DIR extra..."
// with a fresh store directory.
func startDev(t *testing.T, extra ...string) *server {
	t.Helper()
	storePath := filepath.Join(t.TempDir(), "store")
	s := start(t, func(addr string) ([]string, []string) {
		return append([]string{"serve", "--listen", addr, "--store-path", storePath}, extra...), nil
	})
	s.StorePath = storePath
	return s
}

// launch starts the binary without waiting for anything.
func launch(t *testing.T, args, env []string) *server {
	t.Helper()
	s := &server{Stdout: newOutput(), Stderr: newOutput(), exited: make(chan struct{})}
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Env = childEnv(t, env...)
	s.cmd.Stdout = s.Stdout
	s.cmd.Stderr = s.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binPath, err)
	}
	go func() {
		s.cmd.Wait() // the exit status is read from ProcessState
		s.state = s.cmd.ProcessState
		close(s.exited)
	}()
	return s
}

func (s *server) exitedNow() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// signal sends sig to the process.
func (s *server) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its exit code (-1 when
// a signal ended it).
func (s *server) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(timeout):
		s.kill()
		t.Fatalf("fakesmtp did not exit within %v\nstderr:\n%s", timeout, s.Stderr)
	}
	s.waited = true
	return s.state.ExitCode()
}

// stop sends SIGTERM and asserts a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if !s.exitedNow() {
		s.signal(t, syscall.SIGTERM)
	}
	if code := s.wait(t, stopTimeout); code != 0 {
		t.Errorf("fakesmtp exited with %v after SIGTERM, want exit code 0\nstderr:\n%s", s.state, s.Stderr)
	}
}

// kill ends the process at once (only on a test failure).
func (s *server) kill() {
	if !s.exitedNow() {
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.waited = true
}

// result is the outcome of a command that exits by itself.
type result struct {
	Stdout, Stderr string
	Code           int
}

// runCLI runs fakesmtp with args and the extra environment and waits for
// it to exit by itself.
func runCLI(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = childEnv(t, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("fakesmtp %s: still running after %v (killed)\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), cliTimeout, &stdout, &stderr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("fakesmtp %s: %v", strings.Join(args, " "), err)
	}
	return result{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
}
