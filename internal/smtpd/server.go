// Package smtpd is fakesmtp's SMTP server: a Server that listens, accepts
// and limits connections and shuts down gracefully, and one session per
// connection that runs the RFC 5321 dialogue, applies the original
// FakeSMTP policies (banner delay, early talk, tarpit, limits, temp-fail)
// and hands accepted messages to the store.
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/policy/dnsbl"
	"fakesmtp/internal/policy/greylist"
	"fakesmtp/internal/policy/ratelimit"
	"fakesmtp/internal/policy/traps"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtp"
	"fakesmtp/internal/store"
)

// Defaults and caps, each with its reason.
const (
	// DefaultMaxLineLength caps a command line, CRLF included. RFC 5321
	// 4.5.3.1.4 sets 512, and lets extensions lengthen MAIL/RCPT; like
	// Postfix (2048) and go-smtp (2000) we take a little over 2 KiB.
	DefaultMaxLineLength = 2048
	// DefaultErrorDelayMax caps the tarpit delay (ErrorDelay × errors), so
	// a session is never stalled past typical client timeouts: RFC 5321
	// 4.5.3.2 has clients wait 5 minutes for most replies, and 30 s
	// wastes a bot's time without tripping a real client.
	DefaultErrorDelayMax = 30 * time.Second
	// rejectWriteTimeout bounds the write of a refusal to a connection
	// over the session limit, so a client that never reads costs nothing.
	rejectWriteTimeout = 5 * time.Second
	// readBufferSize is the per-session read buffer.
	readBufferSize = 4096
	// writeBufferSize holds a pipelined group's replies; the EHLO reply,
	// the longest, is about 150 bytes.
	writeBufferSize = 1024
)

// Config holds the session rules. Zero values mean "none" unless noted.
type Config struct {
	// Hostname is used in the banner, the EHLO reply and Received headers.
	Hostname string
	// ReceiveTimeout is the time allowed to read one command line, or
	// between two reads of DATA content; on expiry the client gets
	// 421 4.4.2. Must be > 0.
	ReceiveTimeout time.Duration
	// MaxErrors is how many errors are tolerated; the next one gets
	// 421 4.7.0 and the session closes.
	MaxErrors int
	// MaxNoop and MaxVrfy are how many NOOP and VRFY+EXPN commands are
	// tolerated; the next one gets 421 4.7.0.
	MaxNoop, MaxVrfy int
	// MaxRcpt is the number of recipients per message; the excess RCPT
	// gets 452 4.5.3 (RFC 5321 4.5.3.1.10). Must be >= 1.
	MaxRcpt int
	// MaxMessages is the number of messages per session; 0 is unlimited.
	MaxMessages int
	// MaxSessions is the number of concurrent sessions; the next
	// connection gets 421 4.7.0 at once, without banner. Must be >= 1.
	MaxSessions int
	// StoreData keeps accepted messages in the Store.
	StoreData bool
	// MaxDataSize is the largest message, in bytes, advertised as SIZE.
	MaxDataSize int64
	// Verbose logs every command and reply.
	Verbose bool
	// BannerDelay is the wait before the 220 banner.
	BannerDelay time.Duration
	// ErrorDelay is the tarpit step: each reply waits ErrorDelay × the
	// errors so far, at most ErrorDelayMax (DefaultErrorDelayMax if 0).
	ErrorDelay, ErrorDelayMax time.Duration
	// DoTempFail answers DATA (store off) or the end of data (store on)
	// with 421 4.3.2, so real senders retry elsewhere.
	DoTempFail bool
	// DoEarlyTalk refuses clients that send before they may.
	DoEarlyTalk bool
	// StrictLineEndings refuses messages with bare CR or LF (550 5.5.2)
	// and command lines ending in bare LF (500 5.5.2).
	StrictLineEndings bool
	// MaxLineLength caps a command line (DefaultMaxLineLength if 0).
	MaxLineLength int
	// DNSBLReject554 refuses a listed client with 554 5.7.1 instead of
	// 421 4.7.1 (dnsbl_reply), when StoreData is off.
	DNSBLReject554 bool
	// ProxyProtocol expects a PROXY v1/v2 header (HAProxy) on every
	// connection, from ProxyTrusted sources only; the client address in
	// the header is the one every policy, log and header uses.
	ProxyProtocol bool
	ProxyTrusted  []netip.Prefix
	// EarlyTalkEnforce keeps an early talker's session going (recording
	// what it sends) and refuses each RCPT, instead of closing at once.
	EarlyTalkEnforce bool
	// BannerTeaser sends the first line of a multi-line 220 before the
	// banner delay.
	BannerTeaser bool
	// Stutter sends tarpitted replies one byte per StutterInterval
	// instead of waiting before them; the banner delay then becomes a
	// stuttered banner.
	Stutter         bool
	StutterInterval time.Duration
	// MaxTarpitted caps the sessions in the tarpit at once; 0 is no cap.
	MaxTarpitted int
	// TarpitMaxTime caps one session's total tarpit time; 0 is no cap.
	TarpitMaxTime time.Duration
	// TLS is the server TLS configuration for ServeTLS listeners (RFC
	// 8314) and, with StartTLS, for STARTTLS (RFC 3207).
	TLS      *tls.Config
	StartTLS bool
	// TLSRequired refuses MAIL before STARTTLS with 530 5.7.0.
	TLSRequired bool
	// Auth checks AUTH credentials (RFC 4954); nil does not offer AUTH.
	Auth sasl.Verifier
	// AuthRequired refuses MAIL without AUTH with 530 5.7.0.
	AuthRequired bool
	// AuthAllowInsecure offers AUTH without TLS too.
	AuthAllowInsecure bool
	// Chunking offers CHUNKING and BINARYMIME (RFC 3030).
	Chunking bool
	// RejectEHLO answers EHLO with 502, so clients fall back to HELO
	// (RFC 5321 4.1.1.1): for testing old clients.
	RejectEHLO bool
	// FindingHeaders adds the client-diagnosis findings to stored
	// messages as X-FakeSMTP-Finding headers (dev mode).
	FindingHeaders bool
	// Transcript records each session's dialogue (commands with AUTH
	// secrets redacted, and replies; never message content) for
	// SessionRecord.Transcript.
	Transcript bool
}

