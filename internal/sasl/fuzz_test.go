package sasl

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

// checkErrText fails t unless err is nil or one of the package's constant
// step errors (stepErrors): that is what proves no client input, and so no
// secret, can reach an error message. It then checks the secrets directly,
// skipping those that are themselves words of the constant messages.
func checkErrText(t *testing.T, err error, secrets []string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	var known strings.Builder
	for _, e := range stepErrors() {
		known.WriteString(e.Error() + "\n")
	}
	if !strings.Contains(known.String(), msg+"\n") {
		t.Fatalf("error %q is not one of the package's constant errors", msg)
	}
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(msg, s) && !strings.Contains(known.String(), s) {
			t.Fatalf("error %q shows client input %q", msg, s)
		}
	}
}

// secretsIn returns what a client line may carry that must not be echoed:
// the line, its base64 decoding, and their NUL- and space-separated fields
// (passwords in PLAIN and LOGIN, digests in CRAM-MD5).
func secretsIn(lines ...string) []string {
	var out []string
	for _, l := range lines {
		forms := []string{l}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
			if b, err := enc.DecodeString(l); err == nil {
				forms = append(forms, string(b))
			}
		}
		for _, f := range forms {
			out = append(out, f)
			out = append(out, strings.Split(f, "\x00")...)
			out = append(out, strings.Fields(f)...)
		}
	}
	return out
}

// FuzzPLAIN feeds arbitrary RFC 4616 messages, as initial response or after
// the empty challenge, and compares the outcome with a model of the rules:
// exactly two NULs, a valid authcid, a non-empty passwd, right credentials,
// and an authzid that is empty or the authcid.
func FuzzPLAIN(f *testing.F) {
	f.Add([]byte("\x00alice\x00wonderland"), false, false)
	f.Fuzz(func(t *testing.T, msg []byte, viaLine, anyV bool) {
		var v Verifier = Passwords{"alice": "wonderland"}
		if anyV {
			v = AnyVerifier{}
		}
		s := NewServer(v, "", repeatReader{1}, nil)
		enc := base64.StdEncoding.EncodeToString(msg)
		var st Step
		if viaLine || len(msg) == 0 { // an empty initial response is "="
			if st = s.Start(PLAIN, ""); st.Done || st.Challenge != "" {
				t.Fatalf("Start(PLAIN) = %+v, want empty challenge", st)
			}
			st = s.Next(enc)
		} else {
			st = s.Start(PLAIN, enc)
		}
		checkStep(t, st)
		if !st.Done {
			t.Fatalf("PLAIN not done after its one message: %+v", st)
		}
		checkErrText(t, st.Err, secretsIn(enc))

		parts := strings.Split(string(msg), "\x00")
		var want error
		switch {
		case len(enc) > MaxLineLength:
			want = ErrLineTooLong
		case len(parts) != 3,
			!validIdentity(parts[1]),
			parts[0] != "" && !validIdentity(parts[0]),
			parts[2] == "":
			want = ErrMalformed
		case !v.Verify(parts[1], parts[2]):
			want = ErrInvalid
		case parts[0] != "" && parts[0] != parts[1]:
			want = ErrAuthzid
		}
		if !errors.Is(st.Err, want) {
			t.Fatalf("PLAIN %q: Err = %v, want %v", msg, st.Err, want)
		}
		if want == nil && st.User != parts[1] {
			t.Fatalf("PLAIN %q: User = %q, want %q", msg, st.User, parts[1])
		}
	})
}

// maxLines is how many client lines after AUTH mech takes at most: an
// exchange still going after that many is a state machine bug.
func maxLines(mech string) int {
	if mech == LOGIN {
		return 2 // user name, password
	}
	return 1 // PLAIN message, CRAM-MD5 response
}

// FuzzServer runs random AUTH exchanges: any mechanism name, initial
// response and up to four "\n"-separated lines, sent as they are or
// base64-encoded, against each kind of Verifier. It must never panic,
// every Step must keep the Step contract, exchanges must end within their
// mechanism's number of lines, and no error may show client input.
func FuzzServer(f *testing.F) {
	users := testUsers(f)
	f.Add(uint8(1), CRAMMD5, "", rfcResponse, false)
	f.Fuzz(func(t *testing.T, kind uint8, mech, ir, lines string, encode bool) {
		var v Verifier
		switch kind % 3 {
		case 0:
			v = AnyVerifier{}
		case 1:
			v = Passwords{"tim": "tanstaaftanstaaf", "alice": "wonderland"}
		default:
			v = users
		}
		send := func(l string) string {
			if !encode || l == "*" {
				return l
			}
			return b64(l)
		}
		sentIR := ir
		if ir != "" && ir != "=" {
			sentIR = send(ir)
		}
		ls := strings.Split(lines, "\n")
		if len(ls) > 4 {
			ls = ls[:4]
		}
		sent := []string{sentIR}
		for _, l := range ls {
			sent = append(sent, send(l))
		}
		secrets := secretsIn(append(sent, append(ls, ir)...)...)

		s := newRFCServer(v)
		st := s.Start(mech, sentIR)
		checkStep(t, st)
		if !st.Done && !slices.Contains(Mechanisms(v), s.Mechanism()) {
			t.Fatalf("exchange runs unadvertised mechanism %q", s.Mechanism())
		}
		for n, l := range sent[1:] {
			if st.Done {
				break
			}
			st = s.Next(l)
			checkStep(t, st)
			if !st.Done && n+1 >= maxLines(s.Mechanism()) {
				t.Fatalf("%s still going after %d lines: %v", s.Mechanism(), n+1, s)
			}
		}
		checkErrText(t, st.Err, secrets)
		if !st.Done {
			return // out of lines
		}
		if st.Err != nil {
			if code, _, _ := ReplyFor(st.Err); code == 454 {
				t.Fatalf("error %v has no RFC 4954 reply", st.Err)
			}
		} else {
			if !validIdentity(st.User) {
				t.Fatalf("authenticated as invalid identity %q", st.User)
			}
			switch v.(type) {
			case Passwords:
				if st.User != "tim" && st.User != "alice" {
					t.Fatalf("authenticated unknown user %q", st.User)
				}
			case *Users:
				if st.User != "alice" && st.User != "bob" || s.Mechanism() == CRAMMD5 {
					t.Fatalf("authenticated %q with %s", st.User, s.Mechanism())
				}
			}
		}
		if after := s.Next(b64("x")); !errors.Is(after.Err, errNoExchange) {
			t.Fatalf("Next after the end = %+v", after)
		}
	})
}
