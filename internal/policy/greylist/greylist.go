// Package greylist implements greylisting as OpenBSD spamd and postgrey do
// it: the first RCPT of a (client network, sender, recipient) triplet is
// refused with a temporary failure, and a retry after a delay is accepted.
// Real MTAs queue and retry (RFC 5321 4.5.4.1); most spam software does
// not, so it never comes back.
//
// The List only decides; the session builds the reply (451 4.7.1) and
// decides who skips greylisting (allowlisted clients, authenticated
// users). The product leaves greylisting off unless configured: it delays
// every new correspondent, which is the point on a fake MX and a nuisance
// on a developer's catcher.
//
// State survives restarts, a crash of the process included, through an
// append-only journal that is compacted now and then (see journal.go).
package greylist

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Defaults, taken from the two implementations most sites run.
const (
	// DefaultDelay is postgrey's --delay (300 s). Postfix's
	// minimal_backoff_time is also 300 s and Exim's default retry rule
	// retries every 15 minutes, so a real MTA gets through at its first
	// retry; spamd's 25 minutes mostly annoys people waiting for a
	// sign-up mail.
	DefaultDelay = 5 * time.Minute

	// DefaultExpire is spamd's greyexp (4 hours): a sender that has not
	// retried within it is not a queueing MTA, and keeping its triplet
	// longer only grows the list under a spam run.
	DefaultExpire = 4 * time.Hour

	// DefaultPassTTL is spamd's whiteexp (864 hours = 36 days; postgrey's
	// --max-age is 35 days): a correspondent that writes at least monthly
	// is never delayed again, and one that stopped is forgotten.
	DefaultPassTTL = 36 * 24 * time.Hour
)

// pruneMinChecks is the fewest Checks between two automatic prunes. A
// prune walks the whole map, so it runs once every max(len, this) Checks:
// its cost per Check stays constant, and small lists are not walked for
// nothing. Expired entries are ignored by Check anyway, so pruning late
// only costs memory.
const pruneMinChecks = 1000

// Config configures a List. Zero durations take the defaults above.
type Config struct {
	// Delay is how long after the first attempt a retry is refused.
	Delay time.Duration
	// Expire is how long after the first attempt a retry may come; a
	// triplet not retried within it is forgotten and starts over.
	Expire time.Duration
	// PassTTL is how long a triplet that passed keeps passing without
	// being seen; each pass renews it (as postgrey does).
	PassTTL time.Duration
	// Path is the state file (journal). It and its folder are created if
	// missing. Empty keeps the state in memory only. One process at a
	// time may use a file.
	Path string
}

// withDefaults returns c with zero durations replaced by the defaults,
// and every problem found, joined.
func (c Config) withDefaults() (Config, error) {
	if c.Delay == 0 {
		c.Delay = DefaultDelay
	}
	if c.Expire == 0 {
		c.Expire = DefaultExpire
	}
	if c.PassTTL == 0 {
		c.PassTTL = DefaultPassTTL
	}
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"delay", c.Delay}, {"expire", c.Expire}, {"pass TTL", c.PassTTL}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("greylist: negative %s %v", d.name, d.v))
		}
	}
	if c.Delay > 0 && c.Expire > 0 && c.Delay >= c.Expire {
		errs = append(errs, fmt.Errorf("greylist: delay %v is not shorter than expire %v: no retry could ever pass", c.Delay, c.Expire))
	}
	return c, errors.Join(errs...)
}

// Triplet is what greylisting remembers: who connects, from whom and to
// whom. Client is the connecting address; it is grouped by Network.
// Sender is the MAIL FROM address, "" for the null sender (RFC 5321
// 4.5.5: bounces), which stays distinct from every other sender.
// Recipient is one RCPT TO address. Both compare case-insensitively.
type Triplet struct {
	Client    netip.Addr
	Sender    string
	Recipient string
}

// Decision is the answer for one RCPT.
type Decision struct {
	// Pass accepts the RCPT. When false the session replies 451 4.7.1.
	Pass bool
	// New reports that the triplet was not known (or had expired) and
	// this attempt started its delay.
	New bool
	// Wait is, when !Pass, the time until a retry would pass.
	Wait time.Duration
}

// key is a Triplet reduced to what is compared.
type key struct {
	network   netip.Prefix
	sender    string
	recipient string
}

// keyOf groups the client by network and lowers the addresses. Local
// parts are case-sensitive in theory (RFC 5321 2.4) but no real mailbox
// depends on it, and postgrey lowers them too: a sender that retries
// with other case is the same sender.
func keyOf(t Triplet) key {
	return key{network: Network(t.Client), sender: strings.ToLower(t.Sender), recipient: strings.ToLower(t.Recipient)}
}

