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
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fakesmtp/internal/id"
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
	// Dir holds the markers of pending hooks (<store_path>/.hooks).
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
	log    *slog.Logger
	client *http.Client
	jobs   chan string // store file paths
	wg     sync.WaitGroup
	stop   context.CancelFunc
	ctx    context.Context
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
	r := &Runner{cfg: cfg, log: logger, client: &http.Client{Timeout: cfg.Timeout}, jobs: make(chan string, queueSize)}
	r.ctx, r.stop = context.WithCancel(context.Background())
	return r, nil
}

// Start starts the workers and queues the hooks left pending by an
// earlier run.
func (r *Runner) Start() {
	for i := 0; i < r.cfg.Concurrency; i++ {
		r.wg.Add(1)
		go r.work()
	}
	ents, _ := os.ReadDir(r.cfg.Dir)
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(r.cfg.Dir, e.Name()))
		if err != nil || !id.Valid(e.Name()) {
			continue
		}
		r.log.Info("hook left pending by an earlier run: running it", "id", e.Name())
		r.enqueue(string(data))
	}
}

// Pending records that the message at path needs its hooks; call it
// before the 250, so a crash after the 250 does not lose the hook.
func (r *Runner) Pending(msgID, path string) error {
	return os.WriteFile(filepath.Join(r.cfg.Dir, msgID), []byte(path), 0o644)
}

// Run queues the hooks of a message recorded with Pending. It never
// blocks: with the queue full, the marker waits for the next start.
func (r *Runner) Run(path string) { r.enqueue(path) }

func (r *Runner) enqueue(path string) {
	select {
	case r.jobs <- path:
	default:
		r.log.Warn("hook queue full; the hook runs at the next start", "path", path)
	}
}

// Close stops taking jobs and waits, until ctx ends, for running hooks.
func (r *Runner) Close(ctx context.Context) {
	close(r.jobs)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.stop()
		<-done
	}
}

func (r *Runner) work() {
	defer r.wg.Done()
	for path := range r.jobs {
		r.do(path)
	}
}

// do runs the hooks of one message with retries, then drops its marker.
func (r *Runner) do(path string) {
	msgID := strings.TrimSuffix(filepath.Base(path), store.Ext)
	sum, body, err := summarize(path)
	if err != nil {
		r.log.Error("hook: message unreadable; dropped", "id", msgID, "err", err)
		os.Remove(filepath.Join(r.cfg.Dir, msgID))
		return
	}
	for attempt := 1; attempt <= r.cfg.Attempts; attempt++ {
		err = r.once(sum, body)
		if err == nil {
			break
		}
		r.log.Warn("hook failed", "id", msgID, "attempt", attempt, "of", r.cfg.Attempts, "err", err)
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
		r.log.Error("hook gave up", "id", msgID, "err", err)
	} else {
		r.log.Info("hook done", "id", msgID)
	}
	os.Remove(filepath.Join(r.cfg.Dir, msgID))
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
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("on_message_exec: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
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
