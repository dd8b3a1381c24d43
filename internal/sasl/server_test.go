package sasl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// repeatReader yields its bytes over and over: a fixed "random" source.
type repeatReader []byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r[i%len(r)]
	}
	return len(p), nil
}

// failReader fails every read, as a broken random source would.
type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

// The RFC 2195 section 2 example: challenge
// <1896.697170952@postoffice.reston.mci.net>, user tim, password
// tanstaaftanstaaf.
const (
	rfcHost      = "postoffice.reston.mci.net"
	rfcChallenge = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
	rfcResponse  = "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
	rfcDigest    = "b913a602c7eda7a495b4e6e7334d3890"
)

// newRFCServer returns a Server whose CRAM-MD5 challenge is the RFC 2195
// example: 1896 as the random part (0x0768), 697170952 as the time.
func newRFCServer(v Verifier) *Server {
	return NewServer(v, rfcHost, repeatReader{0, 0, 0, 0, 0, 0, 0x07, 0x68},
		func() time.Time { return time.Unix(697170952, 0) })
}

// testUsers returns Users alice:wonderland and bob:builder, hashed at
// bcrypt's lowest cost to keep tests fast.
func testUsers(t testing.TB) *Users {
	t.Helper()
	var b strings.Builder
	for _, up := range [][2]string{{"alice", "wonderland"}, {"bob", "builder"}} {
		h, err := bcrypt.GenerateFromPassword([]byte(up[1]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s\n", up[0], h)
	}
	u, err := ParseUsers(strings.NewReader(b.String()), "test")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// checkStep fails t when st breaks the Step contract.
func checkStep(t testing.TB, st Step) {
	t.Helper()
	switch {
	case !st.Done && (st.Err != nil || st.User != ""):
		t.Fatalf("step not done but has Err %v, User %q", st.Err, st.User)
	case st.Done && st.Challenge != "":
		t.Fatalf("done step has challenge %q", st.Challenge)
	case st.Done && st.Err == nil && st.User == "":
		t.Fatal("authenticated step without User")
	case st.Done && st.Err != nil && st.User != "":
		t.Fatalf("failed step (%v) has User %q", st.Err, st.User)
	}
}

// exchange is one AUTH dialog: the client's AUTH arguments and lines, and
// what the server must answer.
type exchange struct {
	name       string
	v          Verifier
	mech, ir   string
	lines      []string // client lines after the AUTH command
	challenges []string // challenges the server sends, in order
	wantErr    error    // nil: authenticated as wantUser
	wantUser   string
}

func runExchanges(t *testing.T, cases []exchange) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newRFCServer(tc.v)
			var got []string
			st := s.Start(tc.mech, tc.ir)
			checkStep(t, st)
			n := 0
			for ; !st.Done; n++ {
				got = append(got, st.Challenge)
				if n == len(tc.lines) {
					t.Fatalf("server wants line %d after challenges %q; test has %d", n+1, got, len(tc.lines))
				}
				st = s.Next(tc.lines[n])
				checkStep(t, st)
			}
			if n != len(tc.lines) {
				t.Errorf("exchange ended after %d of %d lines", n, len(tc.lines))
			}
			if strings.Join(got, "|") != strings.Join(tc.challenges, "|") || len(got) != len(tc.challenges) {
				t.Errorf("challenges %q, want %q", got, tc.challenges)
			}
			if !errors.Is(st.Err, tc.wantErr) { // errors.Is(err, nil) is err == nil
				t.Errorf("Err = %v, want %v", st.Err, tc.wantErr)
			}
			if st.User != tc.wantUser {
				t.Errorf("User = %q, want %q", st.User, tc.wantUser)
			}
			// The exchange is over: more lines are a session bug.
			if after := s.Next(b64("x")); !after.Done || !errors.Is(after.Err, errNoExchange) {
				t.Errorf("Next after the end = %+v, want errNoExchange", after)
			}
		})
	}
}