// RecipientChecker decides whether a recipient is accepted; it returns
// the zero Reply to accept.
type RecipientChecker interface {
	CheckRecipient(p smtp.Path) smtp.Reply
	// LocalDomain reports whether mail for domain is ours (always true
	// without a local_domains list).
	LocalDomain(domain string) bool
}

// Outputs delivers a committed store file to further outputs; on error
// the message is not acknowledged.
type Outputs interface {
	Deliver(ctx context.Context, path string) error
}

// Hooks runs per-message hooks: Pending records the need durably before
// the 250, Run queues the work without waiting.
type Hooks interface {
	Pending(msgID, path string) error
	Run(path string)
}

// Deps are the parts a Server uses. Logger and SessionLog are required;
// Store is required when Config.StoreData is set.
type Deps struct {
	Store      *store.Store
	Recipients RecipientChecker // nil accepts every recipient
	// DNSBL checks clients against DNS lists; nil checks nothing.
	DNSBL *dnsbl.Checker
	// Limits counts sessions and connections per client; nil is no limit.
	Limits *ratelimit.Limits
	// Greylist answers new (client, sender, recipient) triplets with 451
	// at RCPT; nil is no greylisting.
	Greylist *greylist.List
	// Traps records clients that write to trap addresses, and says which
	// clients are trapped; nil is no traps.
	Traps *traps.Traps
	// Outputs hands each stored message on (pickup folder, Maildir)
	// before the 250; nil is the store's files only.
	Outputs Outputs
	// Hooks runs the per-message hooks after the message is stored; nil
	// is no hooks.
	Hooks      Hooks
	IDs        *id.Generator
	Logger     *slog.Logger // application events
	SessionLog *slog.Logger // one line per session event
	Now        func() time.Time
	// ObserveCommit, when set, is told how long each store commit (the
	// durable write before the 250) took, for metrics.
	ObserveCommit func(time.Duration)
	// OnStored is told the ID of each message kept in the store, once it
	// is committed (the message index queues it); nil = none. It must
	// not block.
	OnStored func(msgID string)
	// OnSessionEnd receives each session's record when it ends (the
	// message index); nil = none. It runs on the session's goroutine and
	// must not block.
	OnSessionEnd func(SessionRecord)
	// Sleep waits d or until ctx ends, reporting whether d passed; it is
	// the tarpit and banner-delay clock (tests record instead of waiting).
	Sleep func(ctx context.Context, d time.Duration) bool
}

// Server accepts SMTP connections. Create it with New.
type Server struct {
	cfg  Config
	deps Deps

	counters   Counters
	tarpitting atomic.Int64 // sessions in the tarpit now
	stress     atomic.Bool  // over stressHigh of max_sessions

	active   atomic.Int64 // sessions running now
	total    atomic.Int64 // sessions started since New
	stopping atomic.Bool  // Shutdown has begun: no new work
	hardStop atomic.Bool  // the grace period is over

	// stopCtx is cancelled at the end of the grace period; tarpit and
	// banner waits watch it.
	stopCtx    context.Context
	stopCancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	wg        sync.WaitGroup
}

