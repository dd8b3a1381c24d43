// Package hooks runs the collector's per-message hooks: a command
// (on_message_exec) and an HTTP POST of a JSON summary
// (on_message_webhook). They run after the message is stored and
// acknowledged, never in the SMTP session's way, with bounded concurrency,
// a timeout and a bounded number of retries. A pending hook is recorded
// as a marker file before the 250, so hooks not yet done when the process
// stops are run again at the next start.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fakesmtp/internal/store"
)

// Defaults, each with its reason.
const (
	// DefaultConcurrency bounds the hooks running at once: a spam wave
	// must not fork a process per message.
	DefaultConcurrency = 4
	// DefaultTimeout bounds one run; sa-learn on one message takes well
	// under a second.
	DefaultTimeout = 30 * time.Second
	// DefaultAttempts is how often a failing hook is tried in all.
	DefaultAttempts = 3
	// queueSize bounds the jobs waiting in memory; past it new jobs wait
	// on disk (their markers) for the next start.
	queueSize = 10000
	// waitDelay bounds how long a run waits for the command's output pipe
	// once the command has ended or been killed: a process that left the
	// command's process group (setsid, a daemon) may hold it for good.
	waitDelay = time.Second
	// stopWait bounds how long Close waits, once its grace is over and the
	// running hooks are killed, for the workers to return: long enough for
	// the kills and waitDelay, short enough that a process that cannot die
	// (stuck in uninterruptible I/O) does not hold fakesmtp's stop.
	stopWait = 2 * time.Second
)

// Config configures a Runner.
type Config struct {
	// Exec is a command line run through /bin/sh -c (cmd /C on Windows);
	// "" = none. The message's path and envelope are in its environment.
	Exec string
	// ExecStdin feeds the message (as received) to the command's stdin.
	ExecStdin bool
	// Webhook is a URL that gets a POST of the JSON summary; "" = none.
	Webhook string
	// Concurrency, Timeout, Attempts: zero means the defaults.
	Concurrency int
	Timeout     time.Duration
	Attempts    int
	// Dir holds the markers of pending hooks: <store_path>/.hooks, whose
	// parent is where a marker's message is looked up (see marker.go).
	Dir string
}

