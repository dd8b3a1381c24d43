// Package traps is fakesmtp's spam-trap list, after OpenBSD spamd's
// trapping (spamd(8), spamdb(8)): a client that sends to a trap address,
// or to a domain that is not ours, is recorded by IP address and stays
// listed for a TTL (24 hours by default, spamd's TRAPPED expiry) from its
// last hit. The session treats a listed client as DNS-listed.
//
// The list is published for the real MX in two ways:
//
//   - files: an rbldnsd dataset (ip4set for IPv4, ip6trie beside it for
//     IPv6) and a Postfix cidr table, rewritten atomically on every change
//     (publish.go);
//   - a built-in DNS list server answering RFC 5782 queries (dnsserver.go),
//     which Postfix postscreen_dnsbl_sites can query directly.
//
// The state lives in a JSON file (state.go) so it survives restarts, and
// "fakesmtp traps add|remove" can edit it while the server runs: every
// writer holds a lock (lock*.go), and the server re-reads the file when
// it changes, at most once per StateCheckInterval.
package traps

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTTL is how long a client stays listed after its last trap hit
// when Config.TTL is zero: the 24 hours of spamd's TRAPPED entries
// (grey.c, spamdb(8)) and of its uatraps list, long enough to cover a
// spam run and its retries, short enough that a cleaned-up or reassigned
// address drops off by itself.
const DefaultTTL = 24 * time.Hour

// StateCheckInterval is how often, at most, Listed and Entries look at the
// state file's modification time: a "fakesmtp traps remove" takes effect
// within this time, and a busy server does not stat the file for every
// connection.
const StateCheckInterval = time.Second

// PruneInterval is how often Run removes expired entries and rewrites the
// published files. A minute keeps the published lists at most a minute
// behind Listed, which checks expiry on every call.
const PruneInterval = time.Minute

// maxReasonLen caps a stored reason: it ends up in a DNS TXT string
// (at most 255 bytes, RFC 1035 3.3.14) together with fixed text.
const maxReasonLen = 120

// The reasons Match returns, and the one Add uses when none is given.
const (
	ReasonMailbox       = "trap mailbox"   // RCPT to an address in Config.Mailboxes
	ReasonUnknownDomain = "unknown domain" // RCPT to a non-local domain (spamd's alloweddomains)
	ReasonManual        = "manual"         // added by hand with "fakesmtp traps add"
)

// Config is the traps' part of the settings.
type Config struct {
	// Mailboxes is a file of trap addresses, one per line, "#" comments,
	// compared case-insensitively (key trap_mailboxes); "" = none.
	Mailboxes string
	// UnknownDomains makes RCPT to a domain outside local_domains a trap
	// hit (key trap_unknown_domains), as spamd does for recipients that
	// match no suffix in spamd.alloweddomains.
	UnknownDomains bool
	// TTL is how long a client stays listed after its last hit (key
	// trap_ttl); zero means DefaultTTL.
	TTL time.Duration
	// StatePath is the JSON state file (key trap_state); required.
	StatePath string
	// ListFile is the rbldnsd ip4set file to publish (key trap_list_file);
	// "" publishes nothing. ListFile+".ip6" (rbldnsd ip6trie) and
	// ListFile+".cidr" (Postfix cidr table) are written beside it.
	ListFile string
}

// Entry is one trapped client.
type Entry struct {
	IP     netip.Addr `json:"ip"`
	First  time.Time  `json:"first"`  // first hit of this listing
	Last   time.Time  `json:"last"`   // latest hit; the entry expires at Last+TTL
	Hits   int        `json:"hits"`   // trap hits during this listing (0 for a manual entry)
	Rcpt   string     `json:"rcpt"`   // trap address of the latest hit; never published
	Reason string     `json:"reason"` // why: ReasonMailbox, ReasonUnknownDomain, or the operator's text
}

// Traps matches trap recipients, records trapped clients and answers
// whether a client is listed. It is safe for concurrent use, and several
// Traps (the server and the CLI, in two processes) may share one state
// file.
type Traps struct {
	cfg    Config
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger

	mailboxes atomic.Pointer[map[string]bool]

	// opMu serialises this process's read-modify-write cycles; the file
	// lock serialises them with other processes.
	opMu sync.Mutex

	mu        sync.RWMutex
	entries   map[netip.Addr]Entry
	updated   time.Time // when the state last changed, for the SOA serial
	file      fileStamp // the state file as last read or written
	lastCheck time.Time // when Listed last looked at the file
}