// New checks cfg and deps and returns a Server ready to Serve.
func New(cfg Config, deps Deps) (*Server, error) {
	var errs []error
	if cfg.Hostname == "" {
		errs = append(errs, errors.New("empty hostname"))
	}
	if cfg.ReceiveTimeout <= 0 {
		errs = append(errs, errors.New("receive timeout must be > 0"))
	}
	if cfg.MaxRcpt < 1 || cfg.MaxSessions < 1 {
		errs = append(errs, errors.New("max recipients and max sessions must be >= 1"))
	}
	if cfg.MaxErrors < 0 || cfg.MaxNoop < 0 || cfg.MaxVrfy < 0 || cfg.MaxMessages < 0 {
		errs = append(errs, errors.New("limits must be >= 0"))
	}
	if cfg.MaxDataSize <= 0 {
		errs = append(errs, errors.New("max data size must be > 0"))
	}
	if cfg.StoreData && deps.Store == nil {
		errs = append(errs, errors.New("store_data without a store"))
	}
	if deps.Logger == nil || deps.SessionLog == nil {
		errs = append(errs, errors.New("loggers are required"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smtpd: %w", errors.Join(errs...))
	}
	if cfg.MaxLineLength == 0 {
		cfg.MaxLineLength = DefaultMaxLineLength
	}
	if cfg.Stutter && cfg.StutterInterval <= 0 {
		return nil, errors.New("smtpd: stutter needs a positive interval")
	}
	if cfg.ErrorDelayMax == 0 {
		cfg.ErrorDelayMax = DefaultErrorDelayMax
	}
	if deps.IDs == nil {
		deps.IDs = id.NewGenerator(deps.Now)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	srv := &Server{
		cfg:       cfg,
		deps:      deps,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
	}
	srv.stopCtx, srv.stopCancel = context.WithCancel(context.Background())
	return srv, nil
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("smtpd: server closed")

// Serve accepts connections on ln until Shutdown. It always returns a
// non-nil error: ErrServerClosed after Shutdown.
func (srv *Server) Serve(ln net.Listener) error { return srv.serve(ln, false) }

// ServeTLS is Serve for implicit TLS (SMTPS, RFC 8314): every connection
// starts with a TLS handshake. Config.TLS must be set.
func (srv *Server) ServeTLS(ln net.Listener) error {
	if srv.cfg.TLS == nil {
		ln.Close()
		return errors.New("smtpd: ServeTLS without a TLS configuration")
	}
	return srv.serve(ln, true)
}

func (srv *Server) serve(ln net.Listener, implicitTLS bool) error {
	srv.mu.Lock()
	if srv.stopping.Load() {
		srv.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	srv.listeners[ln] = struct{}{}
	srv.mu.Unlock()
	defer func() {
		srv.mu.Lock()
		delete(srv.listeners, ln)
		srv.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if srv.stopping.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("smtpd: accept: %w", err)
			}
			// EMFILE and friends: back off and retry, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			srv.deps.Logger.Warn("accept failed; retrying", "err", err, "delay", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		srv.handle(conn, implicitTLS)
	}
}

// handle starts a session for conn, or refuses it when the server is full.
func (srv *Server) handle(conn net.Conn, implicitTLS bool) {
	n := srv.active.Add(1)
	if n > int64(srv.cfg.MaxSessions) {
		srv.active.Add(-1)
		srv.counters.SessionLimit.Add(1)
		srv.deps.SessionLog.Warn("connection refused: too many sessions",
			"client", conn.RemoteAddr().String(), "sessions", n-1, "max_sessions", srv.cfg.MaxSessions)
		go refuse(conn, smtp.ReplyTooManyConns)
		return
	}
	srv.mu.Lock()
	if srv.stopping.Load() {
		// Accepted just as Shutdown closed the listener. Shutdown may
		// already wait for the sessions, or have returned: a session
		// started now would be a wg.Add racing wg.Wait.
		srv.mu.Unlock()
		srv.active.Add(-1)
		go refuse(conn, smtp.ReplyShuttingDown)
		return
	}
	srv.updateStress(n)
	s := newSession(srv, conn, int(n))
	s.implicitTLS = implicitTLS
	srv.sessions[s] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	go func() {
		defer func() {
			srv.mu.Lock()
			delete(srv.sessions, s)
			srv.mu.Unlock()
			srv.updateStress(srv.active.Add(-1))
			srv.wg.Done()
		}()
		s.serve(srv.stopCtx)
	}()
}

// refuse writes r to a connection that gets no session and closes it.
// Callers run it on its own goroutine, so that a client that never reads
// cannot hold up the accept loop.
func refuse(conn net.Conn, r smtp.Reply) {
	conn.SetWriteDeadline(time.Now().Add(rejectWriteTimeout))
	conn.Write(r.Format())
	conn.Close()
}

// ActiveSessions returns the number of sessions running now.
func (srv *Server) ActiveSessions() int { return int(srv.active.Load()) }

// Shutdown stops accepting connections and lets sessions finish: a session
// between transactions is told 421 4.3.2 at once, one inside a
// transaction may complete it. When ctx ends, the remaining sessions are
// told 421 4.3.2 and closed, and their unfinished messages are dropped.
// Shutdown returns once every session has ended.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.stopping.Store(true)
	for ln := range srv.listeners {
		ln.Close()
	}
	for s := range srv.sessions {
		s.wakeIfIdle()
	}
	srv.mu.Unlock()

	done := make(chan struct{})
	go func() { srv.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	srv.hardStop.Store(true)
	srv.stopCancel()
	srv.mu.Lock()
	for s := range srv.sessions {
		s.wake()
	}
	srv.mu.Unlock()
	<-done
	return ctx.Err()
}
