package traps

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	dir := t.TempDir()
	boxes := writeFile(t, filepath.Join(dir, "traps.txt"), `# spam traps
Trap@Example.TEST
  old-sales@example.test   # harvested from a 2009 web page

spamtrap@other.example.
`)
	tests := []struct {
		name           string
		unknownDomains bool
		rcpt           string
		local          bool
		want           string
	}{
		{"listed address", false, "trap@example.test", true, ReasonMailbox},
		{"case-insensitive", false, "TRAP@example.TEST", true, ReasonMailbox},
		{"angle brackets", false, "<old-sales@example.test>", true, ReasonMailbox},
		{"trailing dot in file", false, "spamtrap@other.example", true, ReasonMailbox},
		{"comment is not an address", false, "harvested@example.test", true, ""},
		{"ordinary mailbox", false, "alice@example.test", true, ""},
		{"foreign domain, off", false, "bob@elsewhere.test", false, ""},
		{"foreign domain, on", true, "bob@elsewhere.test", false, ReasonUnknownDomain},
		{"local domain, on", true, "alice@example.test", true, ""},
		{"trap wins over unknown domain", true, "spamtrap@other.example", false, ReasonMailbox},
		{"bare postmaster never unknown", true, "postmaster", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTraps(t, Config{Mailboxes: boxes, UnknownDomains: tc.unknownDomains}, newClock())
			got, ok := tr.Match(tc.rcpt, tc.local)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Match(%q, %v) = %q, %v; want %q", tc.rcpt, tc.local, got, ok, tc.want)
			}
		})
	}
}

func TestMailboxesReload(t *testing.T) {
	dir := t.TempDir()
	boxes := writeFile(t, filepath.Join(dir, "traps.txt"), "one@example.test\n")
	tr := newTraps(t, Config{Mailboxes: boxes}, newClock())
	if tr.Mailboxes() != 1 {
		t.Fatalf("Mailboxes() = %d, want 1", tr.Mailboxes())
	}
	writeFile(t, boxes, "two@example.test\nthree@example.test\n")
	if err := tr.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Match("one@example.test", true); ok {
		t.Error("removed address still a trap after Reload")
	}
	if _, ok := tr.Match("two@example.test", true); !ok {
		t.Error("new address not a trap after Reload")
	}
	// A broken file keeps the addresses in use.
	writeFile(t, boxes, "two@example.test\nnot an address\n")
	if err := tr.Reload(); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Reload of a bad file: %v, want an error naming line 2", err)
	}
	if _, ok := tr.Match("three@example.test", true); !ok || tr.Mailboxes() != 2 {
		t.Error("failed Reload changed the addresses in use")
	}
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "traps.json")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no state path", Config{}, "state path is required"},
		{"negative TTL", Config{StatePath: state, TTL: -time.Second}, "negative TTL"},
		{"missing mailboxes", Config{StatePath: state, Mailboxes: filepath.Join(dir, "nope")}, "read mailboxes"},
		{"bad mailbox line", Config{StatePath: state, Mailboxes: writeFile(t, filepath.Join(dir, "b"), "@example.test\n")}, "line 1"},
		{"corrupt state", Config{StatePath: writeFile(t, filepath.Join(dir, "bad.json"), "{")}, "bad.json"},
		{"newer state version", Config{StatePath: writeFile(t, filepath.Join(dir, "v2.json"), `{"version":2}`)}, "version 2"},
		{"invalid IP in state", Config{StatePath: writeFile(t, filepath.Join(dir, "ip.json"), `{"version":1,"entries":[{"ip":""}]}`)}, "entry 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, newClock().Now, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error containing %q", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "traps: ") {
				t.Errorf("error %q lacks the traps: prefix", err)
			}
		})
	}
}

func TestRecordListedUntilTTL(t *testing.T) {
	clk := newClock()
	tr := newTraps(t, Config{TTL: time.Hour}, clk)
	t0 := clk.Now()
	mustRecord(t, tr, "192.0.2.1", "<Trap@Example.test>", ReasonMailbox)

	e, ok := tr.Listed(netip.MustParseAddr("192.0.2.1"))
	want := Entry{IP: netip.MustParseAddr("192.0.2.1"), First: t0, Last: t0, Hits: 1, Rcpt: "trap@example.test", Reason: ReasonMailbox}
	if !ok || e != want {
		t.Fatalf("Listed = %+v, %v; want %+v", e, ok, want)
	}
	if listed(tr, "192.0.2.2") {
		t.Error("an address never recorded is listed")
	}

	// A second hit half-way counts and restarts the TTL.
	clk.Advance(30 * time.Minute)
	t1 := clk.Now()
	mustRecord(t, tr, "192.0.2.1", "bob@elsewhere.test", ReasonUnknownDomain)
	e, _ = tr.Listed(netip.MustParseAddr("192.0.2.1"))
	if e.Hits != 2 || e.First != t0 || e.Last != t1 || e.Reason != ReasonUnknownDomain || e.Rcpt != "bob@elsewhere.test" {
		t.Errorf("after second hit: %+v", e)
	}

	clk.Advance(time.Hour - time.Nanosecond)
	if !listed(tr, "192.0.2.1") {
		t.Error("not listed just before last hit + TTL")
	}
	clk.Advance(time.Nanosecond)
	if listed(tr, "192.0.2.1") {
		t.Error("still listed at last hit + TTL")
	}
	if n := len(tr.Entries()); n != 0 {
		t.Errorf("Entries() after expiry has %d entries", n)
	}

	// A hit after expiry starts a new listing.
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	e, _ = tr.Listed(netip.MustParseAddr("192.0.2.1"))
	if e.Hits != 1 || e.First != clk.Now() {
		t.Errorf("new listing after expiry: %+v", e)
	}
}