func TestPLAIN(t *testing.T) {
	users := testUsers(t)
	ok := b64("\x00alice\x00wonderland")
	runExchanges(t, []exchange{
		{name: "initial response", v: users, mech: PLAIN, ir: ok, wantUser: "alice"},
		{name: "no initial response", v: users, mech: PLAIN, lines: []string{ok}, challenges: []string{""}, wantUser: "alice"},
		{name: "empty initial response", v: users, mech: PLAIN, ir: "=", lines: []string{ok}, challenges: []string{""}, wantUser: "alice"},
		{name: "lower-case mechanism", v: users, mech: "plain", ir: ok, wantUser: "alice"},
		{name: "line with CRLF", v: users, mech: PLAIN, lines: []string{ok + "\r\n"}, challenges: []string{""}, wantUser: "alice"},
		{name: "unpadded base64", v: users, mech: PLAIN, ir: strings.TrimRight(b64("\x00bob\x00builder"), "="), wantUser: "bob"},
		{name: "authzid equal", v: users, mech: PLAIN, ir: b64("alice\x00alice\x00wonderland"), wantUser: "alice"},
		{name: "authzid different", v: users, mech: PLAIN, ir: b64("bob\x00alice\x00wonderland"), wantErr: ErrAuthzid},
		{name: "authzid different, wrong password", v: users, mech: PLAIN, ir: b64("bob\x00alice\x00builder"), wantErr: ErrInvalid},
		{name: "wrong password", v: users, mech: PLAIN, ir: b64("\x00alice\x00builder"), wantErr: ErrInvalid},
		{name: "wrong password after challenge", v: users, mech: PLAIN, lines: []string{b64("\x00alice\x00Wonderland")}, challenges: []string{""}, wantErr: ErrInvalid},
		{name: "unknown user", v: users, mech: PLAIN, ir: b64("\x00carol\x00wonderland"), wantErr: ErrInvalid},
		{name: "no NUL", v: users, mech: PLAIN, ir: b64("alice wonderland"), wantErr: ErrMalformed},
		{name: "one NUL", v: users, mech: PLAIN, ir: b64("alice\x00wonderland"), wantErr: ErrMalformed},
		{name: "three NULs", v: users, mech: PLAIN, ir: b64("\x00alice\x00wonder\x00land"), wantErr: ErrMalformed},
		{name: "trailing NUL", v: users, mech: PLAIN, ir: b64("\x00alice\x00wonderland\x00"), wantErr: ErrMalformed},
		{name: "empty authcid", v: users, mech: PLAIN, ir: b64("\x00\x00wonderland"), wantErr: ErrMalformed},
		{name: "empty passwd", v: AnyVerifier{}, mech: PLAIN, ir: b64("\x00alice\x00"), wantErr: ErrMalformed},
		{name: "authcid with newline", v: AnyVerifier{}, mech: PLAIN, ir: b64("\x00al\r\nice\x00pw"), wantErr: ErrMalformed},
		{name: "authzid with control", v: AnyVerifier{}, mech: PLAIN, ir: b64("a\x1bz\x00alice\x00pw"), wantErr: ErrMalformed},
		{name: "authcid not UTF-8", v: AnyVerifier{}, mech: PLAIN, ir: b64("\x00al\xffice\x00pw"), wantErr: ErrMalformed},
		{name: "empty message", v: AnyVerifier{}, mech: PLAIN, lines: []string{""}, challenges: []string{""}, wantErr: ErrMalformed},
		{name: "bad base64 initial response", v: users, mech: PLAIN, ir: "AGFsaWNl!", wantErr: ErrMalformed},
		{name: "bad base64 line", v: users, mech: PLAIN, lines: []string{"AGFsaWNl!"}, challenges: []string{""}, wantErr: ErrMalformed},
		{name: "wrong padding", v: users, mech: PLAIN, ir: "QQ=", wantErr: ErrMalformed},
		{name: "star initial response is no cancel", v: users, mech: PLAIN, ir: "*", wantErr: ErrMalformed},
		{name: "cancel", v: users, mech: PLAIN, lines: []string{"*"}, challenges: []string{""}, wantErr: ErrCancelled},
		{name: "any verifier", v: AnyVerifier{}, mech: PLAIN, ir: b64("\x00whoever\x00whatever"), wantUser: "whoever"},
		{name: "any verifier, authzid different", v: AnyVerifier{}, mech: PLAIN, ir: b64("root\x00whoever\x00whatever"), wantErr: ErrAuthzid},
		{name: "user name with space and accent", v: AnyVerifier{}, mech: PLAIN, ir: b64("\x00José Ñ\x00pw"), wantUser: "José Ñ"},
	})
}

