// Package diagnose turns what a mail client did wrong into findings for the
// developer testing it: a stable code, one line of explanation and the RFC
// section the client broke. Findings travel as X-FakeSMTP-Finding header
// values, so Finding.String is always a single line.
//
// Message checks a message's header section (RFC 5322 section 2.2 and
// 3.6); the session-level findings (bare LF, pipelining, parameters, ...)
// are detected by the SMTP session and listed here as package values so
// that every code lives in one place (see Catalog).
package diagnose

import "strings"

// Finding is one thing a client did wrong.
type Finding struct {
	Code string // stable, kebab-case, e.g. "missing-date"
	Text string // one line, for people: what was wrong and what to do
	RFC  string // e.g. "RFC 5322 3.6"
}

// String formats the finding as "code: text (RFC)", the value of an
// X-FakeSMTP-Finding header. Control characters, CR and LF included, are
// replaced by spaces so the result is always one header line
// (RFC 5322 2.2: a field body has no bare CR or LF).
func (f Finding) String() string {
	return oneLine(f.Code + ": " + f.Text + " (" + f.RFC + ")")
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Session-level findings, emitted by the SMTP session. They are values, not
// a table to edit: treat them as constants.
var (
	// BareLFCommand: RFC 5321 2.3.8, lines end in CRLF; a bare LF is not a
	// line ending, and accepting it enables SMTP smuggling.
	BareLFCommand = Finding{"bare-lf-command", "a command line ended in LF without CR; end every line with CRLF", "RFC 5321 2.3.8"}
	// BareLFData: RFC 5321 2.3.8, LF appears in mail data only as part of CRLF.
	BareLFData = Finding{"bare-lf-data", "the message has a line feed without carriage return (bare LF); end every line with CRLF", "RFC 5321 2.3.8"}
	// BareCRData: RFC 5321 2.3.8, CR appears in mail data only as part of CRLF.
	BareCRData = Finding{"bare-cr-data", "the message has a carriage return without line feed (bare CR); end every line with CRLF", "RFC 5321 2.3.8"}
	// LongLine: RFC 5321 4.5.3.1.6, a text line is at most 1000 octets
	// including CRLF.
	LongLine = Finding{"line-too-long", "a line of the message is over 998 characters; wrap it or use quoted-printable or base64", "RFC 5321 4.5.3.1.6"}
	// PipeliningWithout: RFC 2920 3.1, a client may send commands ahead of
	// replies only if the server advertised PIPELINING.
	PipeliningWithout = Finding{"pipelining-not-offered", "commands were sent ahead of replies without PIPELINING; wait for each reply", "RFC 2920 3.1"}
	// PipeliningGroup: RFC 2920 3.1, EHLO, DATA, VRFY, EXPN, TURN, QUIT and
	// NOOP (and STARTTLS, AUTH) may only appear last in a pipelined group.
	PipeliningGroup = Finding{"pipelining-group", "a command that must end a pipelined group (such as EHLO, DATA, QUIT, STARTTLS) was followed by more commands before its reply", "RFC 2920 3.1"}
	// EightBitNoBody: RFC 6152 3, 8-bit content needs BODY=8BITMIME on MAIL.
	EightBitNoBody = Finding{"8bit-without-8bitmime", "8-bit bytes in the message without BODY=8BITMIME", "RFC 6152 3"}
	// UTF8NoSMTPUTF8: RFC 6531 3.4, non-ASCII addresses need the SMTPUTF8
	// parameter on MAIL.
	UTF8NoSMTPUTF8 = Finding{"utf8-address-without-smtputf8", "an address has non-ASCII characters but MAIL had no SMTPUTF8 parameter", "RFC 6531 3.4"}
	// SpaceAfterColon: RFC 5321 4.1.2, "MAIL FROM:" is followed directly by
	// the reverse-path, with no space.
	SpaceAfterColon = Finding{"space-after-colon", `"MAIL FROM: <a@b>" has a space after the colon; write "MAIL FROM:<a@b>"`, "RFC 5321 4.1.2"}
	// MissingBrackets: RFC 5321 4.1.2, Path = "<" [ A-d-l ":" ] Mailbox ">".
	MissingBrackets = Finding{"missing-angle-brackets", `the address needs angle brackets: "MAIL FROM:<a@b>"`, "RFC 5321 4.1.2"}
	// BadHeloArg: RFC 5321 4.1.1.1, the argument is the client's domain or
	// an address literal. See HeloArg.
	BadHeloArg = Finding{"helo-not-domain", "the HELO/EHLO argument is neither a domain nor an address literal such as [192.0.2.1]", "RFC 5321 4.1.1.1"}
	// NoQuit: RFC 5321 4.1.1.10, the client ends the session with QUIT.
	NoQuit = Finding{"no-quit", "the client closed the connection without QUIT", "RFC 5321 4.1.1.10"}
	// AuthPlaintext: RFC 4954 4, PLAIN and LOGIN need a protected channel.
	AuthPlaintext = Finding{"auth-over-plaintext", "AUTH was used without TLS: the password crossed the network in clear", "RFC 4954 4"}
	// RepeatedParam: RFC 5321 4.1.2, a parameter keyword appears at most
	// once in a MAIL or RCPT command.
	RepeatedParam = Finding{"repeated-parameter", "a MAIL/RCPT parameter was sent twice", "RFC 5321 4.1.2"}
)

// Header findings, returned by Message. They are values, not a table to
// edit: treat them as constants. DuplicateHeader's Text names the field
// when Message returns it.
var (
	// MissingDate: RFC 5322 3.6, orig-date is required (min 1, max 1).
	MissingDate = Finding{"missing-date", "the message has no Date field; add one", "RFC 5322 3.6"}
	// MissingFrom: RFC 5322 3.6, From is required (min 1, max 1).
	MissingFrom = Finding{"missing-from", "the message has no From field; add one", "RFC 5322 3.6"}
	// MissingMessageID: RFC 5322 3.6.4, every message SHOULD have a
	// Message-ID.
	MissingMessageID = Finding{"missing-message-id", "the message has no Message-ID field; add one such as <unique@your.domain>", "RFC 5322 3.6.4"}
	// BadDate: RFC 5322 3.3, the Date field is a date-time.
	BadDate = Finding{"bad-date", `the Date field is not an RFC 5322 date-time such as "Mon, 2 Jan 2006 15:04:05 -0700"`, "RFC 5322 3.3"}
	// BadFrom: RFC 5322 3.6.2, From is a mailbox-list.
	BadFrom = Finding{"bad-from", "the From field is not a valid mailbox list", "RFC 5322 3.6.2"}
	// BadMessageID: RFC 5322 3.6.4, msg-id = "<" id-left "@" id-right ">".
	BadMessageID = Finding{"bad-message-id", "the Message-ID field is not of the form <left@right>", "RFC 5322 3.6.4"}
	// DuplicateHeader: RFC 5322 3.6, the table of fields allows at most one
	// of each originator, destination, identification and Subject field.
	DuplicateHeader = Finding{"duplicate-header", "a field that may appear only once appears more than once", "RFC 5322 3.6"}
	// HeaderLineTooLong: RFC 5322 2.1.1, a line is at most 998 characters;
	// fold long fields.
	HeaderLineTooLong = Finding{"header-line-too-long", "a header line is over 998 characters; fold it onto continuation lines", "RFC 5322 2.1.1"}
	// NonASCIIHeader: RFC 6532 3 allows UTF-8 in headers only when the
	// message travels with SMTPUTF8 (RFC 6531); otherwise RFC 2047 encoded
	// words are the way.
	NonASCIIHeader = Finding{"non-ascii-header", "the header has 8-bit bytes but SMTPUTF8 was not used; use RFC 2047 encoded words (=?UTF-8?B?...?=)", "RFC 6532 3"}
	// NoHeaderBodySeparator: RFC 5322 2.1, an empty line separates the
	// header section from the body.
	NoHeaderBodySeparator = Finding{"no-header-body-separator", "a line that is not a header field appears in the header section; put an empty line between header and body", "RFC 5322 2.1"}
)

// Catalog returns every finding this package defines, session-level ones
// first. It returns a new slice on each call, so there is no shared table
// to modify.
func Catalog() []Finding {
	return []Finding{
		BareLFCommand, BareLFData, BareCRData, LongLine,
		PipeliningWithout, PipeliningGroup, EightBitNoBody, UTF8NoSMTPUTF8,
		SpaceAfterColon, MissingBrackets, BadHeloArg, NoQuit, AuthPlaintext,
		RepeatedParam,
		MissingDate, MissingFrom, MissingMessageID, BadDate, BadFrom,
		BadMessageID, DuplicateHeader, HeaderLineTooLong, NonASCIIHeader,
		NoHeaderBodySeparator,
	}
}
