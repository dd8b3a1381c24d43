package smtpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"fakesmtp/internal/policy/dnsbl"
	"fakesmtp/internal/smtp"
)

// session is one SMTP connection. Its handlers return replies; serve is
// the one place that reads, writes, counts, tarpits, logs and closes.
type session struct {
	srv  *Server
	cfg  *Config
	conn net.Conn
	dc   *deadlineConn
	br   *bufio.Reader
	bw   *bufio.Writer
	id   string
	// client is the remote address; for a non-IP transport (tests over
	// net.Pipe) it is the zero value.
	client netip.AddrPort
	log    *slog.Logger
	start  time.Time

	state state
	helo  string
	esmtp bool // EHLO was used: PIPELINING and the other extensions are on
	tx    transaction

	errors, noops, vrfys int
	accepted, refused    int
	earlyTalk            bool
	reason               string // why the session ended, for the summary

	// lists is the DNS list lookup of this client, started at connect;
	// nil when there is nothing to check.
	lists *dnsbl.Lookup
	// listed is set once the client has been found listed.
	listed bool

	// idle is set while the session waits for a command outside a
	// transaction: Shutdown may then end it at once.
	idle atomic.Bool
}

// transaction is the state of one mail transaction (RFC 5321 3.3); reset
// clears it in one place.
type transaction struct {
	from     smtp.Path
	rcpts    []smtp.Path
	smtputf8 bool
	body8bit bool
}

func newSession(srv *Server, conn net.Conn, active int) *session {
	s := &session{
		srv:   srv,
		cfg:   &srv.cfg,
		conn:  conn,
		id:    srv.deps.IDs.New(),
		start: srv.deps.Now(),
	}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		s.client = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	s.dc = &deadlineConn{Conn: conn}
	s.br = bufio.NewReaderSize(s.dc, readBufferSize)
	s.bw = bufio.NewWriterSize(conn, 1024)
	s.log = srv.deps.SessionLog.With("session", s.id)
	// The list queries run inside the banner delay (postscreen's way).
	s.lists = srv.deps.DNSBL.Start(s.client.Addr())
	s.log.Info("connect", "client", conn.RemoteAddr().String(), "sessions", active, "total", srv.total.Add(1))
	return s
}

