package smtpd

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"fakesmtp/internal/smtp"
)

var (
	replyReadyTLS      = smtp.Reply{Code: 220, Enhanced: smtp.EnhancedCode{2, 0, 0}, Lines: []string{"Ready to start TLS"}}
	replyTLSActive     = smtp.Reply{Code: 554, Enhanced: smtp.EnhancedCode{5, 5, 1}, Lines: []string{"Error: TLS already active"}}
	replyStartTLSArgs  = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Syntax: STARTTLS"}}
	replyNeedStartTLS  = smtp.Reply{Code: 530, Enhanced: smtp.EnhancedCode{5, 7, 0}, Lines: []string{"Must issue a STARTTLS command first"}}
	replyTLSNotOffered = smtp.Reply{Code: 502, Enhanced: smtp.EnhancedCode{5, 5, 1}, Lines: []string{"Error: command not implemented"}}
)

// startTLSCmd answers STARTTLS (RFC 3207). The handshake itself comes
// after the 220 has been written (serve calls startTLS).
func (s *session) startTLSCmd(cmd smtp.Command) smtp.Reply {
	switch {
	case !s.offersTLS():
		return replyTLSNotOffered
	case s.tlsState != nil:
		return replyTLSActive
	case cmd.Arg != "":
		return replyStartTLSArgs
	}
	s.pendingTLS = true
	return replyReadyTLS
}

// startTLS runs the handshake after "220 Ready to start TLS". Anything the
// client sent after STARTTLS in plaintext is thrown away unread: executing
// it inside TLS is the CVE-2011-0411 command injection. RFC 3207 section
// 4.2: the session then starts over, as after the banner, and the client
// must EHLO again. It reports whether the session goes on.
func (s *session) startTLS(ctx context.Context) bool {
	s.pendingTLS = false
	if n := s.buffered(); n > 0 {
		buf, _ := s.br.Peek(min(n, 100))
		s.log.Warn("plaintext sent after STARTTLS discarded (command injection attempt)", "bytes", redactAuth(buf))
		s.br.Discard(n)
	}
	if err := s.releaseBuffers(); err != nil {
		s.reason = "write error: " + err.Error()
		return false
	}
	tc, err := s.handshake(s.rd.(net.Conn))
	if err != nil {
		return false
	}
	s.conn, s.rd = tc, tc
	s.reset()
	s.state = stateConnect
	s.helo, s.esmtp, s.authUser = "", false, ""
	return true
}

// handshake runs the server side of a TLS handshake over c within the
// receive timeout and records the connection state.
func (s *session) handshake(c net.Conn) (*tls.Conn, error) {
	tc := tls.Server(c, s.cfg.TLS)
	// A fresh deadline: the last one may be nearly spent.
	s.dc.SetReadDeadline(time.Now().Add(s.timeout()))
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.reason = "TLS handshake failed: " + err.Error()
		s.log.Info("TLS handshake failed", "err", err)
		return nil, err
	}
	st := tc.ConnectionState()
	s.tlsState = &st
	s.log.Info("TLS started", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite), "sni", st.ServerName)
	return tc, nil
}

// offersTLS reports whether STARTTLS is on offer.
func (s *session) offersTLS() bool { return s.cfg.TLS != nil && s.cfg.StartTLS }

// tlsVersion is the protocol version for logs, "" without TLS.
func tlsVersion(st *tls.ConnectionState) string {
	if st == nil {
		return ""
	}
	return tls.VersionName(st.Version)
}

// tlsHeader is the X-FakeSMTP-TLS annotation, "" without TLS.
func tlsHeader(st *tls.ConnectionState) string {
	if st == nil {
		return ""
	}
	return fmt.Sprintf("X-FakeSMTP-TLS: %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
}