// Network is the group a client address is greylisted under: its /24 for
// IPv4, its /64 for IPv6. Big senders retry from another address of the
// same pool (postgrey's default --lookup-by-subnet keeps the /24 too),
// and a /64 is one IPv6 subnet, within which a host's temporary addresses
// (RFC 8981) change from one connection to the next. IPv4-mapped IPv6
// addresses (::ffff:192.0.2.1, as a dual-stack listener reports IPv4
// clients) are treated as IPv4. The zero Addr gives the zero Prefix.
func Network(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// entry is the state of one triplet.
type entry struct {
	first time.Time // start of this round: the attempt that found it unknown
	last  time.Time // latest pass; zero while pending
}

func (e entry) passed() bool { return !e.last.IsZero() }

// List is a greylist. It is safe for concurrent use.
type List struct {
	cfg    Config
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	entries map[key]entry
	checks  int // Checks since the last prune
	j       *journal
}

// New returns a List with the state in cfg.Path, if that file exists. A
// missing file is created; a file that cannot be read or parsed is an
// error naming it, except an incomplete last line, which a crash mid-write
// leaves and which is dropped with a warning. A nil now means time.Now.
func New(cfg Config, now func() time.Time, logger *slog.Logger) (*List, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &List{cfg: cfg, now: now, logger: logger, entries: map[key]entry{}}
	if cfg.Path == "" {
		return l, nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), dirPerm); err != nil {
		return nil, fmt.Errorf("greylist: create folder of %s: %w", cfg.Path, err)
	}
	if err := l.load(); err != nil {
		return nil, err
	}
	return l, nil
}

// clock reads the injected clock without Go's monotonic reading, so
// entries made in this process and entries loaded from the journal (which
// holds wall-clock times) are compared the same way.
func (l *List) clock() time.Time { return l.now().Round(0) }

// expired reports whether e no longer counts at now: a pending triplet not
// retried within Expire, or a passed one not seen within PassTTL.
func (l *List) expired(e entry, now time.Time) bool {
	if e.passed() {
		return now.Sub(e.last) > l.cfg.PassTTL
	}
	return now.Sub(e.first) > l.cfg.Expire
}

// Check records an attempt of t and says whether to accept it. Every
// state change (a new triplet, a pass, a renewal) is appended to the
// journal before Check returns; a retry refused during the delay changes
// nothing and writes nothing.
func (l *List) Check(t Triplet) Decision {
	k := keyOf(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()

	l.checks++
	if l.checks >= max(len(l.entries), pruneMinChecks) {
		l.prune(now)
	}

	e, ok := l.entries[k]
	if !ok || l.expired(e, now) {
		e = entry{first: now}
		l.entries[k] = e
		l.record(k, e)
		return Decision{New: true, Wait: l.cfg.Delay}
	}
	if !e.passed() {
		// A clock stepped back makes elapsed negative; count it as
		// a retry at once rather than a longer wait.
		elapsed := max(now.Sub(e.first), 0)
		if elapsed < l.cfg.Delay {
			return Decision{Wait: l.cfg.Delay - elapsed}
		}
	}
	e.last = now
	l.entries[k] = e
	l.record(k, e)
	return Decision{Pass: true}
}

// Len returns the number of triplets waiting for a retry and the number
// that passed, not counting expired ones.
func (l *List) Len() (pending, passed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	for _, e := range l.entries {
		switch {
		case l.expired(e, now):
		case e.passed():
			passed++
		default:
			pending++
		}
	}
	return pending, passed
}

// Prune drops expired entries from memory. Check also prunes, once per
// as many Checks as there are entries (and at least a thousand), so
// calling Prune is only needed to free memory after a quiet spell. The journal keeps their records until the next
// compaction, which Prune starts if the journal is now mostly dead lines.
func (l *List) Prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(l.clock())
	l.maybeCompact()
}

func (l *List) prune(now time.Time) {
	for k, e := range l.entries {
		if l.expired(e, now) {
			delete(l.entries, k)
		}
	}
	l.checks = 0
}

// Close compacts the journal to the live entries, flushes it to stable
// storage and closes it. The List still answers afterwards, in memory
// only. Closing twice is harmless.
func (l *List) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.j == nil {
		return nil
	}
	err := l.compact()
	if f := l.j.f; f != nil {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("greylist: close %s: %w", l.cfg.Path, cerr)
		}
	}
	l.j = nil
	return err
}