// serve runs the session to its end. ctx is cancelled when the server's
// grace period ends.
func (s *session) serve(ctx context.Context) {
	defer s.conn.Close()
	defer s.summary()
	defer func() {
		if v := recover(); v != nil {
			// A bug in one session must not take the server down (the
			// net/http and go-smtp rule).
			s.reason = "internal error"
			s.srv.deps.Logger.Error("session panic", "session", s.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.conn.SetWriteDeadline(time.Now().Add(rejectWriteTimeout))
			s.bw.Write(smtp.ReplyInternalError.Format())
			s.bw.Flush()
		}
	}()
	if !s.respond(ctx, s.greet(ctx)) {
		return
	}
	for {
		r := s.next(ctx)
		if !s.respond(ctx, r) {
			return
		}
		if r.Code == 354 {
			if !s.respond(ctx, s.receiveData(ctx)) {
				return
			}
		}
	}
}

// greet waits the banner delay, watching for early talkers, and returns
// the banner (or the refusal).
func (s *session) greet(ctx context.Context) smtp.Reply {
	if d := s.cfg.BannerDelay; d > 0 {
		if s.cfg.DoEarlyTalk {
			// Wait for input or the end of the delay, whichever comes
			// first: any byte before the banner is early talk (the
			// postscreen "pregreet" test).
			s.dc.SetReadDeadline(time.Now().Add(d))
			_, err := s.br.Peek(1)
			switch {
			case err == nil:
				return s.earlyTalker("before banner")
			case s.srv.hardStop.Load():
				return s.shutdownReply()
			case !isTimeout(err):
				s.reason = "client closed during banner delay"
				return smtp.Reply{}
			}
		} else if !s.srv.deps.Sleep(ctx, d) {
			return s.shutdownReply()
		}
	}
	if s.srv.stopping.Load() {
		return s.shutdownReply()
	}
	if r := s.screenListed("banner"); !r.IsZero() {
		return r
	}
	// RFC 2034 section 4: no enhanced code in the greeting.
	return smtp.Reply{Code: 220, Lines: []string{s.cfg.Hostname + " ESMTP fakesmtp"}}
}

// next reads one command and returns the reply to it.
func (s *session) next(ctx context.Context) smtp.Reply {
	if s.srv.stopping.Load() && !s.state.inTransaction() {
		return s.shutdownReply()
	}
	s.dc.SetReadDeadline(time.Now().Add(s.cfg.ReceiveTimeout))
	if !s.state.inTransaction() {
		s.idle.Store(true)
		if s.srv.stopping.Load() {
			s.idle.Store(false)
			return s.shutdownReply()
		}
	}
	line, err := smtp.ReadLine(s.br, s.cfg.MaxLineLength)
	s.idle.Store(false)
	switch {
	case errors.Is(err, smtp.ErrLineTooLong):
		s.log.Info("command line too long", "max", s.cfg.MaxLineLength)
		return smtp.ReplyLineTooLong
	case err != nil && isTimeout(err):
		if s.srv.stopping.Load() {
			return s.shutdownReply()
		}
		s.reason = "timeout"
		return smtp.ReplyTimeout
	case err != nil:
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			s.reason = "client disconnected without QUIT"
		} else {
			s.reason = "read error: " + err.Error()
		}
		return smtp.Reply{}
	}
	cmd, perr := smtp.ParseCommand(line.Text)
	if s.cfg.Verbose {
		s.log.Info("command", "line", logLine(cmd, line.Text))
	}
	if perr != nil {
		return smtp.ReplyBadChar
	}
	if line.BareLF {
		if s.cfg.StrictLineEndings {
			return smtp.ReplyBareLF
		}
		s.log.Info("command line ends in bare LF", "verb", cmd.Verb.String())
	}
	// RFC 2920 3.1: without PIPELINING every command waits for its reply;
	// with it, EHLO, DATA, VRFY, EXPN and NOOP still end a group. Input
	// already buffered behind such a command was sent too early.
	if s.cfg.DoEarlyTalk && cmd.Verb != smtp.VerbQuit && (!s.esmtp || mustEndGroup[cmd.Verb]) &&
		(s.br.Buffered() > 0 || pendingInput(s.conn)) {
		return s.earlyTalker("after " + cmd.Verb.String())
	}
	return s.dispatch(ctx, cmd)
}

// dispatch checks the sequencing table and runs the verb's handler.
func (s *session) dispatch(ctx context.Context, cmd smtp.Command) smtp.Reply {
	if r := sequence[cmd.Verb][s.state]; !r.IsZero() {
		return r
	}
	switch cmd.Verb {
	case smtp.VerbHelo:
		return s.heloCmd(cmd)
	case smtp.VerbEhlo:
		return s.ehloCmd(cmd)
	case smtp.VerbMail:
		return s.mailCmd(cmd)
	case smtp.VerbRcpt:
		return s.rcptCmd(cmd)
	case smtp.VerbData:
		return s.dataCmd()
	case smtp.VerbRset:
		s.reset()
		return smtp.ReplyOK
	case smtp.VerbNoop:
		return s.noopCmd()
	case smtp.VerbQuit:
		s.reason = "quit"
		return smtp.ReplyBye
	case smtp.VerbVrfy, smtp.VerbExpn:
		return s.vrfyCmd()
	case smtp.VerbHelp:
		return smtp.ReplyHelp
	}
	return smtp.ReplyUnknown
}