func TestLOGIN(t *testing.T) {
	users := testUsers(t)
	both := []string{loginUserChallenge, loginPassChallenge}
	runExchanges(t, []exchange{
		{name: "no initial response", v: users, mech: LOGIN, lines: []string{b64("alice"), b64("wonderland")}, challenges: both, wantUser: "alice"},
		{name: "initial response", v: users, mech: LOGIN, ir: b64("bob"), lines: []string{b64("builder")}, challenges: []string{loginPassChallenge}, wantUser: "bob"},
		{name: "empty initial response", v: users, mech: LOGIN, ir: "=", lines: []string{b64("alice"), b64("wonderland")}, challenges: both, wantUser: "alice"},
		{name: "lower-case mechanism", v: users, mech: "login", lines: []string{b64("alice"), b64("wonderland")}, challenges: both, wantUser: "alice"},
		{name: "wrong password", v: users, mech: LOGIN, lines: []string{b64("alice"), b64("builder")}, challenges: both, wantErr: ErrInvalid},
		{name: "wrong password with initial response", v: users, mech: LOGIN, ir: b64("alice"), lines: []string{b64("x")}, challenges: []string{loginPassChallenge}, wantErr: ErrInvalid},
		{name: "unknown user", v: users, mech: LOGIN, lines: []string{b64("carol"), b64("wonderland")}, challenges: both, wantErr: ErrInvalid},
		{name: "empty password", v: users, mech: LOGIN, lines: []string{b64("alice"), ""}, challenges: both, wantErr: ErrInvalid},
		{name: "empty user", v: users, mech: LOGIN, lines: []string{""}, challenges: both[:1], wantErr: ErrMalformed},
		{name: "user with NUL", v: AnyVerifier{}, mech: LOGIN, ir: b64("al\x00ice"), wantErr: ErrMalformed},
		{name: "unpadded initial response", v: users, mech: LOGIN, ir: "YWxpY2U", lines: []string{b64("wonderland")}, challenges: []string{loginPassChallenge}, wantUser: "alice"},
		{name: "bad base64 user", v: users, mech: LOGIN, lines: []string{"YW=xp"}, challenges: both[:1], wantErr: ErrMalformed},
		{name: "bad base64 password", v: users, mech: LOGIN, lines: []string{b64("alice"), "d29u%"}, challenges: both, wantErr: ErrMalformed},
		{name: "bad base64 in initial response", v: users, mech: LOGIN, ir: "YWxp Y2U=", wantErr: ErrMalformed},
		{name: "password with NUL and spaces", v: Passwords{"alice": "a b\x00c"}, mech: LOGIN, lines: []string{b64("alice"), b64("a b\x00c")}, challenges: both, wantUser: "alice"},
		{name: "any verifier", v: AnyVerifier{}, mech: LOGIN, lines: []string{b64("whoever"), b64("")}, challenges: both, wantUser: "whoever"},
	})
}

