package smtpd_test

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/dnstest"
	"fakesmtp/internal/policy/dnsbl"
	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
)

// listsZone lists the RFC 5782 test address 127.0.0.2 on a blocklist and,
// for the allowlist case, on an allowlist; 127.0.0.1 is on none.
const listsZone = `
$TTL 300
bl.test.            IN SOA ns.bl.test. h.bl.test. 1 3600 600 86400 60
2.0.0.127.bl.test.  IN A 127.0.0.2
bl2.test.           IN SOA ns.bl2.test. h.bl2.test. 1 3600 600 86400 60
2.0.0.127.bl2.test. IN A 127.0.0.4
wl.test.            IN SOA ns.wl.test. h.wl.test. 1 3600 600 86400 60
2.0.0.127.wl.test.  IN A 127.0.10.2
`

// withLists checks clients (loopback included: dns_check_private) against
// the given lists on a real DNS server.
func withLists(t *testing.T, block, allow []string) option {
	opt, _, _ := listsChecker(t, block, allow)
	return opt
}

func listsChecker(t *testing.T, block, allow []string) (option, *dnsbl.Checker, *dnstest.Server) {
	srv := dnstest.Start(t, listsZone)
	res, err := dnsbl.NewResolver(srv.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dnsbl.New(dnsbl.Config{Blocklists: block, Allowlists: allow, Threshold: 1, AllowThreshold: -1, CheckPrivate: true},
		res, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return func(d *smtpd.Deps) { d.DNSBL = c }, c, srv
}

// listsConfig gives the lists time to answer before the banner.
func listsConfig(store bool) smtpd.Config {
	cfg := devConfig()
	cfg.StoreData = store
	cfg.BannerDelay = 500 * time.Millisecond
	return cfg
}

func TestDNSBLListedRefusedWithoutStore(t *testing.T) {
	e := start(t, listsConfig(false), realSleep, withLists(t, []string{"bl.test", "bl2.test"}, nil))
	c := smtptest.DialFrom(t, "127.0.0.2", e.addr)
	r := c.Read()
	if r.Code != 421 || !strings.HasPrefix(r.Lines[0], "4.7.1 ") || !strings.Contains(r.Lines[0], "[127.0.0.2]") ||
		!strings.Contains(r.Lines[0], "bl.test") || !strings.Contains(r.Lines[0], "bl2.test") {
		t.Fatalf("listed client got %v", r)
	}
	c.ExpectClosed()
	// An unlisted client is served.
	c = smtptest.DialFrom(t, "127.0.0.1", e.addr)
	if r := c.Read(); r.Code != 220 {
		t.Fatalf("unlisted client got %v", r)
	}
}

func TestDNSBLReply554(t *testing.T) {
	cfg := listsConfig(false)
	cfg.DNSBLReject554 = true
	e := start(t, cfg, realSleep, withLists(t, []string{"bl.test"}, nil))
	c := smtptest.DialFrom(t, "127.0.0.2", e.addr)
	if r := c.Read(); r.Code != 554 || !strings.HasPrefix(r.Lines[0], "5.7.1 ") {
		t.Fatalf("got %v", r)
	}
}

func TestDNSBLListedCollectedWithStore(t *testing.T) {
	e := start(t, listsConfig(true), realSleep, withLists(t, []string{"bl.test", "bl2.test*2"}, nil))
	c := smtptest.DialFrom(t, "127.0.0.2", e.addr)
	if r := c.Read(); r.Code != 220 {
		t.Fatalf("banner %v", r)
	}
	c.Expect("EHLO x.example", 250)
	if r := sendMessage(t, c, "a@b.example", "c@d.example", "Subject: junk\r\n\r\nbuy\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	m := e.messages()[0]
	got := strings.Join(m.env.Extra, "\n")
	want := "X-FakeSMTP-DNSBL: bl.test=127.0.0.2\nX-FakeSMTP-DNSBL: bl2.test=127.0.0.4\nX-FakeSMTP-DNSBL-Score: 3"
	if got != want {
		t.Fatalf("annotations:\n%s\nwant\n%s", got, want)
	}
	if string(m.body) != "Subject: junk\r\n\r\nbuy\r\n" {
		t.Fatalf("body changed: %q", m.body)
	}
}

func TestDNSBLAllowlistWins(t *testing.T) {
	e := start(t, listsConfig(false), realSleep, withLists(t, []string{"bl.test*5"}, []string{"wl.test"}))
	c := smtptest.DialFrom(t, "127.0.0.2", e.addr)
	if r := c.Read(); r.Code != 220 {
		t.Fatalf("allowlisted client got %v", r)
	}
}

func TestDNSBLLateAnswerRefusedAtMail(t *testing.T) {
	// No banner delay and a slow list: the answer is not in when the
	// banner goes out, so the verdict is taken again at MAIL.
	cfg := listsConfig(false)
	cfg.BannerDelay = 0
	opt, checker, dns := listsChecker(t, []string{"bl.test"}, nil)
	dns.Delay("bl.test", 300*time.Millisecond)
	e := start(t, cfg, opt)
	c := smtptest.DialFrom(t, "127.0.0.2", e.addr)
	if r := c.Read(); r.Code != 220 {
		t.Fatalf("banner %v", r)
	}
	c.Expect("EHLO x.example", 250)
	// Join the session's in-flight lookup (one per client address) and
	// wait for it to finish.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	checker.Start(netip.MustParseAddr("127.0.0.2")).Wait(ctx)
	r := c.Cmd("MAIL FROM:<a@b.example>")
	if r.Code != 421 || !strings.HasPrefix(r.Lines[0], "4.7.1 ") {
		t.Fatalf("MAIL got %v", r)
	}
	c.ExpectClosed()
}
