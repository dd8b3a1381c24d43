package traps

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	wantIP4Head = `# fakesmtp spam-trap list: rbldnsd ip4set dataset (IPv6 clients are in the .ip6 file beside it).
# Rewritten on every change: edit with "fakesmtp traps add|remove", not by hand.
# rbldnsd ZONE:ip4set:LIST ZONE:ip6trie:LIST.ip6
$TTL 300
:127.0.0.2:Trapped by fakesmtp: $ sent mail to a spam trap
# RFC 5782 section 5 test entry
127.0.0.2 RFC 5782 test entry
`
	wantIP6Head = `# fakesmtp spam-trap list: rbldnsd ip6trie dataset (IPv4 clients are in the file without .ip6).
# Rewritten on every change: edit with "fakesmtp traps add|remove", not by hand.
# rbldnsd ZONE:ip4set:LIST ZONE:ip6trie:LIST.ip6
$TTL 300
:127.0.0.2:Trapped by fakesmtp: $ sent mail to a spam trap
# RFC 5782 section 5 test entry
::ffff:7f00:2 RFC 5782 test entry
`
	wantCIDRHead = `# fakesmtp spam-trap list: Postfix cidr table, for check_client_access cidr:FILE.
# Rewritten on every change: edit with "fakesmtp traps add|remove", not by hand.
`
)

func TestPublishedFiles(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	list := filepath.Join(dir, "pub", "traps.rbl")
	tr := newTraps(t, Config{StatePath: filepath.Join(dir, "traps.json"), ListFile: list, TTL: time.Hour}, clk)

	check := func(step, ip4, ip6, cidr string) {
		t.Helper()
		for _, f := range []struct{ name, want string }{
			{list, wantIP4Head + ip4},
			{list + ".ip6", wantIP6Head + ip6},
			{list + ".cidr", wantCIDRHead + cidr},
		} {
			if got := readFile(t, f.name); got != f.want {
				t.Errorf("%s: %s =\n%s\nwant\n%s", step, filepath.Base(f.name), got, f.want)
			}
		}
	}
	check("empty at New", "", "", "")

	mustRecord(t, tr, "192.0.2.10", "trap@example.test", ReasonMailbox)
	mustRecord(t, tr, "2001:db8::1", "x@elsewhere.test", ReasonUnknownDomain)
	mustRecord(t, tr, "127.0.0.1", "trap@example.test", ReasonMailbox) // RFC 5782 5: never in a DNS list
	clk.Advance(30 * time.Minute)
	if err := tr.Add(netip.MustParseAddr("198.51.100.7"), "costs $5"); err != nil {
		t.Fatal(err)
	}
	check("after hits",
		"192.0.2.10 Trapped by fakesmtp: $ sent mail to a spam trap (trap mailbox)\n"+
			"198.51.100.7 Trapped by fakesmtp: $ sent mail to a spam trap (costs $$5)\n",
		"2001:db8::1 Trapped by fakesmtp: $ sent mail to a spam trap (unknown domain)\n",
		"127.0.0.1/32 REJECT trapped by fakesmtp (trap mailbox)\n"+
			"192.0.2.10/32 REJECT trapped by fakesmtp (trap mailbox)\n"+
			"198.51.100.7/32 REJECT trapped by fakesmtp (costs $5)\n"+
			"2001:db8::1/128 REJECT trapped by fakesmtp (unknown domain)\n")

	if _, err := tr.Remove(netip.MustParseAddr("192.0.2.10")); err != nil {
		t.Fatal(err)
	}
	check("after Remove",
		"198.51.100.7 Trapped by fakesmtp: $ sent mail to a spam trap (costs $$5)\n",
		"2001:db8::1 Trapped by fakesmtp: $ sent mail to a spam trap (unknown domain)\n",
		"127.0.0.1/32 REJECT trapped by fakesmtp (trap mailbox)\n"+
			"198.51.100.7/32 REJECT trapped by fakesmtp (costs $5)\n"+
			"2001:db8::1/128 REJECT trapped by fakesmtp (unknown domain)\n")

	// The first three expire an hour after their hit; Prune republishes.
	clk.Advance(30 * time.Minute)
	if err := tr.Prune(); err != nil {
		t.Fatal(err)
	}
	check("after expiry",
		"198.51.100.7 Trapped by fakesmtp: $ sent mail to a spam trap (costs $$5)\n",
		"",
		"198.51.100.7/32 REJECT trapped by fakesmtp (costs $5)\n")

	ents, err := os.ReadDir(filepath.Dir(list))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
		if fi, _ := e.Info(); fi.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v, want 0644 (rbldnsd and Postfix read it)", e.Name(), fi.Mode())
		}
	}
}

// TestRepeatHitKeepsListFiles: a listed client hitting traps again
// changes only the state file; the published files are not rewritten.
func TestRepeatHitKeepsListFiles(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	list := filepath.Join(dir, "traps.rbl")
	tr := newTraps(t, Config{StatePath: filepath.Join(dir, "traps.json"), ListFile: list}, clk)
	mustRecord(t, tr, "192.0.2.10", "trap@example.test", ReasonMailbox)
	before, err := os.Stat(list + ".cidr")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	mustRecord(t, tr, "192.0.2.10", "trap2@example.test", ReasonMailbox)
	after, err := os.Stat(list + ".cidr")
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("cidr file rewritten although its content did not change")
	}
}

// TestRestartRepublishes: a list file deleted (or configured) while the
// server was down is written again by New.
func TestRestartRepublishes(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	cfg := Config{StatePath: filepath.Join(dir, "traps.json"), ListFile: filepath.Join(dir, "traps.rbl")}
	tr := newTraps(t, cfg, clk)
	mustRecord(t, tr, "192.0.2.10", "trap@example.test", ReasonMailbox)
	os.Remove(cfg.ListFile + ".cidr")
	newTraps(t, cfg, clk)
	if s := readFile(t, cfg.ListFile+".cidr"); !strings.Contains(s, "192.0.2.10/32 REJECT") {
		t.Errorf("cidr after restart:\n%s", s)
	}
}
