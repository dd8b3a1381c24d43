package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fakesmtp/internal/diagnose"
	"fakesmtp/internal/policy/dnsbl"
	"fakesmtp/internal/policy/ratelimit"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtp"
)

// session is one SMTP connection. Its handlers return replies; serve is
// the one place that reads, writes, counts, tarpits, logs and closes.
type session struct {
	srv  *Server
	cfg  *Config
	conn net.Conn
	dc   *deadlineConn
	rd   io.Reader     // what the reader reads: the connection, or the PROXY-aware wrapper
	br   *bufio.Reader // made by reader()
	bw   *bufio.Writer // made by writer()
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
	enforce              bool        // early talker kept talking: every RCPT is refused
	reason               string      // why the session ended, for the summary
	active               int         // sessions running when this one started
	admitted             bool        // counted by the per-client limits
	stressed             bool        // the server was in stress mode when this session began
	stutterBanner        bool        // the banner delay is served as a stuttered banner
	talkedDuringBanner   bool        // input came before the stuttered banner's last byte
	timer                *time.Timer // reused by sleep
	tarpitSpent          time.Duration

	// lists is the DNS list lookup of this client, started at connect;
	// nil when there is nothing to check.
	lists *dnsbl.Lookup
	// listed is set once the client has been found listed.
	listed bool
	// trapped holds the first trap hit of this session, for its messages.
	trapped string
	// greylisted451 counts the RCPTs the greylist answered 451.
	greylisted451 int
	// implicitTLS: the connection came in on a TLS listener.
	implicitTLS bool
	// pendingTLS: STARTTLS was answered 220; the handshake comes next.
	pendingTLS bool
	// tlsState is set once TLS is up.
	tlsState *tls.ConnectionState
	// sasl is the AUTH exchange in progress; authUser the authenticated
	// user.
	sasl     *sasl.Server
	authUser string
	// bdat is the message being received in BDAT chunks.
	bdat *bdatState
	// findings are what the client did wrong in this session (diagnose),
	// once per code; msgCodes the codes found in its messages.
	findings []diagnose.Finding
	msgCodes map[string]bool

	// idle is set while the session waits for a command outside a
	// transaction: Shutdown may then end it at once.
	idle atomic.Bool

	// For the SessionRecord: the messages kept, the DNS lists that hit,
	// and the transcript when Config.Transcript is on.
	messageIDs     []string
	listHits       []string
	transcriptBuf  strings.Builder
	transcriptFull bool

	// replyBuf is the last reply as written, reused by respond.
	replyBuf []byte
}

// maxKeptReplyBuf is the largest reply buffer a session keeps between
// replies.
const maxKeptReplyBuf = 512

// transaction is the state of one mail transaction (RFC 5321 3.3); reset
// clears it in one place.
type transaction struct {
	from     smtp.Path
	rcpts    []smtp.Path
	smtputf8 bool
	body8bit bool
	binary   bool // BODY=BINARYMIME: BDAT only (RFC 3030)
	// DSN requests (RFC 3461), recorded with the message.
	dsnRet, dsnEnvid string
	dsn              []dsnRcpt
}

func newSession(srv *Server, conn net.Conn, active int) *session {
	return &session{
		srv:    srv,
		cfg:    &srv.cfg,
		conn:   conn,
		dc:     &deadlineConn{Conn: conn},
		id:     srv.deps.IDs.New(),
		start:  srv.deps.Now(),
		active: active,
	}
}

