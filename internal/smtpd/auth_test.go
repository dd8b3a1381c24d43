package smtpd_test

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtpd"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func usersVerifier(t *testing.T) sasl.Verifier {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "users")
	os.WriteFile(p, []byte("# users\nalice:"+string(h)+"\n"), 0o600)
	u, err := sasl.LoadUsers(p)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func authConfig(v sasl.Verifier) smtpd.Config {
	cfg := devConfig()
	cfg.Auth = v
	cfg.AuthAllowInsecure = true
	cfg.MaxErrors = 3
	return cfg
}

func TestAuthMechanisms(t *testing.T) {
	e := start(t, authConfig(usersVerifier(t)))
	t.Run("PLAIN initial response", func(t *testing.T) {
		c := e.dial()
		if r := c.Expect("EHLO x.example", 250); !ehloHas(r, "AUTH PLAIN LOGIN") {
			t.Fatalf("EHLO %v", r)
		}
		r := c.Cmd("AUTH PLAIN " + b64("\x00alice\x00s3cret-pass"))
		if r.Code != 235 || !strings.HasPrefix(r.Lines[0], "2.7.0") {
			t.Fatal(r)
		}
		c.Expect("AUTH PLAIN "+b64("\x00alice\x00s3cret-pass"), 503)
		if r := sendMessage(t, c, "alice@b.example", "c@d.example", "x\r\n.\r\n"); r.Code != 250 {
			t.Fatal(r)
		}
	})
	t.Run("PLAIN empty initial response", func(t *testing.T) {
		c := e.dial()
		c.Expect("EHLO x.example", 250)
		c.Expect("AUTH PLAIN =", 334)
		c.Expect(b64("\x00alice\x00s3cret-pass"), 235)
	})
	t.Run("LOGIN", func(t *testing.T) {
		c := e.dial()
		c.Expect("EHLO x.example", 250)
		if r := c.Expect("AUTH LOGIN", 334); r.Lines[0] != b64("Username:") {
			t.Fatal(r)
		}
		c.Expect(b64("alice"), 334)
		c.Expect(b64("s3cret-pass"), 235)
	})
	t.Run("wrong password", func(t *testing.T) {
		c := e.dial()
		c.Expect("EHLO x.example", 250)
		if r := c.Cmd("AUTH PLAIN " + b64("\x00alice\x00wrong")); r.Code != 535 || !strings.HasPrefix(r.Lines[0], "5.7.8") {
			t.Fatal(r)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := e.dial()
		c.Expect("EHLO x.example", 250)
		c.Expect("AUTH LOGIN", 334)
		if r := c.Cmd("*"); r.Code != 501 || !strings.HasPrefix(r.Lines[0], "5.0.0") {
			t.Fatal(r)
		}
		c.Expect("NOOP", 250)
	})
	t.Run("unknown mechanism", func(t *testing.T) {
		c := e.dial()
		c.Expect("EHLO x.example", 250)
		c.Expect("AUTH GSSAPI", 504)
	})
	// The logs never hold a password, not even in verbose mode.
	for _, secret := range []string{"s3cret-pass", b64("\x00alice\x00s3cret-pass"), b64("s3cret-pass"), "wrong"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Fatalf("secret %q in the logs", secret)
		}
	}
	if m := e.messages()[0]; strings.Join(m.env.Extra, "\n") != "X-FakeSMTP-Auth-User: alice" {
		t.Fatalf("annotations %q", m.env.Extra)
	}
}

func TestAuthCRAMMD5WithAny(t *testing.T) {
	e := start(t, authConfig(sasl.AnyVerifier{}))
	c := e.dial()
	if r := c.Expect("EHLO x.example", 250); !ehloHas(r, "AUTH PLAIN LOGIN CRAM-MD5") {
		t.Fatalf("EHLO %v", r)
	}
	r := c.Expect("AUTH CRAM-MD5", 334)
	challenge, err := base64.StdEncoding.DecodeString(r.Lines[0])
	if err != nil || !strings.HasSuffix(string(challenge), "@mx.fakesmtp.test>") {
		t.Fatalf("challenge %q %v", challenge, err)
	}
	mac := hmac.New(md5.New, []byte("whatever"))
	mac.Write(challenge)
	c.Expect(b64("bob "+hex.EncodeToString(mac.Sum(nil))), 235)
}

func TestAuthBruteForceHitsErrorLimit(t *testing.T) {
	e := start(t, authConfig(usersVerifier(t)))
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	for i := 0; i < 3; i++ {
		c.Expect(fmt.Sprintf("AUTH PLAIN %s", b64(fmt.Sprintf("\x00alice\x00guess%d", i))), 535)
	}
	if r := c.Cmd("AUTH PLAIN " + b64("\x00alice\x00guess3")); r.Code != 421 {
		t.Fatalf("4th failure: %v", r)
	}
	c.ExpectClosed()
}

func TestAuthNeedsTLS(t *testing.T) {
	cfg := tlsConfig(t)
	cfg.Auth = usersVerifier(t)
	cfg.AuthRequired = true
	e := start(t, cfg)
	c := e.dial()
	if r := c.Expect("EHLO x.example", 250); ehloHas(r, "AUTH PLAIN LOGIN") {
		t.Fatal("AUTH offered in plaintext")
	}
	if r := c.Cmd("AUTH PLAIN " + b64("\x00alice\x00s3cret-pass")); r.Code != 538 || !strings.HasPrefix(r.Lines[0], "5.7.11") {
		t.Fatalf("plaintext AUTH: %v", r)
	}
	c.Expect("STARTTLS", 220)
	tc := smtptestWith(t, upgrade(t, c))
	if r := tc.Expect("EHLO x.example", 250); !ehloHas(r, "AUTH PLAIN LOGIN") {
		t.Fatalf("AUTH not offered over TLS: %v", r)
	}
	if r := tc.Cmd("MAIL FROM:<a@b.example>"); r.Code != 530 {
		t.Fatalf("MAIL without AUTH: %v", r)
	}
	tc.Expect("AUTH PLAIN "+b64("\x00alice\x00s3cret-pass"), 235)
	tc.Expect("MAIL FROM:<a@b.example> AUTH=<>", 250)
}

func TestNetSMTPPlainAuth(t *testing.T) {
	e := start(t, authConfig(usersVerifier(t)))
	auth := smtp.PlainAuth("", "alice", "s3cret-pass", "127.0.0.1")
	if err := smtp.SendMail(e.addr, auth, "alice@b.example", []string{"c@d.example"}, []byte("Subject: a\r\n\r\nb\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := e.messages()[0].env.Extra; len(got) != 1 || got[0] != "X-FakeSMTP-Auth-User: alice" {
		t.Fatalf("annotations %q", got)
	}
}

// An AUTH line that does not parse (a control character in it) is still
// redacted in the log and the transcript: its verb is then unknown, but
// its arguments are credentials all the same.
func TestAuthLineNotParsedIsRedacted(t *testing.T) {
	cfg := authConfig(sasl.AnyVerifier{})
	cfg.AuthAllowInsecure = true
	cfg.Transcript = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	secret := b64("\x00alice\x00TopSecretPassw0rd")
	r := c.Cmd("AUTH PLAIN " + secret + "\x01")
	if r.Code < 500 {
		t.Fatalf("AUTH with a control character: %v", r)
	}
	if strings.Contains(e.logs.String(), secret) {
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, secret) {
				t.Logf("log: %s", l)
			}
		}
		t.Fatal("AUTH credentials in the log")
	}
}
