package traps

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fakesmtp/internal/safeio"
)

// AnswerTTL is the TTL of the published listings, in the rbldnsd files
// ($TTL) and in the built-in DNS server's answers. Five minutes bounds how
// long a "fakesmtp traps remove" keeps a client blocked in resolver
// caches, at the price of one query per client per five minutes.
const AnswerTTL = 300 * time.Second

// The suffixes of the files written beside Config.ListFile.
const (
	// IP6Suffix names the rbldnsd ip6trie dataset: rbldnsd's ip4set only
	// parses IPv4 and skips an IPv6 line with an "invalid address"
	// warning, so IPv6 clients need a dataset of their own (attached to
	// the same zone).
	IP6Suffix = ".ip6"
	// CIDRSuffix names the Postfix cidr table (cidr_table(5)), for
	// "check_client_access cidr:FILE" on an MX without a DNS list.
	CIDRSuffix = ".cidr"
)

// The RFC 5782 section 5 test addresses: a DNSxL MUST list 127.0.0.2 (and
// ::FFFF:7F00:2 in IPv6 form) and MUST NOT list 127.0.0.1, so that a
// client can check that a zone really is a DNS list before trusting it
// (section 7). They are published however the list looks.
var (
	testListed    = netip.AddrFrom4([4]byte{127, 0, 0, 2})
	testNotListed = netip.AddrFrom4([4]byte{127, 0, 0, 1})
)

// testReason is the TXT text of the test entry.
const testReason = "RFC 5782 test entry"

// listedA is the A record value of every listing: RFC 5782 2.3 asks for an
// address in 127.0.0.0/8, and 127.0.0.2 is the one every DNSBL client
// (postscreen_dnsbl_sites without a filter, spamd, rspamd) takes as
// "listed".
var listedA = netip.AddrFrom4([4]byte{127, 0, 0, 2})

// listingText is the TXT text of a listing, for the DNS answers and the
// rbldnsd template (where ip is "$", rbldnsd's placeholder for the
// address). It names the reason but never the trap address: publishing
// trap addresses would tell spammers which ones to drop.
func listingText(ip, reason string) string {
	s := "Trapped by fakesmtp: " + ip + " sent mail to a spam trap"
	if reason != "" {
		s += " (" + reason + ")"
	}
	return s
}

// publish rewrites the files for the entries of m live at now, each only
// if its content changed, so that a repeated hit from a listed client
// costs no file writes but the state's.
func (t *Traps) publish(m map[netip.Addr]Entry, now time.Time) error {
	if t.cfg.ListFile == "" {
		return nil
	}
	var live []Entry
	for _, e := range m {
		if t.live(e, now) {
			live = append(live, e)
		}
	}
	sortEntries(live)
	if err := os.MkdirAll(filepath.Dir(t.cfg.ListFile), 0o755); err != nil {
		return fmt.Errorf("traps: publish: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{t.cfg.ListFile, formatRbldnsd(live, false)},
		{t.cfg.ListFile + IP6Suffix, formatRbldnsd(live, true)},
		{t.cfg.ListFile + CIDRSuffix, formatCIDR(live)},
	} {
		if err := writeIfChanged(f.name, f.data); err != nil {
			return fmt.Errorf("traps: publish %s: %w", f.name, err)
		}
	}
	return nil
}

// formatRbldnsd renders an rbldnsd dataset (rbldnsd(8), "ip4set Dataset",
// "ip6trie Dataset", "Resulting A values and TXT templates"): a $TTL line,
// the default ":A:TXT" line, then one address per line followed by its own
// TXT template. The IPv4 file (ip6=false) is an ip4set, the IPv6 file an
// ip6trie; both carry the RFC 5782 test entry and never 127.0.0.1.
func formatRbldnsd(es []Entry, ip6 bool) []byte {
	var b bytes.Buffer
	kind, other := "ip4set", "IPv6 clients are in the "+IP6Suffix+" file beside it"
	if ip6 {
		kind, other = "ip6trie", "IPv4 clients are in the file without "+IP6Suffix
	}
	fmt.Fprintf(&b, "# fakesmtp spam-trap list: rbldnsd %s dataset (%s).\n", kind, other)
	b.WriteString("# Rewritten on every change: edit with \"fakesmtp traps add|remove\", not by hand.\n")
	b.WriteString("# rbldnsd ZONE:ip4set:LIST ZONE:ip6trie:LIST" + IP6Suffix + "\n")
	fmt.Fprintf(&b, "$TTL %d\n", int(AnswerTTL/time.Second))
	fmt.Fprintf(&b, ":%s:%s\n", listedA, listingText("$", ""))
	b.WriteString("# RFC 5782 section 5 test entry\n")
	if ip6 {
		// ::ffff:7f00:2 in hex words: rbldnsd's ip6 parser reads no
		// dotted quad.
		b.WriteString("::ffff:7f00:2 " + testReason + "\n")
	} else {
		fmt.Fprintf(&b, "%s %s\n", testListed, testReason)
	}
	for _, e := range es {
		if e.IP.Is4() == ip6 || e.IP == testListed || e.IP == testNotListed {
			continue
		}
		// "$" is rbldnsd's address placeholder and "$$" a literal "$".
		reason := strings.ReplaceAll(e.Reason, "$", "$$")
		fmt.Fprintf(&b, "%s %s\n", e.IP, listingText("$", reason))
	}
	return b.Bytes()
}

// formatCIDR renders a Postfix cidr table (cidr_table(5)): one
// "address/prefix REJECT text" line per client; Postfix answers 554 5.7.1
// with the text. The RFC 5782 test entries are DNS matters and are left
// out.
func formatCIDR(es []Entry) []byte {
	var b bytes.Buffer
	b.WriteString("# fakesmtp spam-trap list: Postfix cidr table, for check_client_access cidr:FILE.\n")
	b.WriteString("# Rewritten on every change: edit with \"fakesmtp traps add|remove\", not by hand.\n")
	for _, e := range es {
		text := "trapped by fakesmtp"
		if e.Reason != "" {
			text += " (" + e.Reason + ")"
		}
		fmt.Fprintf(&b, "%s REJECT %s\n", netip.PrefixFrom(e.IP, e.IP.BitLen()), text)
	}
	return b.Bytes()
}

// writeIfChanged replaces name atomically unless it already holds data.
func writeIfChanged(name string, data []byte) error {
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return safeio.WriteFile(name, data, 0o644)
}
