package sasl

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hashOf returns a bcrypt hash of pass at the lowest cost, as
// "htpasswd -B -C 4" would, with the $2a$ prefix Go writes.
func hashOf(t testing.TB, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "users.htpasswd")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadUsers(t *testing.T) {
	a, b, c := hashOf(t, "wonderland"), hashOf(t, "builder"), hashOf(t, "pass word")
	content := "\ufeff# users for the test receiver\r\n" +
		"\r\n" +
		"alice:" + a + "\r\n" + // $2a$ as Go writes
		"  # indented comment\n" +
		"bob:$2b$" + b[4:] + "\n" + // $2b$ as OpenBSD writes
		"\t carol smith:$2y$" + c[4:] + "  \n" + // $2y$ as htpasswd -B writes; spaces around
		"\n"
	u, err := LoadUsers(writeFile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 3 {
		t.Errorf("Len() = %d, want 3", u.Len())
	}
	for _, tc := range []struct {
		user, pass string
		want       bool
	}{
		{"alice", "wonderland", true},
		{"bob", "builder", true},
		{"carol smith", "pass word", true},
		{"alice", "builder", false},
		{"alice", "Wonderland", false},
		{"alice", "", false},
		{"Alice", "wonderland", false},
		{"dave", "wonderland", false},
		{"", "", false},
		{"alice", strings.Repeat("x", 100), false}, // over bcrypt's 72 octets
	} {
		if got := u.Verify(tc.user, tc.pass); got != tc.want {
			t.Errorf("Verify(%q, %q) = %v, want %v", tc.user, tc.pass, got, tc.want)
		}
	}
	if p, ok := u.Password("alice"); ok || p != "" {
		t.Errorf("Password = %q, %v; want none", p, ok)
	}
	for _, out := range []string{fmt.Sprint(u), fmt.Sprintf("%+v %#v %s", u, u, u)} {
		if strings.Contains(out, "$2") || strings.Contains(out, a[7:20]) {
			t.Errorf("printing Users shows a hash: %s", out)
		}
	}
}

func TestLoadUsersEmpty(t *testing.T) {
	u, err := LoadUsers(writeFile(t, "# nobody yet\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 0 || u.Verify("", "") || u.Verify("alice", "x") {
		t.Errorf("empty Users: Len %d, verifies something", u.Len())
	}
	var none *Users
	if none.Verify("alice", "x") || none.Len() != 0 {
		t.Error("nil Users verifies something")
	}
}

func TestLoadUsersErrors(t *testing.T) {
	good := hashOf(t, "wonderland")
	for _, tc := range []struct {
		name    string
		content string
		line    int
		reason  string
	}{
		{"no colon", "alice\n", 1, "want user:bcrypt-hash"},
		{"password pasted", "# c\nhunter2-secret\n", 2, "want user:bcrypt-hash"},
		{"empty user", ":" + good + "\n", 1, "want user:bcrypt-hash"},
		{"empty hash", "alice:\n", 1, "not bcrypt"},
		{"MD5 apr1", "alice:" + good + "\n\n# x\nbob:$apr1$hunter2s$mEAtoVe3Zfwxac1WmQCzc.\n", 4, "not bcrypt"},
		{"SHA-1", "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 1, "not bcrypt"},
		{"crypt", "bob:rOg2oVnUrNMxQ\n", 1, "not bcrypt"},
		{"plain text", "bob:hunter2-secret\n", 1, "not bcrypt"},
		{"bcrypt $2x$", "bob:$2x$" + good[4:] + "\n", 1, "not bcrypt"},
		{"bcrypt truncated", "bob:" + good[:50] + "\n", 1, "not bcrypt"},
		{"bcrypt with junk", "bob:" + good + "junk\n", 1, "not bcrypt"},
		{"bcrypt bad cost", "bob:$2y$99$" + good[7:] + "\n", 1, "not bcrypt"},
		{"bcrypt bad alphabet", "bob:" + good[:40] + "!" + good[41:] + "\n", 1, "not bcrypt"},
		{"second colon", "bob:" + good + ":extra\n", 1, "not bcrypt"},
		{"control in user", "bo\x1bb:" + good + "\n", 1, "control characters"},
		{"user not UTF-8", "b\xffob:" + good + "\n", 1, "control characters"},
		{"repeated user", "bob:" + good + "\nalice:" + good + "\nbob:" + good + "\n", 3, "repeated from line 1"},
		{"line too long", "bob:" + good + "\n" + strings.Repeat("x", 70000) + "\n", 2, "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.content)
			u, err := LoadUsers(p)
			if err == nil {
				t.Fatalf("loaded %v, want an error", u)
			}
			msg := err.Error()
			if want := fmt.Sprintf("%s:%d: ", p, tc.line); !strings.Contains(msg, want) {
				t.Errorf("error %q does not name %q", msg, want)
			}
			if !strings.Contains(msg, tc.reason) {
				t.Errorf("error %q does not say %q", msg, tc.reason)
			}
			for _, secret := range []string{good[7:], "hunter2", "$apr1$", "W6ph5"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q quotes the file", msg)
				}
			}
		})
	}
}

func TestLoadUsersMissing(t *testing.T) {
	_, err := LoadUsers(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "sasl: load users: ") {
		t.Errorf("err = %v, want a wrapped fs.ErrNotExist", err)
	}
}

func TestPasswords(t *testing.T) {
	p := Passwords{"tim": "tanstaaftanstaaf"}
	digest, _ := hex.DecodeString(rfcDigest)
	const ch = "<1896.697170952@postoffice.reston.mci.net>"
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"Verify right", p.Verify("tim", "tanstaaftanstaaf"), true},
		{"Verify wrong", p.Verify("tim", "tanstaaf"), false},
		{"Verify unknown", p.Verify("tom", "tanstaaftanstaaf"), false},
		{"Verify unknown empty", p.Verify("tom", ""), false},
		{"CRAM-MD5 RFC 2195", p.VerifyCRAMMD5("tim", ch, digest), true},
		{"CRAM-MD5 other challenge", p.VerifyCRAMMD5("tim", ch+" ", digest), false},
		{"CRAM-MD5 unknown user", p.VerifyCRAMMD5("tom", ch, digest), false},
		{"CRAM-MD5 short digest", p.VerifyCRAMMD5("tim", ch, digest[:15]), false},
		{"CheckCRAMMD5 RFC 2195", CheckCRAMMD5("tanstaaftanstaaf", ch, digest), true},
		{"CheckCRAMMD5 wrong key", CheckCRAMMD5("tanstaaf", ch, digest), false},
		{"AnyVerifier", AnyVerifier{}.Verify("", "") && AnyVerifier{}.VerifyCRAMMD5("", "", nil), true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if pass, ok := p.Password("tim"); !ok || pass != "tanstaaftanstaaf" {
		t.Errorf("Password(tim) = %q, %v", pass, ok)
	}
	if _, ok := (AnyVerifier{}).Password("tim"); ok {
		t.Error("AnyVerifier has a password")
	}
	if out := fmt.Sprintf("%v %+v %#v %s", p, p, p, p); strings.Contains(out, "tanstaaf") {
		t.Errorf("printing Passwords shows one: %s", out)
	}
}
