package policy

import (
	"os"
	"path/filepath"
	"testing"

	"fakesmtp/internal/smtp"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func path(t *testing.T, s string) smtp.Path {
	t.Helper()
	pa, err := smtp.ParseRcptArg("TO:<" + s + ">")
	if err != nil {
		t.Fatal(err)
	}
	return pa.Path
}

func TestRecipients(t *testing.T) {
	domains := write(t, "domains", "# our domains\nexample.test\n  Other.Example  # trailing comment\n\n")
	mailboxes := write(t, "mailboxes", "bob@example.test\nAlice@Other.example\n")
	tests := []struct {
		name               string
		domainsF, mailboxF string
		rcpt               string
		want               int
	}{
		{"all open", "", "", "x@anywhere.example", 0},
		{"local domain", domains, "", "x@example.test", 0},
		{"domain case", domains, "", "x@EXAMPLE.test", 0},
		{"relay denied", domains, "", "x@elsewhere.example", 550},
		{"known mailbox", domains, mailboxes, "bob@example.test", 0},
		{"mailbox case", domains, mailboxes, "alice@other.example", 0},
		{"unknown mailbox", domains, mailboxes, "eve@example.test", 550},
		{"relay before mailbox", domains, mailboxes, "bob@elsewhere.example", 550},
		{"postmaster always", domains, mailboxes, "postmaster", 0},
		{"mailboxes only", "", mailboxes, "eve@example.test", 550},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRecipients(tc.domainsF, tc.mailboxF)
			if err != nil {
				t.Fatal(err)
			}
			got := r.CheckRecipient(path(t, tc.rcpt))
			if got.Code != tc.want {
				t.Fatalf("code %d, want %d", got.Code, tc.want)
			}
		})
	}
	r, _ := NewRecipients(domains, mailboxes)
	if got := r.CheckRecipient(path(t, "x@elsewhere.example")); got.Enhanced != (smtp.EnhancedCode{5, 7, 1}) {
		t.Errorf("relay enhanced code %v", got.Enhanced)
	}
	if got := r.CheckRecipient(path(t, "eve@example.test")); got.Enhanced != (smtp.EnhancedCode{5, 1, 1}) {
		t.Errorf("unknown user enhanced code %v", got.Enhanced)
	}
}

func TestRecipientsReload(t *testing.T) {
	domains := write(t, "domains", "a.example\n")
	r, err := NewRecipients(domains, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.CheckRecipient(path(t, "x@b.example")).Code != 550 {
		t.Fatal("b.example accepted before reload")
	}
	os.WriteFile(domains, []byte("a.example\nb.example\n"), 0o644)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if r.CheckRecipient(path(t, "x@b.example")).Code != 0 {
		t.Fatal("b.example refused after reload")
	}
	os.Remove(domains)
	if err := r.Reload(); err == nil {
		t.Fatal("reload of a missing file succeeded")
	}
	if r.CheckRecipient(path(t, "x@b.example")).Code != 0 {
		t.Fatal("failed reload dropped the lists in use")
	}
}

func TestRecipientsUnreadable(t *testing.T) {
	if _, err := NewRecipients(filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Fatal("missing file accepted")
	}
}