func TestCRAMMD5(t *testing.T) {
	tim := Passwords{"tim": "tanstaaftanstaaf", "tim smith": "tanstaaftanstaaf"}
	ch := []string{rfcChallenge}
	runExchanges(t, []exchange{
		// RFC 2195 section 2, byte for byte.
		{name: "RFC 2195 example", v: tim, mech: CRAMMD5, lines: []string{rfcResponse}, challenges: ch, wantUser: "tim"},
		{name: "lower-case mechanism", v: tim, mech: "cram-md5", lines: []string{rfcResponse}, challenges: ch, wantUser: "tim"},
		{name: "user name with space", v: tim, mech: CRAMMD5, lines: []string{b64("tim smith " + rfcDigest)}, challenges: ch, wantUser: "tim smith"},
		{name: "wrong digest", v: tim, mech: CRAMMD5, lines: []string{b64("tim " + strings.Repeat("0", 32))}, challenges: ch, wantErr: ErrInvalid},
		{name: "unknown user", v: tim, mech: CRAMMD5, lines: []string{b64("tom " + rfcDigest)}, challenges: ch, wantErr: ErrInvalid},
		{name: "upper-case digest", v: tim, mech: CRAMMD5, lines: []string{b64("tim " + strings.ToUpper(rfcDigest))}, challenges: ch, wantErr: ErrMalformed},
		{name: "short digest", v: tim, mech: CRAMMD5, lines: []string{b64("tim " + rfcDigest[:31])}, challenges: ch, wantErr: ErrMalformed},
		{name: "no space", v: tim, mech: CRAMMD5, lines: []string{b64("tim" + rfcDigest)}, challenges: ch, wantErr: ErrMalformed},
		{name: "empty user", v: tim, mech: CRAMMD5, lines: []string{b64(" " + rfcDigest)}, challenges: ch, wantErr: ErrMalformed},
		{name: "bad base64", v: tim, mech: CRAMMD5, lines: []string{rfcResponse[:10] + "?"}, challenges: ch, wantErr: ErrMalformed},
		{name: "initial response", v: tim, mech: CRAMMD5, ir: rfcResponse, wantErr: ErrMalformed},
		{name: "empty initial response", v: tim, mech: CRAMMD5, ir: "=", wantErr: ErrMalformed},
		{name: "cancel", v: tim, mech: CRAMMD5, lines: []string{"*"}, challenges: ch, wantErr: ErrCancelled},
		{name: "any verifier, any digest", v: AnyVerifier{}, mech: CRAMMD5, lines: []string{b64("whoever " + strings.Repeat("a", 32))}, challenges: ch, wantUser: "whoever"},
		{name: "any verifier, bad form", v: AnyVerifier{}, mech: CRAMMD5, lines: []string{b64("whoever")}, challenges: ch, wantErr: ErrMalformed},
		// bcrypt holds no clear password: CRAM-MD5 is not offered.
		{name: "not offered with Users", v: testUsers(t), mech: CRAMMD5, wantErr: ErrUnknownMechanism},
	})
}

func TestStartUnknownMechanism(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Verifier
		mech string
	}{
		{"XOAUTH2", AnyVerifier{}, "XOAUTH2"},
		{"empty", AnyVerifier{}, ""},
		{"trailing space", AnyVerifier{}, "PLAIN "},
		{"Unicode fold", AnyVerifier{}, "PLAıN"},
		{"Kelvin sign", AnyVerifier{}, "LOGIN\u212a"},
		{"nil verifier", nil, PLAIN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(tc.v, "", nil, nil)
			st := s.Start(tc.mech, "")
			checkStep(t, st)
			if !st.Done || !errors.Is(st.Err, ErrUnknownMechanism) {
				t.Errorf("Start(%q) = %+v, want ErrUnknownMechanism", tc.mech, st)
			}
			if s.Mechanism() != "" {
				t.Errorf("Mechanism() = %q, want empty", s.Mechanism())
			}
		})
	}
}