// Summary is the JSON document the webhook receives, and what the command
// gets in its environment.
type Summary struct {
	ID         string    `json:"id"`
	Session    string    `json:"session"`
	Path       string    `json:"path"`
	Size       int64     `json:"size"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	ClientIP   string    `json:"client_ip"`
	ClientPort uint16    `json:"client_port"`
	Helo       string    `json:"helo"`
	ReceivedAt time.Time `json:"received_at"`
	// Annotations are fakesmtp's X-FakeSMTP-* verdict and finding
	// headers (DNS lists, traps, findings, TLS, AUTH).
	Annotations []string `json:"annotations"`
}

// Runner runs the hooks.
type Runner struct {
	cfg    Config
	root   string // the store folder, Dir's parent
	log    *slog.Logger
	client *http.Client
	// mu guards the send on jobs against its close: a Run after Close
	// leaves its marker for the next start instead of panicking.
	mu     sync.Mutex
	closed bool
	jobs   chan job
	dir    *folderSync // flushes Dir for Pending
	wg     sync.WaitGroup
	stop   context.CancelFunc
	ctx    context.Context
}

// job is one message whose hooks are to run.
type job struct {
	id   string // the message ID, which names the marker
	path string // the message file; "" = locate it by the ID
}

// New returns a Runner, or nil when no hook is configured.
func New(cfg Config, logger *slog.Logger) (*Runner, error) {
	if cfg.Exec == "" && cfg.Webhook == "" {
		return nil, nil
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("hooks: %w", err)
	}
	r := &Runner{cfg: cfg, root: filepath.Dir(filepath.Clean(cfg.Dir)), log: logger,
		client: &http.Client{Timeout: cfg.Timeout}, jobs: make(chan job, queueSize), dir: newFolderSync(cfg.Dir)}
	r.ctx, r.stop = context.WithCancel(context.Background())
	return r, nil
}

// Run queues the hooks of a message recorded with Pending. It never
// blocks: with the queue full, the marker waits for the next start.
func (r *Runner) Run(path string) {
	msgID := store.MessageID(filepath.Base(path))
	if msgID == "" {
		r.log.Error("hook: not a message file; not run", "path", path)
		return
	}
	r.enqueue(job{id: msgID, path: path})
}

func (r *Runner) enqueue(j job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.log.Warn("hooks stopped; the hook runs at the next start", "id", j.id)
		return
	}
	select {
	case r.jobs <- j:
	default:
		r.log.Warn("hook queue full; the hook runs at the next start", "id", j.id)
	}
}

// Close stops taking jobs and waits, until ctx ends, for the queued and
// running hooks. Then it cancels them, which kills each running command's
// process group, and waits at most stopWait more, so that a hung hook
// cannot hold the stop. A hook cut short keeps its marker (do leaves it
// once r.ctx is done) and so runs again at the next start.
func (r *Runner) Close(ctx context.Context) {
	defer r.stop()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	close(r.jobs)
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	r.stop()
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		r.log.Warn("hooks still running at stop; they run again at the next start")
	}
}

func (r *Runner) work() {
	defer r.wg.Done()
	for j := range r.jobs {
		r.do(j)
	}
}

// do runs the hooks of one message with retries, then drops its marker.
func (r *Runner) do(j job) {
	if r.ctx.Err() != nil {
		return // stopping: the marker stays for the next start
	}
	sum, body, err := r.load(j)
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.log.Warn("hook: message gone (pruned or deleted); dropped", "id", j.id)
		r.dropMarker(j.id)
		return
	case err != nil:
		r.log.Error("hook: message unreadable; dropped", "id", j.id, "err", err)
		r.dropMarker(j.id)
		return
	}
	for attempt := 1; attempt <= r.cfg.Attempts; attempt++ {
		err = r.once(sum, body)
		if err == nil {
			break
		}
		r.log.Warn("hook failed", "id", j.id, "attempt", attempt, "of", r.cfg.Attempts, "err", err)
		if r.ctx.Err() != nil {
			return // stopping: the marker stays for the next start
		}
		select {
		case <-time.After(time.Duration(attempt) * time.Second):
		case <-r.ctx.Done():
			return
		}
	}
	if err != nil {
		r.log.Error("hook gave up", "id", j.id, "err", err)
	} else {
		r.log.Info("hook done", "id", j.id)
	}
	r.dropMarker(j.id)
}

// load reads the message of j, found by its ID when j has no path.
func (r *Runner) load(j job) (*Summary, []byte, error) {
	path := j.path
	if path == "" {
		var err error
		if path, err = r.locate(j.id); err != nil {
			return nil, nil, err
		}
	}
	return summarize(path)
}

func (r *Runner) once(sum *Summary, body []byte) error {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()
	var errs []error
	if r.cfg.Exec != "" {
		if err := r.exec(ctx, sum, body); err != nil {
			errs = append(errs, err)
		}
	}
	if r.cfg.Webhook != "" {
		if err := r.post(ctx, sum); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Runner) exec(ctx context.Context, sum *Summary, body []byte) error {
	cmd := shellCommand(ctx, r.cfg.Exec)
	// Without it a process the command left behind, holding the output
	// pipe, would keep the run waiting after the command ended or was
	// killed.
	cmd.WaitDelay = waitDelay
	cmd.Env = append(os.Environ(),
		"FAKESMTP_ID="+sum.ID,
		"FAKESMTP_SESSION="+sum.Session,
		"FAKESMTP_PATH="+sum.Path,
		"FAKESMTP_SIZE="+fmt.Sprint(sum.Size),
		"FAKESMTP_MAIL_FROM="+sum.From,
		"FAKESMTP_RCPT_TO="+strings.Join(sum.To, ","),
		"FAKESMTP_CLIENT_IP="+sum.ClientIP,
		"FAKESMTP_HELO="+sum.Helo,
	)
	if r.cfg.ExecStdin {
		cmd.Stdin = bytes.NewReader(body)
	}
	// The output only goes into the error message: its tail is kept
	// (where a failing command says why), not all of a chatty one.
	var tail tailBuffer
	cmd.Stdout, cmd.Stderr = &tail, &tail
	err := cmd.Run()
	out := tail.Bytes()
	switch {
	case errors.Is(err, exec.ErrWaitDelay):
		// The command exited 0 and did its work; what it started in the
		// background is its own business.
		r.log.Warn("on_message_exec left a process holding its output; not waiting for it", "id", sum.ID)
		return nil
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil:
		return fmt.Errorf("on_message_exec: killed after hook_timeout %v: %s", r.cfg.Timeout, bytes.TrimSpace(out))
	case err != nil:
		return fmt.Errorf("on_message_exec: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// maxOutput is how much of a hook command's output is kept for the log.
const maxOutput = 4 << 10

// tailBuffer keeps the last maxOutput bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex // for a caller that gives it to two writers; os/exec copies both streams in one goroutine when they share it
	buf []byte
	cut int64 // bytes dropped from the front
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= maxOutput {
		t.cut += int64(len(t.buf) + len(p) - maxOutput)
		t.buf = append(t.buf[:0], p[len(p)-maxOutput:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - maxOutput; over > 0 {
		t.cut += int64(over)
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// Bytes returns the kept output, saying how much came before it.
func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut == 0 {
		return t.buf
	}
	return append([]byte(fmt.Sprintf("[%d bytes of output cut] ", t.cut)), t.buf...)
}

func (r *Runner) post(ctx context.Context, sum *Summary) error {
	data, _ := json.Marshal(sum)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Webhook, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("on_message_webhook: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("on_message_webhook: %s", resp.Status)
	}
	return nil
}

// summarize reads a store file into the summary and the message bytes.
func summarize(path string) (*Summary, []byte, error) {
	env, body, err := store.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return &Summary{
		ID: env.ID, Session: env.Session, Path: path, Size: int64(len(body)),
		From: env.MailFrom, To: env.RcptTo, ClientIP: env.ClientIP.String(), ClientPort: env.ClientPort,
		Helo: env.Helo, ReceivedAt: env.ReceivedAt, Annotations: env.Extra,
	}, body, nil
}
