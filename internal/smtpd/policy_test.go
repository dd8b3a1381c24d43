package smtpd_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"fakesmtp/internal/policy"
	"fakesmtp/internal/smtpd"
)

// The tarpit: once the session has errors, each reply waits
// error_delay × errors, capped at error_delay_max. The waits go through
// Deps.Sleep, which the harness records instead of sleeping.
func TestTarpitDelays(t *testing.T) {
	cfg := devConfig()
	cfg.ErrorDelay = 100 * time.Millisecond
	cfg.ErrorDelayMax = 250 * time.Millisecond
	e := start(t, cfg)
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	cmd(t, c, "NOOP", 250, "2.0.0")
	if s := e.sleeps(); len(s) != 0 {
		t.Fatalf("tarpit before any error: %v", s)
	}
	ms := time.Millisecond
	steps := []struct {
		line string
		code int
		enh  string
		want []time.Duration
	}{
		{"FOO", 500, "5.5.2", []time.Duration{100 * ms}},
		{"RCPT TO:<c@d.example>", 503, "5.5.1", []time.Duration{100 * ms, 200 * ms}},
		{"DATA", 503, "5.5.1", []time.Duration{100 * ms, 200 * ms, 250 * ms}},
		// Replies after the errors stay delayed, at the cap.
		{"NOOP", 250, "2.0.0", []time.Duration{100 * ms, 200 * ms, 250 * ms, 250 * ms}},
	}
	for _, st := range steps {
		cmd(t, c, st.line, st.code, st.enh)
		if got := e.sleeps(); !slices.Equal(got, st.want) {
			t.Fatalf("after %q: sleeps %v, want %v", st.line, got, st.want)
		}
	}
}

// do_temp_fail without store_data: DATA itself is refused and the
// session closes, so real senders retry elsewhere.
func TestTempFailWithoutStore(t *testing.T) {
	cfg := devConfig()
	cfg.DoTempFail = true
	cfg.StoreData = false
	e := start(t, cfg)
	c := e.dial()
	startTx(t, c)
	r := cmd(t, c, "DATA", 421, "4.3.2")
	if r.Lines[0] != "4.3.2 Service temporarily unavailable, closing transmission channel" {
		t.Fatalf("reply text %q", r.Lines[0])
	}
	c.ExpectClosed()
	if n := len(e.messages()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// do_temp_fail with store_data: the content is read and durably stored,
// and the sender is still told 421 4.3.2.
func TestTempFailWithStore(t *testing.T) {
	cfg := devConfig()
	cfg.DoTempFail = true
	cfg.StoreData = true
	e := start(t, cfg)
	c := e.dial()
	startTx(t, c)
	cmd(t, c, "DATA", 354, "")
	content := "Subject: kept\r\n\r\nline one\r\n..dot\r\n"
	c.Send(content + ".\r\n")
	r := c.Read()
	wantReply(t, "end of data", r, 421, "4.3.2")
	if r.Lines[0] != "4.3.2 Service temporarily unavailable, closing transmission channel" {
		t.Fatalf("reply text %q", r.Lines[0])
	}
	c.ExpectClosed()
	ms := e.messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages stored", len(ms))
	}
	if want := "Subject: kept\r\n\r\nline one\r\n.dot\r\n"; string(ms[0].body) != want {
		t.Fatalf("stored %q, want %q", ms[0].body, want)
	}
	if tmp := e.tmpFiles(); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

// withRecipients installs the local_domains / local_mailboxes check.
func withRecipients(t *testing.T, domains, mailboxes string) option {
	t.Helper()
	dir := t.TempDir()
	df, mf := filepath.Join(dir, "domains"), filepath.Join(dir, "mailboxes")
	if err := os.WriteFile(df, []byte(domains), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, []byte(mailboxes), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := policy.NewRecipients(df, mf)
	if err != nil {
		t.Fatal(err)
	}
	return func(d *smtpd.Deps) { d.Recipients = rc }
}

func TestLocalDomainsAndMailboxes(t *testing.T) {
	cfg := devConfig()
	cfg.MaxErrors = 1
	opt := withRecipients(t, "local.example\n", "alice@local.example\n")
	e := start(t, cfg, opt)

	t.Run("relay then unknown", func(t *testing.T) {
		c := connect(t, e.addr)
		cmd(t, c, "EHLO client.example", 250, "")
		cmd(t, c, "MAIL FROM:<a@b.example>", 250, "2.1.0")
		// RFC 5321 4.5.1: <postmaster> is accepted whatever the lists say.
		cmd(t, c, "RCPT TO:<postmaster>", 250, "2.1.5")
		cmd(t, c, "RCPT TO:<Alice@LOCAL.example>", 250, "2.1.5")
		r := cmd(t, c, "RCPT TO:<x@remote.example>", 550, "5.7.1")
		if r.Lines[0] != "5.7.1 Relaying denied" {
			t.Fatalf("relay reply %q", r.Lines[0])
		}
		// The refusal counted as an error: the next one ends the session.
		cmd(t, c, "RCPT TO:<bob@local.example>", 421, "4.7.0")
		c.ExpectClosed()
	})
	t.Run("unknown then relay", func(t *testing.T) {
		c := connect(t, e.addr)
		cmd(t, c, "EHLO client.example", 250, "")
		cmd(t, c, "MAIL FROM:<a@b.example>", 250, "2.1.0")
		cmd(t, c, "RCPT TO:<bob@local.example>", 550, "5.1.1")
		cmd(t, c, "RCPT TO:<postmaster>", 250, "2.1.5")
		cmd(t, c, "RCPT TO:<x@remote.example>", 421, "4.7.0")
		c.ExpectClosed()
	})
	t.Run("accepted message", func(t *testing.T) {
		c := connect(t, e.addr)
		cmd(t, c, "EHLO client.example", 250, "")
		r := sendMessage(t, c, "a@b.example", "alice@local.example", "Subject: ok\r\n\r\nx\r\n.\r\n")
		wantReply(t, "message", r, 250, "2.0.0")
	})
}
