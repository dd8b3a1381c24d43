package diagnose

import (
	"regexp"
	"strings"
	"testing"
)

func TestFindingString(t *testing.T) {
	tests := []struct {
		name string
		f    Finding
		want string
	}{
		{"plain", MissingDate, "missing-date: the message has no Date field; add one (RFC 5322 3.6)"},
		{"crlf in text", Finding{"x", "a\r\nb", "RFC 1"}, "x: a  b (RFC 1)"},
		{"controls everywhere", Finding{"x\n", "t\x00", "R\r"}, "x : t  (R )"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// TestCatalog keeps the codes stable-looking, unique, and every finding
// complete and one line.
func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Catalog() {
		if !kebab.MatchString(f.Code) {
			t.Errorf("code %q is not kebab-case", f.Code)
		}
		if seen[f.Code] {
			t.Errorf("code %q appears twice", f.Code)
		}
		seen[f.Code] = true
		if f.Text == "" || !strings.HasPrefix(f.RFC, "RFC ") {
			t.Errorf("%q: incomplete finding %+v", f.Code, f)
		}
		if strings.ContainsAny(f.Text+f.RFC, "\r\n") {
			t.Errorf("%q: text or RFC has CR/LF", f.Code)
		}
	}
}
