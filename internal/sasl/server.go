package sasl

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// The LOGIN challenges of draft-murchison-sasl-login section 2.2:
// base64 of "Username:" and "Password:". Clients look for these exact
// prompts, so they are fixed strings.
const (
	loginUserChallenge = "VXNlcm5hbWU6"
	loginPassChallenge = "UGFzc3dvcmQ6"
)

// defaultHostname is used in CRAM-MD5 challenges when NewServer is given
// none: RFC 2195 section 2 wants a host name there, and any name gives a
// challenge of the right form.
const defaultHostname = "localhost"

// Step is the outcome of one Start or Next call.
type Step struct {
	// Challenge is, while Done is false, the base64 text the session
	// sends after "334 " (RFC 4954 section 4). It may be "".
	Challenge string
	// Done reports that the exchange is over; the session replies with
	// ReplyFor(Err).
	Done bool
	// Err is, when Done, nil for an authenticated client, or an error
	// wrapping one of ErrUnknownMechanism, ErrCancelled, ErrMalformed,
	// ErrInvalid, ErrAuthzid and ErrTemporary. It never holds client
	// input.
	Err error
	// User is, when Done and Err is nil, the authenticated identity (the
	// authcid of RFC 4616; the user name of LOGIN and CRAM-MD5).
	User string
}

// state is where a Server is in an exchange.
type state uint8

const (
	stateIdle      state = iota // no exchange in progress
	statePlain                  // PLAIN: empty challenge sent, awaiting the message
	stateLoginUser              // LOGIN: "Username:" sent
	stateLoginPass              // LOGIN: "Password:" sent
	stateCRAM                   // CRAM-MD5: challenge sent, awaiting the digest
)

// String names st, for Server.String and test failures.
func (st state) String() string {
	switch st {
	case stateIdle:
		return "idle"
	case statePlain:
		return "awaiting PLAIN message"
	case stateLoginUser:
		return "awaiting LOGIN user name"
	case stateLoginPass:
		return "awaiting LOGIN password"
	case stateCRAM:
		return "awaiting CRAM-MD5 response"
	}
	return fmt.Sprintf("state(%d)", uint8(st))
}

// Server runs AUTH exchanges for one SMTP session, one at a time: Start
// begins one, Next feeds it client lines until a Step is Done, after which
// Start may begin another (RFC 4954 section 4 lets a client retry after a
// failure). A Server is not safe for concurrent use; a session owns it.
type Server struct {
	v        Verifier
	hostname string
	random   io.Reader
	now      func() time.Time

	state state
	mech  string // the mechanism of the current or last exchange
	// user is the LOGIN user name, kept between its two challenges.
	user string
	// challenge is the CRAM-MD5 challenge sent, in clear.
	challenge string
}

// NewServer returns a Server that checks credentials with v. hostname
// goes in CRAM-MD5 challenges (RFC 2195 section 2: "<random.timestamp@
// hostname>"); random supplies their random part and now their timestamp,
// so tests can fix them. A nil random is crypto/rand.Reader, a nil now is
// time.Now, an empty hostname is "localhost". With a nil v every mechanism
// is refused.
func NewServer(v Verifier, hostname string, random io.Reader, now func() time.Time) *Server {
	if hostname == "" {
		hostname = defaultHostname
	}
	if random == nil {
		random = rand.Reader
	}
	if now == nil {
		now = time.Now
	}
	return &Server{v: v, hostname: hostname, random: random, now: now}
}

// Mechanism returns the mechanism of the exchange in progress or, after
// one is Done, of the last one; "" before any Start and after a Start that
// named an unknown mechanism.
func (s *Server) Mechanism() string { return s.mech }

// String describes the state of s without any credential. It has a value
// receiver so that printing a Server value, not only a pointer, goes
// through it rather than dumping the fields and with them the Verifier.
func (s Server) String() string {
	return fmt.Sprintf("sasl.Server(%s, %s)", s.mech, s.state)
}

// GoString is String, for %#v.
func (s Server) GoString() string { return s.String() }

// Start begins an exchange for "AUTH mech [ir]", dropping any exchange in
// progress. mech is matched without regard to ASCII case (RFC 4954
// section 4 and RFC 4422 section 3.1 name mechanisms in upper case; some
// clients do not). ir is the initial response as sent: "" when absent,
// "=" when empty (RFC 4954 section 4).
func (s *Server) Start(mech, ir string) Step {
	s.reset()
	s.mech = ""
	for _, m := range Mechanisms(s.v) {
		if equalASCIIFold(m, mech) {
			s.mech = m
		}
	}
	if s.mech == "" {
		return s.finish("", errStart)
	}
	switch s.mech {
	case PLAIN:
		// An absent or empty initial response both mean the client sends
		// its message after an empty challenge: PLAIN has no use for an
		// empty message (RFC 4616 section 2 requires authcid and passwd).
		if ir == "" || ir == "=" {
			s.state = statePlain
			return Step{}
		}
		b, err := decode(ir)
		if err != nil {
			return s.finish("", err)
		}
		return s.plain(b)
	case LOGIN:
		// The initial response, when there is one, is the user name. An
		// empty one is taken as none: an empty user name is no user.
		if ir == "" || ir == "=" {
			s.state = stateLoginUser
			return Step{Challenge: loginUserChallenge}
		}
		b, err := decode(ir)
		if err != nil {
			return s.finish("", err)
		}
		return s.loginUser(b)
	default: // CRAMMD5
		// RFC 4954 section 4: an initial response to a mechanism where the
		// server speaks first is refused with 501.
		if ir != "" {
			return s.finish("", errCRAMInitial)
		}
		return s.cramChallenge()
	}
}