// TestCancelEveryStep cancels each good exchange at each of its steps.
func TestCancelEveryStep(t *testing.T) {
	users := testUsers(t)
	tim := Passwords{"tim": "tanstaaftanstaaf"}
	for _, tc := range []struct {
		name     string
		v        Verifier
		mech, ir string
		lines    []string
	}{
		{"PLAIN", users, PLAIN, "", []string{b64("\x00alice\x00wonderland")}},
		{"PLAIN empty initial response", users, PLAIN, "=", []string{b64("\x00alice\x00wonderland")}},
		{"LOGIN", users, LOGIN, "", []string{b64("alice"), b64("wonderland")}},
		{"LOGIN initial response", users, LOGIN, b64("alice"), []string{b64("wonderland")}},
		{"CRAM-MD5", tim, CRAMMD5, "", []string{rfcResponse}},
	} {
		for k := range tc.lines {
			t.Run(fmt.Sprintf("%s/step %d", tc.name, k+1), func(t *testing.T) {
				s := newRFCServer(tc.v)
				st := s.Start(tc.mech, tc.ir)
				for _, l := range tc.lines[:k] {
					st = s.Next(l)
				}
				if st.Done {
					t.Fatalf("exchange over before step %d: %+v", k+1, st)
				}
				st = s.Next("*")
				checkStep(t, st)
				if !st.Done || !errors.Is(st.Err, ErrCancelled) {
					t.Fatalf("after *: %+v, want ErrCancelled", st)
				}
				// A new exchange may follow and succeed.
				st = s.Start(tc.mech, tc.ir)
				for _, l := range tc.lines {
					st = s.Next(l)
				}
				if !st.Done || st.Err != nil {
					t.Errorf("exchange after cancel: %+v", st)
				}
			})
		}
	}
}

func TestLineTooLong(t *testing.T) {
	// 12288 octets of valid base64 decode (and then fail as PLAIN); one more
	// octet is refused before decoding.
	atLimit := strings.Repeat("AAAA", MaxLineLength/4)
	over := atLimit + "A"
	for _, tc := range []struct {
		name     string
		mech, ir string
		lines    []string
		tooLong  bool
	}{
		{"initial response at limit", PLAIN, atLimit, nil, false},
		{"initial response over limit", PLAIN, over, nil, true},
		{"line at limit", PLAIN, "", []string{atLimit}, false},
		{"line over limit", PLAIN, "", []string{over}, true},
		{"LOGIN password over limit", LOGIN, b64("alice"), []string{over}, true},
		{"CRAM-MD5 over limit", CRAMMD5, "", []string{over}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRFCServer(AnyVerifier{})
			st := s.Start(tc.mech, tc.ir)
			for _, l := range tc.lines {
				st = s.Next(l)
			}
			checkStep(t, st)
			if !st.Done || !errors.Is(st.Err, ErrMalformed) {
				t.Fatalf("%+v, want ErrMalformed", st)
			}
			if got := errors.Is(st.Err, ErrLineTooLong); got != tc.tooLong {
				t.Errorf("errors.Is(%v, ErrLineTooLong) = %v, want %v", st.Err, got, tc.tooLong)
			}
		})
	}
}

func TestCRAMMD5Challenge(t *testing.T) {
	s := newRFCServer(Passwords{"tim": "tanstaaftanstaaf"})
	st := s.Start(CRAMMD5, "")
	if st.Done || st.Challenge != rfcChallenge {
		t.Fatalf("Start = %+v, want challenge %q", st, rfcChallenge)
	}
	if got, _ := base64.StdEncoding.DecodeString(st.Challenge); string(got) != "<1896.697170952@postoffice.reston.mci.net>" {
		t.Errorf("challenge decodes to %q", got)
	}

	// Real randomness: two challenges differ, and a default host is used.
	s = NewServer(AnyVerifier{}, "", nil, nil)
	a, b := s.Start(CRAMMD5, "").Challenge, s.Start(CRAMMD5, "").Challenge
	if a == b {
		t.Errorf("two challenges are both %q", a)
	}
	if got, _ := base64.StdEncoding.DecodeString(a); !strings.HasSuffix(string(got), "@localhost>") {
		t.Errorf("challenge %q has no default host", got)
	}

	// A random source that fails is a temporary failure.
	st = NewServer(AnyVerifier{}, "h", failReader{}, nil).Start(CRAMMD5, "")
	checkStep(t, st)
	if !errors.Is(st.Err, ErrTemporary) {
		t.Errorf("failed random: %+v, want ErrTemporary", st)
	}
	if code, _, _ := ReplyFor(st.Err); code != 454 {
		t.Errorf("failed random: reply %d, want 454", code)
	}
}

