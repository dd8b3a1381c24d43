// Package sasl implements the server side of the SASL mechanisms that SMTP
// AUTH (RFC 4954) offers in fakesmtp: PLAIN (RFC 4616), LOGIN (the de-facto
// draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195).
//
// The mechanisms are pure state machines: a Server does no I/O. The SMTP
// session calls Start with the arguments of "AUTH <mech> [initial-response]"
// and Next with each client line; while a Step is not Done the session sends
// "334 " followed by its Challenge (RFC 4954 section 4), and when it is Done
// the session sends the reply that ReplyFor gives for its Err.
//
// Nothing this package returns — errors, Steps, String output — holds a
// password, a password hash or a CRAM-MD5 digest, so the session may log all
// of it. Every error message is a constant: none repeats client input.
package sasl

import (
	"errors"
	"fmt"
)

// Mechanism names, as advertised in the EHLO AUTH keyword (RFC 4954 section 3).
const (
	// PLAIN is RFC 4616: one message "authzid NUL authcid NUL passwd".
	PLAIN = "PLAIN"
	// LOGIN is draft-murchison-sasl-login: user name and password, each
	// after its own challenge.
	LOGIN = "LOGIN"
	// CRAMMD5 is RFC 2195: an HMAC-MD5 of a server challenge keyed with
	// the password, so the password itself never crosses the wire.
	CRAMMD5 = "CRAM-MD5"
)

// MaxLineLength is the longest client response line accepted, in octets,
// without the CRLF. RFC 4954 section 4: a server SHOULD accept responses of
// at least 12288 octets; longer ones are refused with ErrLineTooLong rather
// than decoded, so a client cannot make the server hold unbounded input.
const MaxLineLength = 12288

// The sentinel errors a finished Step carries; check them with errors.Is.
// ReplyFor maps each one to its RFC 4954 reply.
var (
	// ErrUnknownMechanism is returned when the client asks for a
	// mechanism this server does not offer (RFC 4954 section 4: 504 5.5.4).
	ErrUnknownMechanism = errors.New("unsupported mechanism")
	// ErrCancelled is returned when the client sends "*" instead of a
	// response (RFC 4954 section 4: 501 5.0.0).
	ErrCancelled = errors.New("cancelled by client")
	// ErrMalformed is returned for a response that is not base64 or whose
	// decoded form is not what the mechanism expects (RFC 4954 section 4:
	// 501 5.5.2).
	ErrMalformed = errors.New("malformed response")
	// ErrLineTooLong is returned for a line over MaxLineLength octets. It
	// wraps ErrMalformed; ReplyFor gives it the more precise 500 5.5.6 of
	// RFC 4954 section 6.
	ErrLineTooLong = fmt.Errorf("line longer than %d octets: %w", MaxLineLength, ErrMalformed)
	// ErrInvalid is returned for wrong credentials or an unknown user
	// (RFC 4954 section 6: 535 5.7.8). The two are not told apart, so a
	// client cannot probe which users exist.
	ErrInvalid = errors.New("invalid credentials")
	// ErrAuthzid is returned when PLAIN carries an authorization identity
	// other than the authenticated one: nobody may act for someone else
	// here (RFC 4616 section 2 leaves that policy to the server).
	ErrAuthzid = errors.New("authorization identity not permitted")
	// ErrTemporary is returned when the server could not run the exchange,
	// such as a failed read of random bytes for a CRAM-MD5 challenge
	// (RFC 4954 section 6: 454 4.7.0).
	ErrTemporary = errors.New("temporary failure")
)

// The errors a Step carries: each wraps one sentinel with the operation
// that failed. They are built once and hold no client input, which is what
// lets the session log them and FuzzServer check that they never leak a
// secret.
var (
	errStart        = fmt.Errorf("sasl: AUTH: %w", ErrUnknownMechanism)
	errCancelled    = fmt.Errorf(`sasl: client sent "*": %w`, ErrCancelled)
	errTooLong      = fmt.Errorf("sasl: %w", ErrLineTooLong)
	errBase64       = fmt.Errorf("sasl: response is not base64: %w", ErrMalformed)
	errNoExchange   = errors.New("sasl: Next called with no exchange in progress")
	errIdentity     = fmt.Errorf("sasl: user name empty, not UTF-8 or with control characters: %w", ErrMalformed)
	errPlainNULs    = fmt.Errorf("sasl: PLAIN: want authzid NUL authcid NUL passwd: %w", ErrMalformed)
	errPlainPass    = fmt.Errorf("sasl: PLAIN: empty passwd: %w", ErrMalformed)
	errPlainInvalid = fmt.Errorf("sasl: PLAIN: %w", ErrInvalid)
	errPlainAuthzid = fmt.Errorf("sasl: PLAIN: authzid differs from authcid: %w", ErrAuthzid)
	errLoginInvalid = fmt.Errorf("sasl: LOGIN: %w", ErrInvalid)
	errCRAMInitial  = fmt.Errorf("sasl: CRAM-MD5: initial response not allowed: %w", ErrMalformed)
	errCRAMForm     = fmt.Errorf("sasl: CRAM-MD5: want user SP 32 lowercase hex digits: %w", ErrMalformed)
	errCRAMInvalid  = fmt.Errorf("sasl: CRAM-MD5: %w", ErrInvalid)
)

// ReplyFor maps the Err of a finished Step to the SMTP reply the session
// sends: code, RFC 3463 enhanced status code and text, as listed in RFC 4954
// sections 4 and 6. A nil err is success (235 2.7.0); an error this package
// does not know is a temporary failure (454 4.7.0), so the client may retry.
func ReplyFor(err error) (code int, enhanced [3]int, text string) {
	switch {
	case err == nil:
		return 235, [3]int{2, 7, 0}, "Authentication successful"
	case errors.Is(err, ErrUnknownMechanism):
		return 504, [3]int{5, 5, 4}, "Unrecognized authentication type"
	case errors.Is(err, ErrCancelled):
		return 501, [3]int{5, 0, 0}, "Authentication cancelled"
	case errors.Is(err, ErrLineTooLong):
		// Checked before ErrMalformed, which it wraps.
		return 500, [3]int{5, 5, 6}, "Authentication Exchange line is too long"
	case errors.Is(err, ErrMalformed):
		return 501, [3]int{5, 5, 2}, "Cannot decode authentication response"
	case errors.Is(err, ErrInvalid):
		return 535, [3]int{5, 7, 8}, "Authentication credentials invalid"
	case errors.Is(err, ErrAuthzid):
		// RFC 4954 has no code of its own for this; 535 5.7.8 says the
		// credentials do not allow what was asked.
		return 535, [3]int{5, 7, 8}, "Authorization identity not permitted"
	default:
		return 454, [3]int{4, 7, 0}, "Temporary authentication failure"
	}
}

// Mechanisms returns the mechanisms to advertise for v, in order of
// preference: PLAIN and LOGIN always, CRAM-MD5 only when v implements
// CRAMVerifier (it holds clear passwords, or accepts anything). A nil v
// returns nil: AUTH is not offered at all.
func Mechanisms(v Verifier) []string {
	if v == nil {
		return nil
	}
	m := []string{PLAIN, LOGIN}
	if _, ok := v.(CRAMVerifier); ok {
		m = append(m, CRAMMD5)
	}
	return m
}
