package smtpd

import "fakesmtp/internal/smtp"

// state is where a session is in the SMTP dialogue (RFC 5321 section 4.1.4
// gives the order). DATA content is read inside the DATA handler, so it
// needs no state of its own.
type state uint8

const (
	stateConnect state = iota // banner sent, no HELO/EHLO yet
	stateReady                // HELO/EHLO done, no transaction
	stateMail                 // MAIL accepted, no recipient yet
	stateRcpt                 // at least one RCPT accepted
	numStates
)

func (s state) String() string {
	switch s {
	case stateConnect:
		return "connect"
	case stateReady:
		return "ready"
	case stateMail:
		return "mail"
	case stateRcpt:
		return "rcpt"
	}
	return "unknown"
}

// inTransaction reports whether a mail transaction is open.
func (s state) inTransaction() bool { return s == stateMail || s == stateRcpt }

// replyNotImplemented answers the commands of extensions that are not
// offered yet (RFC 5321 4.2.4: 502 for a recognised but unimplemented
// command).
var replyNotImplemented = smtp.Reply{Code: 502, Enhanced: smtp.EnhancedCode{5, 5, 1}, Lines: []string{"Error: command not implemented"}}

// sequence is the one table of RFC 5321 command ordering: for each verb,
// the reply to give in each state where it is not allowed. A zero Reply
// means the verb is allowed and its handler runs. Handlers never check
// order themselves.
var sequence = map[smtp.Verb][numStates]smtp.Reply{
	// HELO/EHLO may come at any time and reset the transaction (4.1.4).
	smtp.VerbHelo: {},
	smtp.VerbEhlo: {},
	smtp.VerbMail: {
		stateConnect: smtp.ReplyNeedHelo,
		stateMail:    smtp.ReplyNestedMail,
		stateRcpt:    smtp.ReplyNestedMail,
	},
	smtp.VerbRcpt: {
		stateConnect: smtp.ReplyNeedMail,
		stateReady:   smtp.ReplyNeedMail,
	},
	smtp.VerbData: {
		stateConnect: smtp.ReplyNeedMail,
		stateReady:   smtp.ReplyNeedMail,
		stateMail:    smtp.ReplyNeedRcpt,
	},
	smtp.VerbRset: {},
	smtp.VerbNoop: {},
	smtp.VerbQuit: {},
	smtp.VerbVrfy: {},
	smtp.VerbExpn: {},
	smtp.VerbHelp: {},
	// RFC 3207 section 4: STARTTLS after EHLO, outside a transaction.
	smtp.VerbStartTLS: {
		stateConnect: smtp.ReplyNeedHelo,
		stateMail:    smtp.ReplyBadSequence,
		stateRcpt:    smtp.ReplyBadSequence,
	},
	// RFC 4954 section 4: AUTH after EHLO, outside a transaction.
	smtp.VerbAuth: {
		stateConnect: smtp.ReplyNeedHelo,
		stateMail:    smtp.ReplyBadSequence,
		stateRcpt:    smtp.ReplyBadSequence,
	},
	// BDAT checks its state itself, after reading its chunk (bdat.go).
	smtp.VerbBdat: {},
	smtp.VerbUnknown: {
		smtp.ReplyUnknown, smtp.ReplyUnknown, smtp.ReplyUnknown, smtp.ReplyUnknown,
	},
}

// mustEndGroup lists the verbs that RFC 2920 section 3.1 allows only as
// the last command of a pipelined group: the client must wait for their
// reply. Bytes already sent behind them are early talk. QUIT is left
// out: the session closes after it anyway.
var mustEndGroup = map[smtp.Verb]bool{
	smtp.VerbStartTLS: true, // RFC 3207 section 4
	smtp.VerbEhlo:     true,
	smtp.VerbHelo:     true,
	smtp.VerbData:     true,
	smtp.VerbVrfy:     true,
	smtp.VerbExpn:     true,
	smtp.VerbNoop:     true,
}
