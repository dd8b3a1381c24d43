package smtpd

import (
	"errors"
	"strconv"
	"strings"

	"fakesmtp/internal/diagnose"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtp"
)

var (
	replyHeloSyntax    = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Syntax: HELO hostname"}}
	replyEhloSyntax    = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Syntax: EHLO hostname"}}
	replyMailSyntax    = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Syntax: MAIL FROM:<address>"}}
	replyRcptSyntax    = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Syntax: RCPT TO:<address>"}}
	replyBadSender     = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 1, 7}, Lines: []string{"Bad sender address syntax"}}
	replyBadRcpt       = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 1, 3}, Lines: []string{"Bad recipient address syntax"}}
	replyPathLong      = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Path too long"}}
	replyBadParam      = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Bad parameter syntax"}}
	replyBadSize       = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Bad SIZE parameter"}}
	replyEarlyTalkRcpt = smtp.Reply{Code: 550, Enhanced: smtp.EnhancedCode{5, 5, 1}, Lines: []string{"Error: protocol error: talked before its turn"}}
	replyBadBody       = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Bad BODY parameter"}}
)

// heloCmd answers HELO (RFC 5321 4.1.1.1): no extensions, so no
// pipelining either.
func (s *session) heloCmd(cmd smtp.Command) smtp.Reply {
	if r := s.greeting(cmd, replyHeloSyntax); !r.IsZero() {
		return r
	}
	s.esmtp = false
	// RFC 2034 section 4: no enhanced code in the HELO/EHLO reply.
	return smtp.Reply{Code: 250, Lines: []string{s.cfg.Hostname}}
}

// ehloCmd answers EHLO with the extensions (RFC 5321 4.1.1.1, 2.2.2).
func (s *session) ehloCmd(cmd smtp.Command) smtp.Reply {
	if s.cfg.RejectEHLO {
		return replyNotImplemented
	}
	if r := s.greeting(cmd, replyEhloSyntax); !r.IsZero() {
		return r
	}
	s.esmtp = true
	r := smtp.Reply{Code: 250, Lines: []string{
		s.cfg.Hostname + " Hello " + strings.ToValidUTF8(s.helo, "?") + " [" + s.client.Addr().String() + "]",
		"PIPELINING", // RFC 2920
		"SIZE " + strconv.FormatInt(s.cfg.MaxDataSize, 10), // RFC 1870
		"8BITMIME",            // RFC 6152
		"SMTPUTF8",            // RFC 6531
		"ENHANCEDSTATUSCODES", // RFC 2034
	}}
	if s.offersTLS() && s.tlsState == nil {
		r.Lines = append(r.Lines, "STARTTLS") // RFC 3207
	}
	if s.authOffered() {
		r.Lines = append(r.Lines, "AUTH "+strings.Join(sasl.Mechanisms(s.cfg.Auth), " ")) // RFC 4954
	}
	if s.cfg.Chunking {
		r.Lines = append(r.Lines, "CHUNKING", "BINARYMIME") // RFC 3030
	}
	r.Lines = append(r.Lines, "DSN") // RFC 3461
	return r
}

// greeting is what HELO and EHLO share: the argument check and the reset
// (a new greeting ends any transaction, RFC 5321 4.1.4).
func (s *session) greeting(cmd smtp.Command, syntax smtp.Reply) smtp.Reply {
	arg := cmd.Arg
	if i := strings.IndexAny(arg, " \t"); i >= 0 {
		// Some clients add text after the name; keep the name.
		arg = arg[:i]
	}
	if arg == "" || !smtp.IsASCII(arg) {
		return syntax
	}
	s.reset()
	s.helo = arg
	s.state = stateReady
	if !diagnose.HeloArg(arg) {
		s.finding(diagnose.BadHeloArg)
	}
	return smtp.Reply{}
}

// mailCmd starts a transaction (RFC 5321 4.1.1.2).
func (s *session) mailCmd(cmd smtp.Command) smtp.Reply {
	if r := s.screenListed("MAIL"); !r.IsZero() {
		return r
	}
	if s.cfg.TLSRequired && s.tlsState == nil {
		return replyNeedStartTLS
	}
	if s.cfg.AuthRequired && s.authUser == "" {
		return replyAuthRequired
	}
	if s.cfg.MaxMessages > 0 && s.accepted >= s.cfg.MaxMessages {
		s.reason = "too many messages"
		return smtp.ReplyTooManyMsgs
	}
	pa, err := smtp.ParseMailArg(cmd.Arg)
	if err != nil {
		return pathError(err, replyMailSyntax, replyBadSender)
	}
	s.noteSlips("MAIL", pa.Slips)
	var tx transaction
	for _, p := range pa.Params {
		if !s.esmtp {
			// Parameters are an ESMTP feature: after HELO there are none.
			return smtp.ReplyUnknownParam
		}
		switch p.Key {
		case "SIZE":
			// RFC 1870: refuse at once a message declared too big.
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil || n < 0 {
				return replyBadSize
			}
			if n > s.cfg.MaxDataSize {
				return smtp.ReplyTooBig
			}
		case "BODY":
			switch strings.ToUpper(p.Value) {
			case "7BIT":
			case "8BITMIME":
				tx.body8bit = true
			case "BINARYMIME":
				if !s.cfg.Chunking {
					return replyBadBody
				}
				tx.body8bit, tx.binary = true, true
			default:
				return replyBadBody
			}
		case "SMTPUTF8":
			if p.HasValue {
				return replyBadParam
			}
			tx.smtputf8 = true
		case "AUTH":
			// RFC 4954 section 5: the identity the message was submitted
			// with on a previous hop (Postfix sends AUTH=<>). Recorded by
			// the relay, not trusted here.
			if !p.HasValue {
				return replyBadParam
			}
		case "RET", "ENVID":
			if r := mailDSN(&tx, p); !r.IsZero() {
				return r
			}
		default:
			return smtp.ReplyUnknownParam
		}
	}
	// RFC 6531 3.4: a UTF-8 address needs SMTPUTF8 on MAIL.
	if !pa.Path.ASCII() && !tx.smtputf8 {
		s.finding(diagnose.UTF8NoSMTPUTF8)
		return smtp.ReplyNonASCIIAddr
	}
	tx.from = pa.Path
	s.tx = tx
	s.state = stateMail
	return smtp.ReplySenderOK
}