// Next feeds one client line, without its CRLF (a trailing CRLF or LF is
// ignored): base64, or "*" to cancel (RFC 4954 section 4).
func (s *Server) Next(line string) Step {
	if s.state == stateIdle {
		return s.finish("", errNoExchange)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "*" {
		return s.finish("", errCancelled)
	}
	b, err := decode(line)
	if err != nil {
		return s.finish("", err)
	}
	switch s.state {
	case statePlain:
		return s.plain(b)
	case stateLoginUser:
		return s.loginUser(b)
	case stateLoginPass:
		return s.loginPass(b)
	default: // stateCRAM
		return s.cram(b)
	}
}

// plain checks an RFC 4616 section 2 message:
// [authzid] NUL authcid NUL passwd.
func (s *Server) plain(b []byte) Step {
	authzid, rest, ok1 := strings.Cut(string(b), "\x00")
	authcid, passwd, ok2 := strings.Cut(rest, "\x00")
	if !ok1 || !ok2 || strings.IndexByte(passwd, 0) >= 0 {
		return s.finish("", errPlainNULs)
	}
	if !validIdentity(authcid) || authzid != "" && !validIdentity(authzid) {
		return s.finish("", errIdentity)
	}
	if passwd == "" {
		return s.finish("", errPlainPass)
	}
	// Credentials first, then authzid: a client with a wrong password
	// learns only that, whatever identity it asked for.
	if !s.v.Verify(authcid, passwd) {
		return s.finish("", errPlainInvalid)
	}
	if authzid != "" && authzid != authcid {
		return s.finish("", errPlainAuthzid)
	}
	return s.finish(authcid, nil)
}

// loginUser takes the LOGIN user name and asks for the password.
func (s *Server) loginUser(b []byte) Step {
	user := string(b)
	if !validIdentity(user) {
		return s.finish("", errIdentity)
	}
	s.user = user
	s.state = stateLoginPass
	return Step{Challenge: loginPassChallenge}
}

// loginPass checks the LOGIN password against the user name taken before.
func (s *Server) loginPass(b []byte) Step {
	user := s.user
	if !s.v.Verify(user, string(b)) {
		return s.finish("", errLoginInvalid)
	}
	return s.finish(user, nil)
}

// cramChallenge sends the RFC 2195 section 2 challenge
// "<random.timestamp@hostname>".
func (s *Server) cramChallenge() Step {
	var r [8]byte
	if _, err := io.ReadFull(s.random, r[:]); err != nil {
		return s.finish("", fmt.Errorf("sasl: CRAM-MD5: random challenge: %w: %w", ErrTemporary, err))
	}
	s.challenge = fmt.Sprintf("<%d.%d@%s>", binary.BigEndian.Uint64(r[:]), s.now().Unix(), s.hostname)
	s.state = stateCRAM
	return Step{Challenge: base64.StdEncoding.EncodeToString([]byte(s.challenge))}
}

// cram checks the RFC 2195 section 2 response: user name, a space, and
// the HMAC-MD5 of the challenge keyed with the password as 32 lowercase
// hex digits. The user name runs to the last space, so it may hold spaces.
func (s *Server) cram(b []byte) Step {
	resp := string(b)
	i := strings.LastIndexByte(resp, ' ')
	if i < 0 || !isLowerHex(resp[i+1:], 32) {
		return s.finish("", errCRAMForm)
	}
	user := resp[:i]
	if !validIdentity(user) {
		return s.finish("", errIdentity)
	}
	digest, err := hex.DecodeString(resp[i+1:])
	cv, ok := s.v.(CRAMVerifier)
	if err != nil || !ok || !cv.VerifyCRAMMD5(user, s.challenge, digest) {
		return s.finish("", errCRAMInvalid)
	}
	return s.finish(user, nil)
}

// finish ends the exchange with user authenticated (err nil) or err.
func (s *Server) finish(user string, err error) Step {
	s.reset()
	if err != nil {
		user = ""
	}
	return Step{Done: true, Err: err, User: user}
}

// reset forgets the exchange in progress but not its mechanism.
func (s *Server) reset() {
	s.state = stateIdle
	s.user = ""
	s.challenge = ""
}

// decode checks the length of a client line and decodes its base64 (RFC
// 4954 section 4 uses RFC 4648 base64). Padding may be left out, as some
// clients do, but not be wrong.
func decode(line string) ([]byte, error) {
	if len(line) > MaxLineLength {
		return nil, errTooLong
	}
	enc := base64.StdEncoding
	if !strings.ContainsRune(line, '=') {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(line)
	if err != nil {
		return nil, errBase64
	}
	return b, nil
}

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// equalASCIIFold reports whether a and b are equal ignoring ASCII case
// only: strings.EqualFold would also match Unicode look-alikes such as the
// Kelvin sign for "K".
func equalASCIIFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
