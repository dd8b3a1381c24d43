package sasl

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"fmt"
)

// Verifier checks the credentials a client presents. Implementations must
// be safe for concurrent use: one Verifier serves every session.
type Verifier interface {
	// Verify reports whether pass is the password of user (PLAIN, LOGIN).
	Verify(user, pass string) bool
	// Password returns the clear password of user, for mechanisms that
	// need it such as CRAM-MD5; ok is false when it is not available.
	Password(user string) (pass string, ok bool)
}

// CRAMVerifier is implemented by a Verifier that can check CRAM-MD5
// responses (RFC 2195), either because it holds clear passwords (it then
// typically calls CheckCRAMMD5 with its Password) or because it accepts
// anything. Mechanisms advertises CRAM-MD5 only for such a Verifier, so a
// wrapper around a Verifier must implement it too to keep CRAM-MD5.
type CRAMVerifier interface {
	// VerifyCRAMMD5 reports whether digest (16 octets) is the
	// HMAC-MD5 of challenge keyed with the password of user.
	VerifyCRAMMD5(user, challenge string, digest []byte) bool
}

// CheckCRAMMD5 reports whether digest is HMAC-MD5(pass, challenge), the
// CRAM-MD5 response of RFC 2195 section 2, comparing in constant time.
func CheckCRAMMD5(pass, challenge string, digest []byte) bool {
	m := hmac.New(md5.New, []byte(pass))
	m.Write([]byte(challenge))
	return hmac.Equal(m.Sum(nil), digest)
}

// AnyVerifier accepts every credential: the auth = any mode of a
// development receiver, which takes mail from any client that
// authenticates and shows who it said it was. For CRAM-MD5 it accepts any
// response of the right form (user SP 32 lowercase hex digits); the Server
// checks that form before asking.
type AnyVerifier struct{}

// Verify accepts any user name and password.
func (AnyVerifier) Verify(user, pass string) bool { return true }

// Password returns ok=false: AnyVerifier knows no passwords. CRAM-MD5 goes
// through VerifyCRAMMD5 instead.
func (AnyVerifier) Password(user string) (string, bool) { return "", false }

// VerifyCRAMMD5 accepts any digest.
func (AnyVerifier) VerifyCRAMMD5(user, challenge string, digest []byte) bool { return true }

// Passwords is a Verifier over clear passwords, user name to password: for
// tests and throw-away setups, where it also makes CRAM-MD5 available. Its
// String hides the passwords. Do not modify it while a Server uses it.
type Passwords map[string]string

// Verify reports whether pass is the password of user, comparing in
// constant time.
func (p Passwords) Verify(user, pass string) bool {
	want, ok := p[user]
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(pass)) == 1
}

// Password returns the clear password of user.
func (p Passwords) Password(user string) (string, bool) {
	pass, ok := p[user]
	return pass, ok
}

// VerifyCRAMMD5 checks digest against the password of user with
// CheckCRAMMD5.
func (p Passwords) VerifyCRAMMD5(user, challenge string, digest []byte) bool {
	pass, ok := p[user]
	return ok && CheckCRAMMD5(pass, challenge, digest)
}

// String describes p without its passwords, so that printing or logging a
// Passwords never shows them.
func (p Passwords) String() string { return fmt.Sprintf("sasl.Passwords(%d users)", len(p)) }

// GoString is String, for %#v.
func (p Passwords) GoString() string { return p.String() }