func TestDefaultTTL(t *testing.T) {
	clk := newClock()
	tr := newTraps(t, Config{}, clk)
	if tr.TTL() != DefaultTTL || DefaultTTL != 24*time.Hour {
		t.Fatalf("TTL() = %v", tr.TTL())
	}
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	clk.Advance(24*time.Hour - time.Second)
	if !listed(tr, "192.0.2.1") {
		t.Error("not listed after 24h-1s")
	}
	clk.Advance(time.Second)
	if listed(tr, "192.0.2.1") {
		t.Error("listed after 24h")
	}
}

func TestIPv4MappedIsIPv4(t *testing.T) {
	tr := newTraps(t, Config{}, newClock())
	mustRecord(t, tr, "::ffff:192.0.2.7", "trap@example.test", ReasonMailbox)
	for _, ip := range []string{"192.0.2.7", "::ffff:192.0.2.7"} {
		e, ok := tr.Listed(netip.MustParseAddr(ip))
		if !ok || e.IP != netip.MustParseAddr("192.0.2.7") {
			t.Errorf("Listed(%s) = %+v, %v", ip, e, ok)
		}
	}
	mustRecord(t, tr, "2001:db8::7", "trap@example.test", ReasonMailbox)
	if !listed(tr, "2001:db8::7") || listed(tr, "2001:db8::8") {
		t.Error("IPv6 listing wrong")
	}
	if ok, err := tr.Remove(netip.MustParseAddr("::ffff:192.0.2.7")); !ok || err != nil {
		t.Errorf("Remove of the mapped form = %v, %v", ok, err)
	}
	if listed(tr, "192.0.2.7") {
		t.Error("still listed after Remove")
	}
}

func TestInvalidIP(t *testing.T) {
	tr := newTraps(t, Config{}, newClock())
	if err := tr.Record(netip.Addr{}, "trap@example.test", ReasonMailbox); err == nil {
		t.Error("Record of the zero Addr succeeded")
	}
	if err := tr.Add(netip.Addr{}, ""); err == nil {
		t.Error("Add of the zero Addr succeeded")
	}
	if _, err := tr.Remove(netip.Addr{}); err == nil {
		t.Error("Remove of the zero Addr succeeded")
	}
	if _, ok := tr.Listed(netip.Addr{}); ok {
		t.Error("zero Addr listed")
	}
}

func TestAddRemove(t *testing.T) {
	clk := newClock()
	tr := newTraps(t, Config{TTL: time.Hour}, clk)
	if err := tr.Add(netip.MustParseAddr("198.51.100.9"), ""); err != nil {
		t.Fatal(err)
	}
	e, ok := tr.Listed(netip.MustParseAddr("198.51.100.9"))
	if !ok || e.Reason != ReasonManual || e.Hits != 0 {
		t.Errorf("after Add: %+v, %v", e, ok)
	}
	if err := tr.Add(netip.MustParseAddr("198.51.100.9"), "  seen\tin\nlogs "); err != nil {
		t.Fatal(err)
	}
	if e, _ := tr.Listed(netip.MustParseAddr("198.51.100.9")); e.Reason != "seen in logs" {
		t.Errorf("reason = %q", e.Reason)
	}
	if ok, err := tr.Remove(netip.MustParseAddr("198.51.100.9")); !ok || err != nil {
		t.Errorf("Remove = %v, %v", ok, err)
	}
	if ok, err := tr.Remove(netip.MustParseAddr("198.51.100.9")); ok || err != nil {
		t.Errorf("second Remove = %v, %v; want false, nil", ok, err)
	}
}

func TestEntriesSorted(t *testing.T) {
	tr := newTraps(t, Config{}, newClock())
	for _, ip := range []string{"2001:db8::1", "192.0.2.10", "192.0.2.9", "10.0.0.1"} {
		mustRecord(t, tr, ip, "trap@example.test", ReasonMailbox)
	}
	var got []string
	for _, e := range tr.Entries() {
		got = append(got, e.IP.String())
	}
	if want := "10.0.0.1 192.0.2.9 192.0.2.10 2001:db8::1"; strings.Join(got, " ") != want {
		t.Errorf("Entries() = %v, want %s", got, want)
	}
}

func TestCleanReason(t *testing.T) {
	tests := []struct{ in, want string }{
		{"trap mailbox", "trap mailbox"},
		{" two  spaces\r\nand CRLF ", "two spaces and CRLF"},
		{"caf\u00e9", "caf"},
		{"\x00nul", "nul"},
		{strings.Repeat("x", 200), strings.Repeat("x", maxReasonLen)},
	}
	for _, tc := range tests {
		if got := cleanReason(tc.in); got != tc.want {
			t.Errorf("cleanReason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
