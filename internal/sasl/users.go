package sasl

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// bcryptHashLen is the length of a bcrypt hash in the modular crypt format
// "$2y$NN$" + 22 salt + 31 hash characters. bcrypt.Cost checks only a
// minimum, so a longer string (a pasted line with junk after it) would load
// and then never match; it is refused at load time instead.
const bcryptHashLen = 60

// bcryptPrefixes are the bcrypt variants accepted. $2y$ is what
// "htpasswd -B" writes, $2a$ and $2b$ what other tools do; Go's bcrypt
// verifies all three alike.
var bcryptPrefixes = [...]string{"$2a$", "$2b$", "$2y$"}

// Users is a Verifier over an htpasswd file of bcrypt hashes, as written by
// "htpasswd -B": one "user:hash" a line. It holds no clear passwords, so
// Password always returns ok=false and CRAM-MD5 (RFC 2195), which needs
// them, is not offered with it. A Users is read-only once loaded and safe
// for concurrent use.
type Users struct {
	hashes map[string][]byte
	// dummy is one of the loaded hashes, compared against when the user
	// is unknown so that the time Verify takes does not tell which users
	// exist.
	dummy []byte
}

// LoadUsers reads an htpasswd file of bcrypt hashes (see ParseUsers).
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sasl: load users: %w", err)
	}
	defer f.Close()
	return ParseUsers(f, path)
}

// ParseUsers reads htpasswd lines "user:hash" from r; name is the file
// name that errors cite. Blank lines and lines starting with "#" are
// skipped, spaces around a line are ignored, and a UTF-8 byte order mark
// is allowed. Every hash must be bcrypt ($2a$, $2b$ or $2y$): other
// htpasswd formats (MD5 $apr1$, SHA-1 {SHA}, crypt) are a load error naming
// the line. Errors never quote a line, which may hold a hash or, pasted by
// mistake, a password.
func ParseUsers(r io.Reader, name string) (*Users, error) {
	u := &Users{hashes: make(map[string][]byte)}
	first := make(map[string]int) // user → line, to report repeats
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("sasl: load users: %s:%d: want user:bcrypt-hash", name, n)
		}
		if !validIdentity(user) {
			return nil, fmt.Errorf("sasl: load users: %s:%d: user name not UTF-8 or with control characters", name, n)
		}
		if !isBcrypt(hash) {
			return nil, fmt.Errorf("sasl: load users: %s:%d: hash is not bcrypt ($2a$, $2b$ or $2y$, as htpasswd -B writes)", name, n)
		}
		if at, dup := first[user]; dup {
			return nil, fmt.Errorf("sasl: load users: %s:%d: user repeated from line %d", name, n, at)
		}
		first[user] = n
		u.hashes[user] = []byte(hash)
		if u.dummy == nil {
			u.dummy = []byte(hash)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sasl: load users: %s:%d: %w", name, n+1, err)
	}
	return u, nil
}

// isBcrypt reports whether h is a well-formed bcrypt hash of an accepted
// variant.
func isBcrypt(h string) bool {
	ok := false
	for _, p := range bcryptPrefixes {
		ok = ok || strings.HasPrefix(h, p)
	}
	if !ok || len(h) != bcryptHashLen {
		return false
	}
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return false
	}
	// After "$2y$NN$": salt and hash in bcrypt's base64 alphabet.
	for _, c := range []byte(h[7:]) {
		if !(c == '.' || c == '/' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// Verify reports whether pass matches the bcrypt hash of user. An unknown
// user costs a bcrypt comparison all the same, so timing does not reveal
// which users exist.
func (u *Users) Verify(user, pass string) bool {
	if u == nil {
		return false
	}
	h, ok := u.hashes[user]
	if !ok {
		if u.dummy != nil {
			_ = bcrypt.CompareHashAndPassword(u.dummy, []byte(pass))
		}
		return false
	}
	return bcrypt.CompareHashAndPassword(h, []byte(pass)) == nil
}

// Password always returns ok=false: a bcrypt hash holds no clear password.
func (u *Users) Password(user string) (string, bool) { return "", false }

// Len returns the number of users loaded.
func (u *Users) Len() int {
	if u == nil {
		return 0
	}
	return len(u.hashes)
}

// String describes u without its hashes, so that printing or logging a
// Users never shows them.
func (u *Users) String() string { return fmt.Sprintf("sasl.Users(%d users)", u.Len()) }

// GoString is String, for %#v.
func (u *Users) GoString() string { return u.String() }

// validIdentity reports whether s may be a user name: not empty, UTF-8
// (RFC 4616 section 2 sends identities as UTF-8), and free of control
// characters, which have no place in a user name and would let a client
// forge lines in logs and Received headers that quote it.
func validIdentity(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
