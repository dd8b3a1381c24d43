package smtp

import (
	"errors"
	"strings"
)

// Verb is an SMTP command verb. Every line read in the command phase
// becomes a Verb; input that is no known command is VerbUnknown, so no raw
// verb string travels past the parser.
type Verb uint8

// The verbs fakesmtp recognises. STARTTLS, AUTH and BDAT are recognised so
// that the session can answer "not implemented" (502) rather than
// "unknown" (500) while they are not offered.
const (
	VerbUnknown Verb = iota
	VerbHelo
	VerbEhlo
	VerbMail
	VerbRcpt
	VerbData
	VerbRset
	VerbNoop
	VerbQuit
	VerbVrfy
	VerbExpn
	VerbHelp
	VerbStartTLS
	VerbAuth
	VerbBdat
	numVerbs
)

var verbNames = [...]string{
	VerbUnknown:  "UNKNOWN",
	VerbHelo:     "HELO",
	VerbEhlo:     "EHLO",
	VerbMail:     "MAIL",
	VerbRcpt:     "RCPT",
	VerbData:     "DATA",
	VerbRset:     "RSET",
	VerbNoop:     "NOOP",
	VerbQuit:     "QUIT",
	VerbVrfy:     "VRFY",
	VerbExpn:     "EXPN",
	VerbHelp:     "HELP",
	VerbStartTLS: "STARTTLS",
	VerbAuth:     "AUTH",
	VerbBdat:     "BDAT",
}

// String returns the verb as written on the wire.
func (v Verb) String() string {
	if int(v) < len(verbNames) {
		return verbNames[v]
	}
	return "UNKNOWN"
}

// Verbs returns every known verb, VerbUnknown included, for table tests.
func Verbs() []Verb {
	vs := make([]Verb, 0, numVerbs)
	for v := VerbUnknown; v < numVerbs; v++ {
		vs = append(vs, v)
	}
	return vs
}

// Command is one parsed command line.
type Command struct {
	Verb Verb
	// Name is the verb as the client wrote it, kept only for logs of
	// unknown commands (escaped by the logger).
	Name string
	// Arg is everything after the verb and its separating space.
	Arg string
}

// ErrBadCharacter reports a control character (NUL, bare CR, ...) in a
// command line. RFC 5321 section 2.4 says receivers SHOULD reject
// commands with such characters rather than guess.
var ErrBadCharacter = errors.New("smtp: invalid character in command")

// ParseCommand parses one command line, given without its line ending.
// Verbs are case-insensitive (RFC 5321 section 2.4). 8-bit bytes are left
// in Arg: only MAIL and RCPT may carry them, under SMTPUTF8 (RFC 6531),
// and the path parser checks that.
func ParseCommand(line string) (Command, error) {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return Command{Verb: VerbUnknown, Name: firstWord(line)}, ErrBadCharacter
		}
	}
	name, arg := line, ""
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		name, arg = line[:i], strings.TrimLeft(line[i+1:], " \t")
	}
	arg = strings.TrimRight(arg, " \t")
	return Command{Verb: lookupVerb(name), Name: name, Arg: arg}, nil
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

func lookupVerb(name string) Verb {
	if len(name) < 4 || len(name) > 8 {
		return VerbUnknown
	}
	for v := VerbHelo; v < numVerbs; v++ {
		if strings.EqualFold(name, verbNames[v]) {
			return v
		}
	}
	return VerbUnknown
}
