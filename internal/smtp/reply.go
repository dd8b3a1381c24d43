// Package smtp holds the pure protocol pieces of fakesmtp: typed verbs,
// the command and path parsers, typed replies with RFC 3463 enhanced
// status codes, and the DATA dot-reader. It does no I/O policy: the
// session in package smtpd decides what to do with what is parsed here.
package smtp

import (
	"fmt"
	"strconv"
	"strings"
)

// EnhancedCode is an RFC 3463 enhanced status code, class.subject.detail.
type EnhancedCode [3]int

// String formats the code as "2.0.0".
func (e EnhancedCode) String() string {
	return strconv.Itoa(e[0]) + "." + strconv.Itoa(e[1]) + "." + strconv.Itoa(e[2])
}

// Reply is one SMTP reply (RFC 5321 section 4.2). Handlers return a Reply
// and never write: the session loop writes it, counts it and, when Close
// is set, closes the connection after writing.
type Reply struct {
	Code     int
	Enhanced EnhancedCode
	Lines    []string
	// Close asks the session to close the connection after this reply.
	Close bool
}

// Error lets a Reply travel as an error through store and policy code.
func (r Reply) Error() string {
	return strconv.Itoa(r.Code) + " " + r.Enhanced.String() + " " + strings.Join(r.Lines, " ")
}

// IsZero reports whether r is the zero Reply, which means "no reply".
func (r Reply) IsZero() bool { return r.Code == 0 }

// Positive reports whether r is a 2yz or 3yz reply.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// IsError reports whether r is a 4yz or 5yz reply.
func (r Reply) IsError() bool { return r.Code >= 400 }

// WithClose returns a copy of r that closes the connection.
func (r Reply) WithClose() Reply { r.Close = true; return r }

// Format renders r on the wire. Every line but the last uses "code-",
// the last "code " (RFC 5321 section 4.2.1). The enhanced code is repeated
// on every line, as RFC 2034 section 4 asks.
func (r Reply) Format() []byte { return r.AppendFormat(nil) }

