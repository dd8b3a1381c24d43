package sasl

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestReplyFor(t *testing.T) {
	for _, tc := range []struct {
		err      error
		code     int
		enhanced [3]int
		text     string
	}{
		{nil, 235, [3]int{2, 7, 0}, "Authentication successful"},
		{ErrUnknownMechanism, 504, [3]int{5, 5, 4}, "Unrecognized authentication type"},
		{errStart, 504, [3]int{5, 5, 4}, "Unrecognized authentication type"},
		{ErrCancelled, 501, [3]int{5, 0, 0}, "Authentication cancelled"},
		{errCancelled, 501, [3]int{5, 0, 0}, "Authentication cancelled"},
		{ErrMalformed, 501, [3]int{5, 5, 2}, "Cannot decode authentication response"},
		{errBase64, 501, [3]int{5, 5, 2}, "Cannot decode authentication response"},
		{errPlainNULs, 501, [3]int{5, 5, 2}, "Cannot decode authentication response"},
		{errCRAMInitial, 501, [3]int{5, 5, 2}, "Cannot decode authentication response"},
		{ErrLineTooLong, 500, [3]int{5, 5, 6}, "Authentication Exchange line is too long"},
		{errTooLong, 500, [3]int{5, 5, 6}, "Authentication Exchange line is too long"},
		{ErrInvalid, 535, [3]int{5, 7, 8}, "Authentication credentials invalid"},
		{errLoginInvalid, 535, [3]int{5, 7, 8}, "Authentication credentials invalid"},
		{ErrAuthzid, 535, [3]int{5, 7, 8}, "Authorization identity not permitted"},
		{ErrTemporary, 454, [3]int{4, 7, 0}, "Temporary authentication failure"},
		{errors.New("something else"), 454, [3]int{4, 7, 0}, "Temporary authentication failure"},
		{fmt.Errorf("session: auth: %w", errPlainInvalid), 535, [3]int{5, 7, 8}, "Authentication credentials invalid"},
	} {
		t.Run(fmt.Sprint(tc.err), func(t *testing.T) {
			code, enh, text := ReplyFor(tc.err)
			if code != tc.code || enh != tc.enhanced || text != tc.text {
				t.Errorf("ReplyFor = %d %v %q, want %d %v %q", code, enh, text, tc.code, tc.enhanced, tc.text)
			}
		})
	}
}

func TestMechanisms(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Verifier
		want []string
	}{
		{"AnyVerifier", AnyVerifier{}, []string{PLAIN, LOGIN, CRAMMD5}},
		{"*AnyVerifier", &AnyVerifier{}, []string{PLAIN, LOGIN, CRAMMD5}},
		{"Passwords", Passwords{"a": "b"}, []string{PLAIN, LOGIN, CRAMMD5}},
		{"Users", testUsers(t), []string{PLAIN, LOGIN}},
		{"wrapper without VerifyCRAMMD5", struct{ Verifier }{AnyVerifier{}}, []string{PLAIN, LOGIN}},
		{"nil", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Mechanisms(tc.v)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Mechanisms = %q, want %q", got, tc.want)
			}
			// Each call returns its own slice: no shared state to corrupt.
			if len(got) > 0 {
				got[0] = "XXX"
				if Mechanisms(tc.v)[0] != PLAIN {
					t.Error("Mechanisms returned a shared slice")
				}
			}
		})
	}
}

// TestErrorMessages checks the house style of every error a Step can carry:
// "sasl: " prefix, lower-case start, and the sentinel it must wrap.
func TestErrorMessages(t *testing.T) {
	for _, err := range stepErrors() {
		msg := err.Error()
		if len(msg) < 6 || msg[:6] != "sasl: " {
			t.Errorf("%q lacks the sasl: prefix", msg)
		}
		if code, _, _ := ReplyFor(err); code == 454 && err != errNoExchange {
			t.Errorf("%q maps to no RFC 4954 reply", msg)
		}
	}
}

// stepErrors lists every error Start and Next return, all constant: the
// fuzz targets check that each Err is one of these, which proves that no
// client input (and so no secret) reaches an error message.
func stepErrors() []error {
	return []error{
		errStart, errCancelled, errTooLong, errBase64, errNoExchange,
		errIdentity, errPlainNULs, errPlainPass, errPlainInvalid,
		errPlainAuthzid, errLoginInvalid, errCRAMInitial, errCRAMForm,
		errCRAMInvalid,
	}
}
