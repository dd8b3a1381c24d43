package smtpd

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"fakesmtp/internal/diagnose"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtp"
)

var (
	replyAuthNotOffered   = replyTLSNotOffered
	replyAuthNeedsTLS     = smtp.Reply{Code: 538, Enhanced: smtp.EnhancedCode{5, 7, 11}, Lines: []string{"Encryption required for requested authentication mechanism"}}
	replyAlreadyAuthed    = smtp.Reply{Code: 503, Enhanced: smtp.EnhancedCode{5, 5, 1}, Lines: []string{"Error: already authenticated"}}
	replyAuthSyntax       = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Syntax: AUTH mechanism [initial-response]"}}
	replyAuthRequired     = smtp.Reply{Code: 530, Enhanced: smtp.EnhancedCode{5, 7, 0}, Lines: []string{"Authentication required"}}
	replyAuthLineTooLong  = smtp.Reply{Code: 500, Enhanced: smtp.EnhancedCode{5, 5, 6}, Lines: []string{"Authentication Exchange line is too long"}}
	errAuthExchangeClosed = errors.New("smtpd: connection ended during AUTH")
)

// authOffered reports whether AUTH is advertised now: configured, and over
// TLS unless auth_allow_insecure (RFC 4954 section 4 warns against
// plaintext passwords on an unprotected channel).
func (s *session) authOffered() bool {
	return s.cfg.Auth != nil && (s.tlsState != nil || s.cfg.AuthAllowInsecure)
}

// authCmd starts an AUTH exchange (RFC 4954). When the mechanism needs
// more from the client, the reply is a 334 challenge and serve runs the
// rest of the exchange (authExchange).
func (s *session) authCmd(cmd smtp.Command) smtp.Reply {
	switch {
	case s.cfg.Auth == nil:
		return replyAuthNotOffered
	case !s.authOffered():
		return replyAuthNeedsTLS
	case s.authUser != "":
		return replyAlreadyAuthed
	}
	mech, ir, _ := strings.Cut(cmd.Arg, " ")
	if mech == "" || strings.Contains(ir, " ") {
		return replyAuthSyntax
	}
	s.sasl = sasl.NewServer(s.cfg.Auth, s.cfg.Hostname, rand.Reader, time.Now)
	return s.authStep(s.sasl.Start(strings.ToUpper(mech), ir))
}

// authStep turns a SASL step into the reply: a 334 challenge, or the end.
func (s *session) authStep(st sasl.Step) smtp.Reply {
	if !st.Done {
		return smtp.Reply{Code: 334, Lines: []string{st.Challenge}}
	}
	mech := s.sasl.Mechanism()
	s.sasl = nil
	code, enh, text := sasl.ReplyFor(st.Err)
	if st.Err == nil {
		s.authUser = st.User
		// The user name is no secret; the password never leaves sasl.
		s.log.Info("authenticated", "user", st.User, "mechanism", mech)
		if s.tlsState == nil {
			s.finding(diagnose.AuthPlaintext)
		}
	} else {
		s.log.Info("authentication failed", "mechanism", mech, "err", st.Err)
	}
	return smtp.Reply{Code: code, Enhanced: smtp.EnhancedCode(enh), Lines: []string{text}}
}

// authExchange reads the client's responses to 334 challenges until the
// exchange ends, writing each challenge through respond. The lines are
// never logged: they carry credentials. It reports whether the session
// goes on.
func (s *session) authExchange(ctx context.Context) bool {
	for s.sasl != nil {
		s.dc.SetReadDeadline(time.Now().Add(s.timeout()))
		line, err := smtp.ReadLine(s.reader(), sasl.MaxLineLength+2)
		var r smtp.Reply
		switch {
		case errors.Is(err, smtp.ErrLineTooLong):
			s.sasl = nil
			r = replyAuthLineTooLong
		case err != nil && isTimeout(err):
			s.reason = "timeout during AUTH"
			r = smtp.ReplyTimeout
		case err != nil:
			s.reason = errAuthExchangeClosed.Error()
			return false
		default:
			r = s.authStep(s.sasl.Next(line.Text))
		}
		if !s.respond(ctx, r) {
			return false
		}
	}
	return true
}