// New loads the trap mailboxes and the state file (a missing state file is
// an empty list) and brings the published files up to date. now is the
// clock (nil means time.Now); logger nil discards.
func New(cfg Config, now func() time.Time, logger *slog.Logger) (*Traps, error) {
	if cfg.StatePath == "" {
		return nil, errors.New("traps: state path is required")
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("traps: negative TTL %v", cfg.TTL)
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &Traps{cfg: cfg, ttl: cfg.TTL, now: now, logger: logger, entries: map[netip.Addr]Entry{}}
	if t.ttl == 0 {
		t.ttl = DefaultTTL
	}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	err := t.update(func(map[netip.Addr]Entry) bool { return false })
	if err != nil {
		return nil, err
	}
	return t, nil
}

// TTL returns the listing time after the last hit.
func (t *Traps) TTL() time.Duration { return t.ttl }

// Reload re-reads the Mailboxes file (on SIGHUP). On error the addresses
// in use stay as they were.
func (t *Traps) Reload() error {
	set, err := ReadMailboxes(t.cfg.Mailboxes)
	if err != nil {
		return err
	}
	t.mailboxes.Store(&set)
	return nil
}

// Mailboxes returns how many trap addresses are loaded.
func (t *Traps) Mailboxes() int { return len(*t.mailboxes.Load()) }

// Match says whether RCPT TO:<rcpt> is a trap hit. rcpt is "local@domain"
// (angle brackets are tolerated); localDomain says whether its domain is
// one of ours, which the session knows from local_domains.
func (t *Traps) Match(rcpt string, localDomain bool) (reason string, ok bool) {
	addr := normalizeAddress(rcpt)
	if (*t.mailboxes.Load())[addr] {
		return ReasonMailbox, true
	}
	// RFC 5321 4.5.1: <postmaster> without a domain must be accepted, so
	// it is never an unknown domain.
	if t.cfg.UnknownDomains && !localDomain && addr != "postmaster" {
		return ReasonUnknownDomain, true
	}
	return "", false
}

// Record lists ip after a trap hit on rcpt: a new listing starts with one
// hit, a live one counts the hit and its TTL starts again from now, so a
// client that keeps hitting traps stays listed.
func (t *Traps) Record(ip netip.Addr, rcpt, reason string) error {
	ip, err := clientIP(ip)
	if err != nil {
		return fmt.Errorf("traps: record: %w", err)
	}
	now := t.now().UTC() // as stored: no monotonic reading, no zone
	reason = cleanReason(reason)
	var hits int
	err = t.update(func(m map[netip.Addr]Entry) bool {
		e, ok := m[ip]
		if !ok || !t.live(e, now) {
			e = Entry{IP: ip, First: now}
		}
		e.Last, e.Rcpt, e.Reason = now, normalizeAddress(rcpt), reason
		e.Hits++
		m[ip] = e
		hits = e.Hits
		return true
	})
	if err != nil {
		return err
	}
	t.logger.Info("trap hit", "client", ip.String(), "rcpt", normalizeAddress(rcpt), "reason", reason,
		"hits", hits, "listed_until", now.Add(t.ttl).UTC().Format(time.RFC3339))
	return nil
}

// Listed returns ip's entry while it is listed (last hit + TTL in the
// future). IPv4-mapped IPv6 addresses are looked up as IPv4. It re-reads
// the state file if another process changed it, looking at most once per
// StateCheckInterval.
func (t *Traps) Listed(ip netip.Addr) (Entry, bool) {
	ip, err := clientIP(ip)
	if err != nil {
		return Entry{}, false
	}
	t.refresh()
	now := t.now()
	t.mu.RLock()
	e, ok := t.entries[ip]
	t.mu.RUnlock()
	if !ok || !t.live(e, now) {
		return Entry{}, false
	}
	return e, true
}

// Entries returns the live entries, sorted by IP.
func (t *Traps) Entries() []Entry {
	t.refresh()
	now := t.now()
	t.mu.RLock()
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		if t.live(e, now) {
			out = append(out, e)
		}
	}
	t.mu.RUnlock()
	sortEntries(out)
	return out
}