// respond is the single place that writes a reply. It counts errors and
// enforces max_smtp_errors, applies the tarpit delay, logs, and reports
// whether the session goes on.
func (s *session) respond(ctx context.Context, r smtp.Reply) bool {
	if r.IsZero() {
		return false
	}
	if r.Code >= 500 {
		s.errors++
		if s.errors > s.cfg.MaxErrors && !r.Close {
			s.reason = "too many errors"
			r = smtp.ReplyTooManyErrors
		}
	}
	if d := s.tarpitDelay(); d > 0 {
		// Let earlier replies out before we stall.
		s.bw.Flush()
		s.srv.deps.Sleep(ctx, d)
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.cfg.ReceiveTimeout))
	_, err := s.bw.Write(r.Format())
	if s.cfg.Verbose {
		s.log.Info("reply", "code", r.Code, "text", firstLine(r))
	}
	// Replies to a pipelined group go out together (RFC 2920 3.2): flush
	// when no further command is waiting, and always before a wait for
	// the client.
	if err == nil && (r.Close || r.Code == 354 || s.br.Buffered() == 0) {
		err = s.bw.Flush()
	}
	if err != nil {
		if s.reason == "" {
			s.reason = "write error: " + err.Error()
		}
		return false
	}
	if r.Close {
		if s.reason == "" {
			s.reason = fmt.Sprintf("closed after %d %s", r.Code, r.Enhanced)
		}
		return false
	}
	return true
}

// tarpitDelay is the original's tarpit: error_delay × errors so far,
// capped.
func (s *session) tarpitDelay() time.Duration {
	if s.cfg.ErrorDelay <= 0 || s.errors == 0 {
		return 0
	}
	return min(s.cfg.ErrorDelay*time.Duration(s.errors), s.cfg.ErrorDelayMax)
}

// earlyTalker logs the bytes a client sent too early and refuses it.
func (s *session) earlyTalker(when string) smtp.Reply {
	s.earlyTalk = true
	s.reason = "early talk " + when
	if s.br.Buffered() == 0 {
		// The early bytes are still in the kernel (pendingInput): pull
		// them in to log them; they are there, so this does not wait.
		s.dc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		s.br.Peek(1)
	}
	buf, _ := s.br.Peek(min(s.br.Buffered(), 100))
	s.log.Warn("early talk", "when", when, "bytes", string(buf))
	return smtp.ReplyEarlyTalk
}

func (s *session) shutdownReply() smtp.Reply {
	s.reason = "server shutdown"
	return smtp.ReplyShuttingDown
}

// reset ends the mail transaction (RSET, HELO/EHLO, after DATA). The
// session's counters stay: RSET is no way around the limits.
func (s *session) reset() {
	s.tx = transaction{}
	if s.state.inTransaction() {
		s.state = stateReady
	}
}

// summary logs the one line that tells what the session did.
func (s *session) summary() {
	s.log.Info("disconnect",
		"client", s.conn.RemoteAddr().String(),
		"helo", s.helo,
		"accepted", s.accepted,
		"refused", s.refused,
		"errors", s.errors,
		"early_talk", s.earlyTalk,
		"listed", s.listed,
		"duration", s.srv.deps.Now().Sub(s.start).Round(time.Millisecond).String(),
		"reason", s.reason)
}

// wakeIfIdle ends a session waiting for a command between transactions
// (called by Shutdown).
func (s *session) wakeIfIdle() {
	if s.idle.Load() {
		s.dc.SetReadDeadline(time.Now())
	}
}

// wake ends whatever read the session is blocked in, and every later
// read (end of the grace period).
func (s *session) wake() {
	s.dc.stopped.Store(true)
	s.dc.SetReadDeadline(time.Now())
}

// deadlineConn lets the DATA reader renew the read deadline on every read
// (an idle timeout) while command reads use one deadline per line (so a
// client trickling one byte at a time cannot hold a command open).
type deadlineConn struct {
	net.Conn
	idle    atomic.Int64 // nanoseconds; 0 = use the deadline set by the caller
	stopped atomic.Bool  // the server's grace period is over
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if d := c.idle.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	// Checked after the renewal above: a wake (stopped, then a deadline
	// of now) landing before it would otherwise be undone by it.
	if c.stopped.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	return c.Conn.Read(p)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// logLine is the command as logged: AUTH arguments are never logged.
func logLine(cmd smtp.Command, raw string) string {
	if cmd.Verb == smtp.VerbAuth {
		return "AUTH <redacted>"
	}
	if len(raw) > 600 {
		raw = raw[:600] + "..."
	}
	// The text handler quotes and escapes control characters.
	return raw
}

func firstLine(r smtp.Reply) string {
	if len(r.Lines) == 0 {
		return ""
	}
	return r.Lines[0]
}