// AppendFormat appends r as Format renders it to dst and returns the
// extended slice: the session formats every reply into one reused
// buffer instead of allocating one per reply.
func (r Reply) AppendFormat(dst []byte) []byte {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	for i, l := range lines {
		dst = strconv.AppendInt(dst, int64(r.Code), 10)
		if i < len(lines)-1 {
			dst = append(dst, '-')
		} else {
			dst = append(dst, ' ')
		}
		if r.Enhanced[0] != 0 {
			dst = strconv.AppendInt(dst, int64(r.Enhanced[0]), 10)
			dst = append(dst, '.')
			dst = strconv.AppendInt(dst, int64(r.Enhanced[1]), 10)
			dst = append(dst, '.')
			dst = strconv.AppendInt(dst, int64(r.Enhanced[2]), 10)
			if l != "" {
				dst = append(dst, ' ')
			}
		}
		dst = append(dst, sanitizeReplyText(l)...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// sanitizeReplyText keeps reply text on one line: a CR or LF in text that
// came from a client would let it forge extra replies.
func sanitizeReplyText(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// NewReply builds a one-line reply with a formatted text.
func NewReply(code int, enh EnhancedCode, format string, args ...any) Reply {
	return Reply{Code: code, Enhanced: enh, Lines: []string{fmt.Sprintf(format, args...)}}
}

// Canned replies. The texts follow Postfix where a user would compare;
// the codes follow RFC 5321 section 4.2.2/4.3.2 and RFC 3463.
var (
	ReplyOK            = Reply{Code: 250, Enhanced: EnhancedCode{2, 0, 0}, Lines: []string{"Ok"}}
	ReplySenderOK      = Reply{Code: 250, Enhanced: EnhancedCode{2, 1, 0}, Lines: []string{"Ok"}}
	ReplyRcptOK        = Reply{Code: 250, Enhanced: EnhancedCode{2, 1, 5}, Lines: []string{"Ok"}}
	ReplyStartData     = Reply{Code: 354, Lines: []string{"End data with <CR><LF>.<CR><LF>"}}
	ReplyBye           = Reply{Code: 221, Enhanced: EnhancedCode{2, 0, 0}, Lines: []string{"Bye"}, Close: true}
	ReplyCannotVerify  = Reply{Code: 252, Enhanced: EnhancedCode{2, 5, 2}, Lines: []string{"Cannot VRFY user, but will accept message and attempt delivery"}}
	ReplyBadSequence   = Reply{Code: 503, Enhanced: EnhancedCode{5, 5, 1}, Lines: []string{"Error: bad sequence of commands"}}
	ReplyNeedHelo      = Reply{Code: 503, Enhanced: EnhancedCode{5, 5, 1}, Lines: []string{"Error: send HELO/EHLO first"}}
	ReplyNeedMail      = Reply{Code: 503, Enhanced: EnhancedCode{5, 5, 1}, Lines: []string{"Error: need MAIL command"}}
	ReplyNestedMail    = Reply{Code: 503, Enhanced: EnhancedCode{5, 5, 1}, Lines: []string{"Error: nested MAIL command"}}
	ReplyNeedRcpt      = Reply{Code: 503, Enhanced: EnhancedCode{5, 5, 1}, Lines: []string{"Error: need RCPT command"}}
	ReplyUnknown       = Reply{Code: 500, Enhanced: EnhancedCode{5, 5, 2}, Lines: []string{"Error: command not recognized"}}
	ReplyLineTooLong   = Reply{Code: 500, Enhanced: EnhancedCode{5, 5, 6}, Lines: []string{"Error: line too long"}}
	ReplyBareLF        = Reply{Code: 500, Enhanced: EnhancedCode{5, 5, 2}, Lines: []string{"Error: bare <LF> received"}}
	ReplyBadChar       = Reply{Code: 500, Enhanced: EnhancedCode{5, 5, 2}, Lines: []string{"Error: invalid character in command"}}
	ReplyTooManyRcpts  = Reply{Code: 452, Enhanced: EnhancedCode{4, 5, 3}, Lines: []string{"Error: too many recipients"}}
	ReplyRelayDenied   = Reply{Code: 550, Enhanced: EnhancedCode{5, 7, 1}, Lines: []string{"Relaying denied"}}
	ReplyNoSuchUser    = Reply{Code: 550, Enhanced: EnhancedCode{5, 1, 1}, Lines: []string{"Recipient address rejected: User unknown"}}
	ReplyTooBig        = Reply{Code: 552, Enhanced: EnhancedCode{5, 3, 4}, Lines: []string{"Error: message file too big"}}
	ReplyBareLineEnd   = Reply{Code: 550, Enhanced: EnhancedCode{5, 5, 2}, Lines: []string{"Error: bare <CR> or <LF> in message content"}}
	ReplyStoreFailed   = Reply{Code: 451, Enhanced: EnhancedCode{4, 3, 0}, Lines: []string{"Error: queue file write error"}}
	ReplyTempFail      = Reply{Code: 421, Enhanced: EnhancedCode{4, 3, 2}, Lines: []string{"Service temporarily unavailable, closing transmission channel"}, Close: true}
	ReplyShuttingDown  = Reply{Code: 421, Enhanced: EnhancedCode{4, 3, 2}, Lines: []string{"Service shutting down, closing transmission channel"}, Close: true}
	ReplyTimeout       = Reply{Code: 421, Enhanced: EnhancedCode{4, 4, 2}, Lines: []string{"Error: timeout exceeded"}, Close: true}
	ReplyTooManyErrors = Reply{Code: 421, Enhanced: EnhancedCode{4, 7, 0}, Lines: []string{"Error: too many errors"}, Close: true}
	ReplyTooManyNoop   = Reply{Code: 421, Enhanced: EnhancedCode{4, 7, 0}, Lines: []string{"Error: too many NOOP commands"}, Close: true}
	ReplyTooManyVrfy   = Reply{Code: 421, Enhanced: EnhancedCode{4, 7, 0}, Lines: []string{"Error: too many VRFY/EXPN commands"}, Close: true}
	ReplyTooManyMsgs   = Reply{Code: 421, Enhanced: EnhancedCode{4, 7, 0}, Lines: []string{"Error: too many messages in this session"}, Close: true}
	ReplyTooManyConns  = Reply{Code: 421, Enhanced: EnhancedCode{4, 7, 0}, Lines: []string{"Error: too many sessions, try again later"}, Close: true}
	ReplyEarlyTalk     = Reply{Code: 554, Enhanced: EnhancedCode{5, 5, 1}, Lines: []string{"Error: SMTP protocol synchronization"}, Close: true}
	ReplyInternalError = Reply{Code: 421, Enhanced: EnhancedCode{4, 3, 0}, Lines: []string{"Error: internal server error, closing transmission channel"}, Close: true}
	ReplyUnknownParam  = Reply{Code: 555, Enhanced: EnhancedCode{5, 5, 4}, Lines: []string{"Error: unsupported parameter"}}
	ReplyNonASCIIAddr  = Reply{Code: 553, Enhanced: EnhancedCode{5, 6, 7}, Lines: []string{"Error: non-ASCII address requires SMTPUTF8"}}
	ReplyHelp          = Reply{Code: 214, Enhanced: EnhancedCode{2, 0, 0}, Lines: []string{
		"Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY EXPN HELP",
		"See RFC 5321",
	}}
)