// begin does the per-connection work that may block or refuse, on the
// session's own goroutine: the PROXY header, the per-client limits, the
// DNS list queries. It reports whether the session goes on.
func (s *session) begin() bool {
	s.log = s.srv.deps.SessionLog.With("session", s.id)
	s.stressed = s.srv.stress.Load()
	var rd io.Reader = s.dc
	if s.cfg.ProxyProtocol {
		pc := s.readProxyHeader()
		if pc == nil {
			return false
		}
		// From here on the client is the one the proxy names.
		s.conn, rd = pc, pc
	}
	if s.implicitTLS {
		// RFC 8314: TLS from the first byte (port 465).
		tc, err := s.handshake(rd.(net.Conn))
		if err != nil {
			return false
		}
		s.conn, rd = tc, tc
	}
	if ap, err := netip.ParseAddrPort(s.conn.RemoteAddr().String()); err == nil {
		s.client = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	// The buffers are made when first needed (reader, writer): a client
	// held in the banner delay or a stuttered banner costs no buffer.
	s.rd = rd
	if lim := s.srv.deps.Limits; lim != nil {
		switch lim.Admit(s.client.Addr()) {
		case ratelimit.TooManySessions:
			s.srv.counters.PerIPRefused.Add(1)
			s.log.Warn("connection refused: too many sessions from this client", "client", s.conn.RemoteAddr().String())
			refuse(s.conn, replyTooManyFromIP)
			return false
		case ratelimit.TooManyConnections:
			s.srv.counters.PerIPRefused.Add(1)
			s.log.Warn("connection refused: too many connections per minute from this client", "client", s.conn.RemoteAddr().String())
			refuse(s.conn, replyTooFastFromIP)
			return false
		}
		s.admitted = true
	}
	// The list queries run inside the banner delay (postscreen's way).
	s.lists = s.srv.deps.DNSBL.Start(s.client.Addr())
	s.srv.counters.Sessions.Add(1)
	s.log.Info("connect", "client", s.conn.RemoteAddr().String(), "sessions", s.active, "total", s.srv.total.Add(1))
	return true
}

var (
	replyTooManyFromIP = smtp.Reply{Code: 421, Enhanced: smtp.EnhancedCode{4, 7, 0}, Lines: []string{"Error: too many connections from your address"}, Close: true}
	replyTooFastFromIP = smtp.Reply{Code: 421, Enhanced: smtp.EnhancedCode{4, 7, 0}, Lines: []string{"Error: too many connections per minute from your address"}, Close: true}
)

// serve runs the session to its end. ctx is cancelled when the server's
// grace period ends.
func (s *session) serve(ctx context.Context) {
	defer s.conn.Close()
	began := false
	defer func() {
		if v := recover(); v != nil {
			// A bug in one session must not take the server down (the
			// net/http and go-smtp rule).
			s.reason = "internal error"
			s.srv.deps.Logger.Error("session panic", "session", s.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.conn.SetWriteDeadline(time.Now().Add(rejectWriteTimeout))
			if s.bw != nil {
				s.bw.Flush()
			}
			s.conn.Write(smtp.ReplyInternalError.Format())
		}
		if began {
			s.bdat.abort()
			s.releaseBuffers()
			if s.admitted {
				s.srv.deps.Limits.Release(s.client.Addr())
			}
			s.summary()
		}
	}()
	if !s.begin() {
		return
	}
	began = true
	if !s.respond(ctx, s.greet(ctx)) {
		return
	}
	s.stutterBanner = false // only the banner is stuttered for the delay
	if s.talkedDuringBanner {
		if r := s.earlyTalker("during banner"); !r.IsZero() {
			s.respond(ctx, r)
			return
		}
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
		if s.pendingTLS && !s.startTLS(ctx) {
			return
		}
		if s.sasl != nil && !s.authExchange(ctx) {
			return
		}
	}
}

// greet waits the banner delay, watching for early talkers, and returns
// the banner (or the refusal).
func (s *session) greet(ctx context.Context) smtp.Reply {
	if d := s.bannerDelay(); d > 0 && s.cfg.Stutter {
		// The delay is served by stuttering the banner (respond, via
		// tarpitted); early talk is checked once it is out (serve).
		s.stutterBanner = true
	} else if d > 0 {
		if s.cfg.BannerTeaser {
			// postscreen's teaser: the first line of a multi-line banner
			// now, the last after the delay. A client that answers the
			// first line has not waited for the end of the reply.
			s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout()))
			if _, err := s.conn.Write([]byte("220-" + s.cfg.Hostname + " ESMTP fakesmtp\r\n")); err != nil {
				s.reason = "write error: " + err.Error()
				return smtp.Reply{}
			}
		}
		if s.cfg.DoEarlyTalk {
			// Wait for input or the end of the delay, whichever comes
			// first: any byte before the banner is early talk (the
			// postscreen "pregreet" test).
			s.dc.SetReadDeadline(time.Now().Add(d))
			err := s.waitInput()
			switch {
			case err == nil:
				if r := s.earlyTalker("before banner"); !r.IsZero() {
					return r
				}
			case s.srv.hardStop.Load():
				return s.shutdownReply()
			case !isTimeout(err):
				s.reason = "client closed during banner delay"
				return smtp.Reply{}
			}
		} else if !s.sleep(ctx, d) {
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
	deadline := time.Now().Add(s.timeout())
	s.dc.SetReadDeadline(deadline)
	if !s.state.inTransaction() {
		s.idle.Store(true)
		if s.srv.stopping.Load() {
			s.idle.Store(false)
			return s.shutdownReply()
		}
	}
	if b, err := s.reader().Peek(1); err == nil && b[0] == 0x16 {
		// A TLS record header (0x16 = handshake): a TLS client on the
		// plain port. No SMTP line starts with this control byte.
		s.idle.Store(false)
		return s.nonSMTP("TLS handshake on the plain port")
	}
	line, err := smtp.ReadLine(s.reader(), s.cfg.MaxLineLength)
	for err != nil && isTimeout(err) && time.Now().Before(deadline) && s.srv.stopping.Load() && !s.srv.hardStop.Load() && s.state.inTransaction() {
		// Shutdown may have woken this session just as it left the idle
		// state for a transaction, which may finish in the grace period.
		deadline = time.Now().Add(s.timeout())
		s.dc.SetReadDeadline(deadline)
		// What the wake cut off stays the start of this line.
		line, err = smtp.ReadLineAfter(s.reader(), s.cfg.MaxLineLength, line.Partial)
	}
	s.idle.Store(false)
	switch {
	case errors.Is(err, smtp.ErrLineTooLong):
		s.log.Info("command line too long", "max", s.cfg.MaxLineLength)
		if len(line.Text) >= 5 && strings.EqualFold(line.Text[:5], "BDAT ") {
			return smtp.ReplyLineTooLong.WithClose() // its chunk cannot be skipped
		}
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
	if s.cfg.Verbose || s.cfg.Transcript {
		l := logLine(cmd, line.Text)
		if s.cfg.Verbose {
			s.log.Info("command", "line", l)
		}
		s.transcript("C: ", l)
	}
	if perr != nil {
		if strings.EqualFold(cmd.Name, "BDAT") {
			// Its chunk will not be read: close rather than take the
			// chunk's bytes for commands.
			return smtp.ReplyBadChar.WithClose()
		}
		return smtp.ReplyBadChar
	}
	if cmd.Verb == smtp.VerbUnknown {
		if what := smtp.NonSMTP(line.Text); what != "" {
			return s.nonSMTP(what)
		}
	}
	if line.BareLF {
		if s.cfg.StrictLineEndings {
			if cmd.Verb == smtp.VerbBdat {
				return smtp.ReplyBareLF.WithClose() // as above: its chunk is not read
			}
			return smtp.ReplyBareLF
		}
		s.finding(diagnose.BareLFCommand)
	}
	// RFC 2920 3.1: without PIPELINING every command waits for its reply;
	// with it, EHLO, DATA, VRFY, EXPN and NOOP still end a group. Input
	// already buffered behind such a command was sent too early.
	if cmd.Verb != smtp.VerbQuit && cmd.Verb != smtp.VerbBdat && (!s.esmtp || mustEndGroup[cmd.Verb]) &&
		// (The socket look costs a system call: only when it matters.)
		(s.reader().Buffered() > 0 || s.cfg.DoEarlyTalk && !s.enforce && pendingInput(s.conn)) {
		if !s.esmtp {
			s.finding(diagnose.PipeliningWithout)
		} else {
			s.finding(diagnose.PipeliningGroup)
		}
		if s.cfg.DoEarlyTalk && !s.enforce {
			if r := s.earlyTalker("after " + cmd.Verb.String()); !r.IsZero() {
				return r
			}
		}
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
	case smtp.VerbStartTLS:
		return s.startTLSCmd(cmd)
	case smtp.VerbAuth:
		return s.authCmd(cmd)
	case smtp.VerbBdat:
		return s.bdatCmd(ctx, cmd)
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
	handled, err := s.tarpitted(ctx, r)
	s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout()))
	// One buffer, reused, holds the reply as written (most are a few
	// dozen bytes; a session in the tarpit gives it back with the rest).
	s.replyBuf = r.AppendFormat(s.replyBuf[:0])
	if !handled {
		// (A stuttered reply was written by the tarpit itself.)
		_, err = s.writer().Write(s.replyBuf)
	}
	if s.cfg.Verbose {
		s.log.Info("reply", "code", r.Code, "text", firstLine(r))
	}
	if s.cfg.Transcript {
		for rest := s.replyBuf; len(rest) > 0; {
			i := bytes.Index(rest, []byte("\r\n"))
			s.transcriptBytes("S: ", rest[:i])
			rest = rest[i+2:]
		}
	}
	if cap(s.replyBuf) > maxKeptReplyBuf {
		s.replyBuf = nil // a long EHLO or HELP reply is not kept
	}
	// Replies to a pipelined group go out together (RFC 2920 3.2): flush
	// when no further command is waiting, and always before a wait for
	// the client.
	if err == nil && (r.Close || r.Code == 354 || s.buffered() == 0) {
		err = s.writer().Flush()
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

// earlyTalker logs the bytes a client sent too early and refuses it; with
// early_talk_action = enforce it returns the zero Reply: the session goes
// on, learning the client's envelope, and every RCPT will be refused.
func (s *session) earlyTalker(when string) smtp.Reply {
	s.earlyTalk = true
	s.srv.counters.EarlyTalk.Add(1)
	br := s.reader()
	if br.Buffered() == 0 {
		// The early bytes are still in the kernel (pendingInput): pull
		// them in to log them; they are there, so this does not wait.
		s.dc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		br.Peek(1)
	}
	buf, _ := br.Peek(min(br.Buffered(), 100))
	s.log.Warn("early talk", "when", when, "bytes", redactAuth(buf), "action", map[bool]string{true: "enforce", false: "drop"}[s.cfg.EarlyTalkEnforce])
	if s.cfg.EarlyTalkEnforce {
		s.enforce = true
		return smtp.Reply{}
	}
	s.reason = "early talk " + when
	return smtp.ReplyEarlyTalk
}

// nonSMTP refuses input that is not SMTP at all (HTTP, a proxy CONNECT,
// mail headers sent as commands, TLS on the plain port) and closes: such a
// client will never speak SMTP, so there is nothing to wait for.
func (s *session) nonSMTP(what string) smtp.Reply {
	s.srv.counters.NonSMTP.Add(1)
	buf, _ := s.reader().Peek(min(s.reader().Buffered(), 100))
	s.log.Warn("non-SMTP input", "what", what, "bytes", redactAuth(buf))
	s.reason = "non-SMTP input: " + what
	return replyNonSMTP
}

var replyNonSMTP = smtp.Reply{Code: 554, Enhanced: smtp.EnhancedCode{5, 7, 0}, Lines: []string{"Error: non-SMTP input, closing connection"}, Close: true}

func (s *session) shutdownReply() smtp.Reply {
	s.reason = "server shutdown"
	return smtp.ReplyShuttingDown
}

// reset ends the mail transaction (RSET, HELO/EHLO, after DATA). The
// session's counters stay: RSET is no way around the limits.
func (s *session) reset() {
	s.bdat.abort()
	s.bdat = nil
	s.tx = transaction{}
	if s.state.inTransaction() {
		s.state = stateReady
	}
}

// summary logs the one line that tells what the session did.
func (s *session) summary() {
	if s.reason == "client disconnected without QUIT" {
		s.finding(diagnose.NoQuit)
	}
	s.log.Info("disconnect",
		"client", s.conn.RemoteAddr().String(),
		"helo", s.helo,
		"accepted", s.accepted,
		"refused", s.refused,
		"errors", s.errors,
		"early_talk", s.earlyTalk,
		"listed", s.listed,
		"trapped", s.trapped != "",
		"greylisted", s.greylisted451,
		"tarpit", s.tarpitSpent.Round(time.Millisecond).String(),
		"tls", tlsVersion(s.tlsState),
		"auth_user", s.authUser,
		"findings", strings.Join(s.findingCodes(), ","),
		"duration", s.srv.deps.Now().Sub(s.start).Round(time.Millisecond).String(),
		"reason", s.reason)
	if f := s.srv.deps.OnSessionEnd; f != nil {
		f(s.record())
	}
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
	s.dc.SetWriteDeadline(time.Now().Add(rejectWriteTimeout))
}

// writeTimeout bounds one write; once the grace period is over a client
// that does not read holds the session rejectWriteTimeout at most.
func (s *session) writeTimeout() time.Duration {
	if s.dc.stopped.Load() {
		return min(s.timeout(), rejectWriteTimeout)
	}
	return s.timeout()
}

// Read and write buffers are pooled: a session gives them back while it
// waits in the tarpit (releaseBuffers), so thousands of tarpitted bots
// hold goroutines and sockets, not buffers.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}
)

// reader returns the session's read buffer, taking one on first use.
func (s *session) reader() *bufio.Reader {
	if s.br == nil {
		s.br = readers.Get().(*bufio.Reader)
		s.br.Reset(s.rd)
	}
	return s.br
}

// writer returns the session's write buffer, taking one on first use.
func (s *session) writer() *bufio.Writer {
	if s.bw == nil {
		s.bw = writers.Get().(*bufio.Writer)
		s.bw.Reset(s.conn)
	}
	return s.bw
}

// releaseBuffers gives the buffers back when they hold nothing: before a
// long wait, and at the end of the session. It reports an error from
// flushing the writer.
func (s *session) releaseBuffers() error {
	s.replyBuf = nil
	if s.bw != nil {
		if err := s.bw.Flush(); err != nil {
			return err
		}
		s.bw.Reset(nil)
		writers.Put(s.bw)
		s.bw = nil
	}
	if s.br != nil && s.br.Buffered() == 0 {
		s.br.Reset(nil)
		readers.Put(s.br)
		s.br = nil
	}
	return nil
}

// buffered is the number of bytes read from the client and not used yet.
func (s *session) buffered() int {
	if s.br == nil {
		return 0
	}
	return s.br.Buffered()
}

// waitInput waits, until the read deadline, for the client to send
// something, without reading it. It returns nil when input is there.
// Where the platform allows it waits on the socket itself, holding no
// buffer: that is what lets thousands of clients sit in the banner delay
// cheaply.
func (s *session) waitInput() error {
	if s.br == nil && s.rd == io.Reader(s.dc) {
		if err := waitReadable(s.conn); err != errNoRawWait {
			return err
		}
	}
	_, err := s.reader().Peek(1)
	return err
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

// sleep waits d or until ctx ends; it reports whether d passed. The
// session reuses one timer: a stutter tarpit sleeps once per byte, and a
// fresh timer each time would be garbage for the collector to chase
// across thousands of tarpitted sessions.
func (s *session) sleep(ctx context.Context, d time.Duration) bool {
	if s.srv.deps.Sleep != nil {
		return s.srv.deps.Sleep(ctx, d)
	}
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	select {
	case <-s.timer.C:
		return true
	case <-ctx.Done():
		s.timer.Stop()
		return false
	}
}

// redactAuth is raw client input as logged: from an AUTH command on, the
// bytes may hold credentials, and are cut.
func redactAuth(b []byte) string {
	s := string(b)
	for i := 0; i < len(s); {
		if len(s)-i >= 4 && strings.EqualFold(s[i:i+4], "AUTH") && (i == 0 || s[i-1] == '\n') {
			return s[:i] + "AUTH <redacted>"
		}
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return s
}

// logLine is the command as logged: AUTH arguments are never logged.
func logLine(cmd smtp.Command, raw string) string {
	if cmd.Verb == smtp.VerbAuth || strings.EqualFold(cmd.Name, "AUTH") {
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