// rcptCmd adds a recipient (RFC 5321 4.1.1.3).
func (s *session) rcptCmd(cmd smtp.Command) smtp.Reply {
	pa, err := smtp.ParseRcptArg(cmd.Arg)
	if err != nil {
		return pathError(err, replyRcptSyntax, replyBadRcpt)
	}
	s.noteSlips("RCPT", pa.Slips)
	if len(pa.Params) > 0 && !s.esmtp {
		return smtp.ReplyUnknownParam // as for MAIL: no parameters after HELO
	}
	dsn, r := rcptDSN(pa.Params)
	if !r.IsZero() {
		return r
	}
	if !pa.Path.ASCII() && !s.tx.smtputf8 {
		s.finding(diagnose.UTF8NoSMTPUTF8)
		return smtp.ReplyNonASCIIAddr
	}
	if s.enforce {
		// postscreen's "enforce": the early talker has shown what it
		// wanted to send, and gets nothing through.
		s.log.Info("recipient refused: early talker", "from", s.tx.from.String(), "rcpt", pa.Path.String())
		return replyEarlyTalkRcpt
	}
	if len(s.tx.rcpts) >= s.cfg.MaxRcpt {
		// RFC 5321 4.5.3.1.10: 452, and the session goes on.
		return smtp.ReplyTooManyRcpts
	}
	s.trapHit(pa.Path)
	if rc := s.srv.deps.Recipients; rc != nil {
		if r := rc.CheckRecipient(pa.Path); !r.IsZero() {
			s.log.Info("recipient refused", "rcpt", pa.Path.String(), "code", r.Code)
			return r
		}
	}
	if r := s.greylisted(pa.Path); !r.IsZero() {
		return r
	}
	s.tx.rcpts = append(s.tx.rcpts, pa.Path)
	if dsn.notify != "" || dsn.orcpt != "" {
		dsn.rcpt = pa.Path.String()
		s.tx.dsn = append(s.tx.dsn, dsn)
	}
	s.state = stateRcpt
	return smtp.ReplyRcptOK
}

// dataCmd answers DATA. With do_temp_fail and nothing to keep, the
// original refuses here; otherwise the loop reads the content after 354.
func (s *session) dataCmd() smtp.Reply {
	if s.bdat != nil || s.tx.binary {
		// RFC 3030 section 3: DATA cannot follow BDAT in a transaction,
		// and cannot carry BINARYMIME.
		return replyDataAndBDAT
	}
	if s.cfg.DoTempFail && !s.cfg.StoreData {
		s.refuse()
		s.reason = "temp-fail"
		return smtp.ReplyTempFail
	}
	return smtp.ReplyStartData
}

func (s *session) noopCmd() smtp.Reply {
	s.noops++
	if s.noops > s.cfg.MaxNoop {
		s.reason = "too many NOOP"
		return smtp.ReplyTooManyNoop
	}
	return smtp.ReplyOK
}

// vrfyCmd answers VRFY and EXPN with 252 (RFC 5321 3.5.3, 7.3): we never
// confirm or deny an address, so harvesting learns nothing.
func (s *session) vrfyCmd() smtp.Reply {
	s.vrfys++
	if s.vrfys > s.cfg.MaxVrfy {
		s.reason = "too many VRFY/EXPN"
		return smtp.ReplyTooManyVrfy
	}
	return smtp.ReplyCannotVerify
}

func (s *session) noteSlips(verb string, slips []string) {
	for _, sl := range slips {
		switch sl {
		case smtp.SlipSpaceAfterColon:
			s.finding(diagnose.SpaceAfterColon)
		case smtp.SlipMissingBrackets:
			s.finding(diagnose.MissingBrackets)
		case smtp.SlipRepeatedParam:
			s.finding(diagnose.RepeatedParam)
		}
	}
}

// pathError maps a path parser error to its reply.
func pathError(err error, syntax, badAddr smtp.Reply) smtp.Reply {
	switch {
	case errors.Is(err, smtp.ErrSyntax):
		return syntax
	case errors.Is(err, smtp.ErrPathTooLong):
		return replyPathLong
	case errors.Is(err, smtp.ErrBadParam), errors.Is(err, smtp.ErrDupParam):
		return replyBadParam
	}
	return badAddr
}