// Add lists ip by hand for one TTL, as "spamdb -a -t" does; reason ""
// means ReasonManual. An existing entry keeps its first-hit time and hit
// count and gets the new reason.
func (t *Traps) Add(ip netip.Addr, reason string) error {
	ip, err := clientIP(ip)
	if err != nil {
		return fmt.Errorf("traps: add: %w", err)
	}
	if reason = cleanReason(reason); reason == "" {
		reason = ReasonManual
	}
	now := t.now().UTC()
	err = t.update(func(m map[netip.Addr]Entry) bool {
		e, ok := m[ip]
		if !ok || !t.live(e, now) {
			e = Entry{IP: ip, First: now}
		}
		e.Last, e.Reason = now, reason
		m[ip] = e
		return true
	})
	if err != nil {
		return err
	}
	t.logger.Info("trap entry added", "client", ip.String(), "reason", reason)
	return nil
}

// Remove delists ip; it reports whether ip was listed.
func (t *Traps) Remove(ip netip.Addr) (bool, error) {
	ip, err := clientIP(ip)
	if err != nil {
		return false, fmt.Errorf("traps: remove: %w", err)
	}
	now := t.now()
	var found bool
	err = t.update(func(m map[netip.Addr]Entry) bool {
		e, ok := m[ip]
		if !ok {
			return false
		}
		found = t.live(e, now)
		delete(m, ip)
		return true
	})
	if err != nil {
		return false, err
	}
	if found {
		t.logger.Info("trap entry removed", "client", ip.String())
	}
	return found, nil
}

// Prune drops expired entries from the state file and rewrites the
// published files when they are out of date. Run calls it every
// PruneInterval; Listed does not need it, since it checks expiry itself.
func (t *Traps) Prune() error {
	now := t.now()
	return t.update(func(m map[netip.Addr]Entry) bool {
		changed := false
		for ip, e := range m {
			if !t.live(e, now) {
				delete(m, ip)
				changed = true
				t.logger.Info("trap entry expired", "client", ip.String(), "hits", e.Hits)
			}
		}
		return changed
	})
}

// Run calls Prune every PruneInterval until ctx ends, logging failures.
func (t *Traps) Run(ctx context.Context) {
	tk := time.NewTicker(PruneInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := t.Prune(); err != nil {
				t.logger.Error("trap list prune failed", "err", err)
			}
		}
	}
}

// live says whether e is listed at now.
func (t *Traps) live(e Entry, now time.Time) bool { return now.Before(e.Last.Add(t.ttl)) }

// clientIP validates ip and brings it to the form the list is keyed by:
// IPv4-mapped IPv6 as IPv4, without an IPv6 zone.
func clientIP(ip netip.Addr) (netip.Addr, error) {
	if !ip.IsValid() {
		return netip.Addr{}, errors.New("invalid IP address")
	}
	return ip.Unmap().WithZone(""), nil
}

// cleanReason keeps a reason safe for every place it is published: one
// line of printable ASCII (a TXT string, an rbldnsd value, a Postfix
// reply text), at most maxReasonLen bytes.
func cleanReason(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = ' '
		}
		b = append(b, byte(r))
	}
	s = strings.Join(strings.Fields(string(b)), " ")
	if len(s) > maxReasonLen {
		s = strings.TrimSpace(s[:maxReasonLen])
	}
	return s
}

// normalizeAddress lower-cases an address and drops angle brackets and a
// trailing dot on the domain, so that file entries and RCPT arguments
// compare equal.
func normalizeAddress(a string) string {
	a = strings.TrimSpace(a)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	return strings.TrimSuffix(strings.ToLower(a), ".")
}

// ReadMailboxes reads the trap address file: one local@domain address per
// line, "#" starts a comment, blank lines are skipped; every bad line is
// named in the error. An empty name is no file. `fakesmtp check-config`
// reads the file with it too, so both judge a line alike.
func ReadMailboxes(name string) (map[string]bool, error) {
	set := map[string]bool{}
	if name == "" {
		return set, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("traps: read mailboxes %s: %w", name, err)
	}
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		a := normalizeAddress(line)
		if at := strings.LastIndexByte(a, '@'); at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " \t") {
			bad = append(bad, fmt.Sprintf("line %d: %q is not local@domain", n, line))
			continue
		}
		set[a] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("traps: read mailboxes %s: %w", name, err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("traps: mailboxes %s: %s", name, strings.Join(bad, "; "))
	}
	return set, nil
}

// sortEntries orders entries by IP, IPv4 before IPv6.
func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].IP.Less(es[j].IP) })
}
