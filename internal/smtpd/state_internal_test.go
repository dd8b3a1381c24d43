package smtpd

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/smtp"
	"fakesmtp/internal/smtptest"
)

// stateSetup is the dialogue that brings a fresh session into each state.
var stateSetup = [numStates][]string{
	stateConnect: nil,
	stateReady:   {"EHLO client.example"},
	stateMail:    {"EHLO client.example", "MAIL FROM:<a@b.example>"},
	stateRcpt:    {"EHLO client.example", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>"},
}

// verbLine is a well-formed command line for each verb, so that where the
// verb is allowed its handler answers positively.
var verbLine = map[smtp.Verb]string{
	smtp.VerbUnknown:  "FOO bar",
	smtp.VerbHelo:     "HELO client.example",
	smtp.VerbEhlo:     "EHLO client.example",
	smtp.VerbMail:     "MAIL FROM:<e@f.example>",
	smtp.VerbRcpt:     "RCPT TO:<g@h.example>",
	smtp.VerbData:     "DATA",
	smtp.VerbRset:     "RSET",
	smtp.VerbNoop:     "NOOP",
	smtp.VerbQuit:     "QUIT",
	smtp.VerbVrfy:     "VRFY root",
	smtp.VerbExpn:     "EXPN staff",
	smtp.VerbHelp:     "HELP",
	smtp.VerbStartTLS: "STARTTLS",
	smtp.VerbAuth:     "AUTH PLAIN",
	smtp.VerbBdat:     "BDAT 0 LAST",
}

// The first reply line expected for each verb in each state, written out
// independently of the sequence table (RFC 5321 4.1.4 and 4.3.2).
const (
	needHelo   = "503 5.5.1 Error: send HELO/EHLO first"
	needMail   = "503 5.5.1 Error: need MAIL command"
	needRcpt   = "503 5.5.1 Error: need RCPT command"
	nestedMail = "503 5.5.1 Error: nested MAIL command"
	notImpl    = "502 5.5.1 Error: command not implemented"
	badSeq     = "503 5.5.1 Error: bad sequence of commands"
	unknown    = "500 5.5.2 Error: command not recognized"
)

var wantFirstLine = map[smtp.Verb][numStates]string{
	smtp.VerbUnknown: {unknown, unknown, unknown, unknown},
	smtp.VerbHelo:    all4("250 mx.fakesmtp.test"),
	smtp.VerbEhlo:    all4("250-mx.fakesmtp.test Hello client.example [127.0.0.1]"),
	smtp.VerbMail:    {needHelo, "250 2.1.0 Ok", nestedMail, nestedMail},
	smtp.VerbRcpt:    {needMail, needMail, "250 2.1.5 Ok", "250 2.1.5 Ok"},
	smtp.VerbData:    {needMail, needMail, needRcpt, "354 End data with <CR><LF>.<CR><LF>"},
	smtp.VerbRset:    all4("250 2.0.0 Ok"),
	smtp.VerbNoop:    all4("250 2.0.0 Ok"),
	smtp.VerbQuit:    all4("221 2.0.0 Bye"),
	smtp.VerbVrfy:    all4("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery"),
	smtp.VerbExpn:    all4("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery"),
	smtp.VerbHelp:    all4("214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY EXPN HELP"),
	// Without a TLS configuration the STARTTLS handler itself says 502.
	smtp.VerbStartTLS: {needHelo, notImpl, badSeq, badSeq},
	// Without AUTH configured the handler itself says 502.
	smtp.VerbAuth: {needHelo, notImpl, badSeq, badSeq},
	smtp.VerbBdat: all4(notImpl),
}

func all4(s string) [numStates]string { return [numStates]string{s, s, s, s} }

// allowed reports whether want is the handler's answer rather than a
// sequencing refusal.
func allowed(v smtp.Verb, want string) bool {
	if (v == smtp.VerbStartTLS || v == smtp.VerbAuth || v == smtp.VerbBdat) && want == notImpl {
		return true // the handler's answer when TLS is not configured
	}
	return !strings.HasPrefix(want, "503 ") && want != notImpl && want != unknown
}

func TestStateNames(t *testing.T) {
	seen := map[string]bool{}
	for st := state(0); st < numStates; st++ {
		name := st.String()
		if name == "unknown" || seen[name] {
			t.Errorf("state %d has name %q", st, name)
		}
		seen[name] = true
	}
	if got := numStates.String(); got != "unknown" {
		t.Errorf("out-of-range state is %q", got)
	}
}

// TestSequenceTable checks the table itself: every verb has a row (a
// missing row would silently allow the verb everywhere), and each cell
// is zero exactly where the verb is allowed, the refusal otherwise.
func TestSequenceTable(t *testing.T) {
	if len(sequence) != len(smtp.Verbs()) {
		t.Errorf("sequence has %d rows, smtp.Verbs() %d", len(sequence), len(smtp.Verbs()))
	}
	for _, v := range smtp.Verbs() {
		row, ok := sequence[v]
		if !ok {
			t.Errorf("no sequence row for %v", v)
			continue
		}
		want, ok := wantFirstLine[v]
		if !ok {
			t.Fatalf("test has no expectations for %v", v)
		}
		for st := state(0); st < numStates; st++ {
			r := row[st]
			if allowed(v, want[st]) {
				if !r.IsZero() {
					t.Errorf("%v in %v: table refuses with %d, want allowed", v, st, r.Code)
				}
				continue
			}
			if got := strings.TrimSuffix(string(r.Format()), "\r\n"); got != want[st] {
				t.Errorf("%v in %v: table has %q, want %q", v, st, got, want[st])
			}
			if r.Close {
				t.Errorf("%v in %v: a sequencing error must not close the session", v, st)
			}
		}
	}
}

// TestSequenceOverSocket drives every verb × state pair over a real
// connection: a fresh session is brought into the state, the verb is
// sent, and the first reply line must be exactly the expected one.
func TestSequenceOverSocket(t *testing.T) {
	srv, err := New(Config{
		Hostname:       "mx.fakesmtp.test",
		ReceiveTimeout: 5 * time.Second,
		MaxErrors:      10,
		MaxNoop:        10,
		MaxVrfy:        10,
		MaxRcpt:        10,
		MaxSessions:    10,
		MaxDataSize:    1 << 20,
	}, Deps{Logger: slog.New(slog.DiscardHandler), SessionLog: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr := smtptest.Start(t, srv)
	for _, v := range smtp.Verbs() {
		for st := state(0); st < numStates; st++ {
			t.Run(fmt.Sprintf("%v/%v", v, st), func(t *testing.T) {
				c := smtptest.Dial(t, addr)
				if r := c.Read(); r.Code != 220 {
					t.Fatalf("banner %v", r)
				}
				for _, line := range stateSetup[st] {
					if r := c.Cmd(line); r.Code != 250 {
						t.Fatalf("setup %q: %v", line, r)
					}
				}
				c.Send(verbLine[v] + "\r\n")
				// Read the raw first line: the parsed Reply drops the
				// separator, and "250-" vs "250 " matters for EHLO/HELP.
				c.Conn.SetReadDeadline(time.Now().Add(smtptest.Timeout))
				line, err := c.R.ReadString('\n')
				if err != nil {
					t.Fatalf("%q: %v", verbLine[v], err)
				}
				if got, want := strings.TrimSuffix(line, "\r\n"), wantFirstLine[v][st]; got != want {
					t.Fatalf("%q in state %v: %q, want %q", verbLine[v], st, got, want)
				}
			})
		}
	}
}