func TestServerLifecycle(t *testing.T) {
	s := NewServer(AnyVerifier{}, "", nil, nil)
	if st := s.Next(b64("\x00a\x00b")); !st.Done || !errors.Is(st.Err, errNoExchange) {
		t.Errorf("Next before Start = %+v", st)
	}
	if code, _, _ := ReplyFor(errNoExchange); code != 454 {
		t.Errorf("ReplyFor(errNoExchange) = %d, want 454", code)
	}
	// A Start in the middle of an exchange drops it.
	if st := s.Start(LOGIN, ""); st.Done {
		t.Fatalf("Start LOGIN: %+v", st)
	}
	if s.Mechanism() != LOGIN {
		t.Errorf("Mechanism() = %q", s.Mechanism())
	}
	if st := s.Start("plain", ""); st.Done || st.Challenge != "" {
		t.Fatalf("Start PLAIN: %+v", st)
	}
	st := s.Next(b64("\x00a\x00b"))
	if !st.Done || st.Err != nil || st.User != "a" || s.Mechanism() != PLAIN {
		t.Errorf("PLAIN after dropped LOGIN: %+v, mechanism %q", st, s.Mechanism())
	}
}

// TestNoSecretInOutput runs exchanges that carry a password and checks
// that nothing the package returns or prints shows it.
func TestNoSecretInOutput(t *testing.T) {
	const secret = "S3cret-Passw0rd"
	for _, tc := range []struct {
		name     string
		v        Verifier
		mech, ir string
		lines    []string
	}{
		{"PLAIN good", Passwords{"alice": secret}, PLAIN, b64("\x00alice\x00" + secret), nil},
		{"PLAIN wrong", Passwords{"alice": "other"}, PLAIN, b64("\x00alice\x00" + secret), nil},
		{"PLAIN extra NUL", Passwords{"alice": secret}, PLAIN, b64("\x00alice\x00" + secret + "\x00"), nil},
		{"PLAIN authzid", Passwords{"alice": secret}, PLAIN, b64("bob\x00alice\x00" + secret), nil},
		{"LOGIN half way", Passwords{"alice": secret}, LOGIN, "", []string{b64("alice")}},
		{"LOGIN wrong", Passwords{"alice": "other"}, LOGIN, b64("alice"), []string{b64(secret)}},
		{"LOGIN bad base64", Passwords{"alice": secret}, LOGIN, b64("alice"), []string{secret + "!"}},
		{"CRAM-MD5 half way", Passwords{"alice": secret}, CRAMMD5, "", nil},
		{"CRAM-MD5 wrong", Passwords{"alice": secret}, CRAMMD5, "", []string{b64("alice " + strings.Repeat("0", 32))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRFCServer(tc.v)
			steps := []Step{s.Start(tc.mech, tc.ir)}
			for _, l := range tc.lines {
				steps = append(steps, s.Next(l))
			}
			out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", s, s, s, *s, *s, *s, tc.v)
			for _, st := range steps {
				out += fmt.Sprintf(" %v %+v %#v", st, st, st)
				if st.Err != nil {
					out += st.Err.Error()
				}
			}
			if strings.Contains(out, secret) {
				t.Errorf("output shows the password: %s", out)
			}
		})
	}
}

func TestStateString(t *testing.T) {
	for st := stateIdle; st <= stateCRAM+1; st++ {
		if st.String() == "" || strings.HasPrefix(st.String(), "state(") != (st > stateCRAM) {
			t.Errorf("state %d String() = %q", st, st.String())
		}
	}
}
