package smtpd_test

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/policy"
	"fakesmtp/internal/policy/traps"
	"fakesmtp/internal/smtpd"
)

func newTraps(t *testing.T, unknownDomains bool) *traps.Traps {
	t.Helper()
	dir := t.TempDir()
	mb := filepath.Join(dir, "traps")
	os.WriteFile(mb, []byte("spamtrap@local.example\n"), 0o644)
	tr, err := traps.New(traps.Config{Mailboxes: mb, UnknownDomains: unknownDomains, TTL: time.Hour,
		StatePath: filepath.Join(dir, "traps.json"), ListFile: filepath.Join(dir, "trapped")}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTrapMailboxHit(t *testing.T) {
	tr := newTraps(t, false)
	withTraps := func(d *smtpd.Deps) { d.Traps = tr }
	collector := start(t, devConfig(), withTraps)
	c := dialFrom(t, "127.0.0.9", collector.addr)
	c.Expect("EHLO bot.example", 250)
	// The trap address is accepted: the message is the evidence.
	if r := sendMessage(t, c, "bot@spam.example", "spamtrap@local.example", "Subject: buy\r\n\r\nnow\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	m := collector.messages()[0]
	if got := strings.Join(m.env.Extra, "\n"); got != "X-FakeSMTP-Trap: trap mailbox <spamtrap@local.example>" {
		t.Fatalf("annotation %q", got)
	}
	if _, ok := tr.Listed(netip.MustParseAddr("127.0.0.9")); !ok {
		t.Fatal("client not recorded")
	}
	if collector.srv.Counters().TrapHits.Load() != 1 {
		t.Fatal("trap hit not counted")
	}
	// The trapped client is now listed: a receiver that stores nothing
	// refuses it at once; other clients are served.
	cfg := devConfig()
	cfg.StoreData = false
	fakemx := start(t, cfg, withTraps)
	c2 := dialRawFrom(t, "127.0.0.9", fakemx.addr)
	r := c2.Read()
	if r.Code != 421 || !strings.HasPrefix(r.Lines[0], "4.7.1 ") || !strings.Contains(r.Lines[0], "trapped") {
		t.Fatalf("trapped client got %v", r)
	}
	dialFrom(t, "127.0.0.8", fakemx.addr)
}

func TestTrapUnknownDomain(t *testing.T) {
	dir := t.TempDir()
	domains := filepath.Join(dir, "domains")
	os.WriteFile(domains, []byte("local.example\n"), 0o644)
	rc, err := policy.NewRecipients(domains, "")
	if err != nil {
		t.Fatal(err)
	}
	tr := newTraps(t, true)
	e := start(t, devConfig(), func(d *smtpd.Deps) { d.Traps = tr; d.Recipients = rc })
	c := dialFrom(t, "127.0.0.10", e.addr)
	c.Expect("EHLO bot.example", 250)
	c.Expect("MAIL FROM:<bot@spam.example>", 250)
	// Relaying is refused, and the attempt is a trap hit.
	if r := c.Cmd("RCPT TO:<victim@elsewhere.example>"); r.Code != 550 || !strings.HasPrefix(r.Lines[0], "5.7.1") {
		t.Fatal(r)
	}
	entry, ok := tr.Listed(netip.MustParseAddr("127.0.0.10"))
	if !ok || entry.Reason != traps.ReasonUnknownDomain || entry.Rcpt != "victim@elsewhere.example" {
		t.Fatalf("entry %+v %v", entry, ok)
	}
	// Local recipients and postmaster are no trap hits.
	c.Expect("RCPT TO:<user@local.example>", 250)
	if n := e.srv.Counters().TrapHits.Load(); n != 1 {
		t.Fatalf("trap hits = %d", n)
	}
}
