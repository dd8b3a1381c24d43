package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Cache bounds for a client's result (postscreen's clamp): long enough to
// spare the lists a query per connection of a busy bot, short enough that
// a delisted client is seen soon.
const (
	MinCacheTTL = 60 * time.Second
	MaxCacheTTL = time.Hour
	// SelfCheckInterval is how often the RFC 5782 section 5 test entries
	// are checked again (Haraka checks every 30 minutes too).
	SelfCheckInterval = 30 * time.Minute
	// DefaultTimeout bounds one query. The verdict never waits for it: it
	// takes what has answered when the banner is due.
	DefaultTimeout = 3 * time.Second
	// maxCacheEntries bounds the per-client cache under a flood of
	// distinct addresses; expired entries are swept when it is reached.
	maxCacheEntries = 100000
)

// Config configures a Checker.
type Config struct {
	// Blocklists are rbl_providers entries (weight +1 unless written).
	Blocklists []string
	// Allowlists are rwl_providers entries (weight -1 unless written).
	Allowlists []string
	// Threshold is the score at which a client is listed (dnsbl_threshold).
	Threshold int
	// AllowThreshold is the sum of negative weights at or below which a
	// client is allowlisted (dnswl_threshold).
	AllowThreshold int
	// Timeout bounds one query (DefaultTimeout if 0).
	Timeout time.Duration
	// CheckPrivate also checks private and special addresses (a lab
	// setting).
	CheckPrivate bool
	// Observe, when set, is told each query's zone, duration and
	// failure (nil error when it was answered), for metrics. It must not
	// block.
	Observe func(zone string, d time.Duration, err error)
}

// Checker runs list lookups for client addresses, with a per-client cache
// and one shared lookup for concurrent connections from one address.
type Checker struct {
	cfg     Config
	entries []Entry
	zones   []string
	res     Resolver
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	cache    map[netip.Addr]*Lookup
	disabled map[string]string // zone → why

	stats map[string]*ZoneStats
}

// ZoneStats counts what one list did.
type ZoneStats struct {
	Queries, Failures atomic.Int64
}

// New parses the entries and returns a Checker. An empty configuration is
// valid: Enabled then reports false.
func New(cfg Config, res Resolver, logger *slog.Logger, now func() time.Time) (*Checker, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if now == nil {
		now = time.Now
	}
	c := &Checker{cfg: cfg, res: res, log: logger, now: now,
		cache: map[netip.Addr]*Lookup{}, disabled: map[string]string{}, stats: map[string]*ZoneStats{}}
	var errs []error
	add := func(list []string, weight int) {
		for _, s := range list {
			e, err := ParseEntry(s, weight)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			c.entries = append(c.entries, e)
			if c.stats[e.Zone] == nil {
				c.stats[e.Zone] = &ZoneStats{}
				c.zones = append(c.zones, e.Zone)
			}
		}
	}
	add(cfg.Blocklists, 1)
	add(cfg.Allowlists, -1)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(c.entries) > 0 && res == nil {
		return nil, errors.New("dnsbl: lists configured without a resolver")
	}
	return c, nil
}

// Enabled reports whether any list is configured.
func (c *Checker) Enabled() bool { return c != nil && len(c.entries) > 0 }

// Zones returns the configured zones.
func (c *Checker) Zones() []string { return append([]string(nil), c.zones...) }

// Stats returns the counters of zone.
func (c *Checker) Stats(zone string) *ZoneStats { return c.stats[zone] }

// Lookup is the list lookups of one client address, shared by all its
// connections while it is running or cached.
type Lookup struct {
	ip   netip.Addr
	c    *Checker
	done chan struct{}
	// zones are the lists this lookup asks: the configured ones not
	// disabled by the self-check when it started.
	zones   []string
	skipped bool // some configured list was disabled and not asked
	mu      sync.Mutex
	results map[string]zoneResult
	expires time.Time
}

type zoneResult struct {
	addrs []netip.Addr
	err   error
}

// Start begins (or joins, or reuses from the cache) the lookups of ip. It
// returns nil when there is nothing to check: no lists, or a private or
// special address (unless CheckPrivate). It never blocks on DNS.
func (c *Checker) Start(ip netip.Addr) *Lookup {
	if !c.Enabled() {
		return nil
	}
	ip = ip.Unmap()
	if !c.cfg.CheckPrivate && SkipCheck(ip) {
		return nil
	}
	now := c.now()
	c.mu.Lock()
	if l := c.cache[ip]; l != nil && (!l.finished() || now.Before(l.expiry())) {
		c.mu.Unlock()
		return l
	}
	if len(c.cache) >= maxCacheEntries {
		c.sweep(now)
	}
	l := &Lookup{ip: ip, c: c, done: make(chan struct{}), results: map[string]zoneResult{}}
	for _, z := range c.zones {
		if _, off := c.disabled[z]; off {
			l.skipped = true
		} else {
			l.zones = append(l.zones, z)
		}
	}
	c.cache[ip] = l
	c.mu.Unlock()
	go l.run()
	return l
}

// sweep drops finished, expired cache entries; c.mu is held.
func (c *Checker) sweep(now time.Time) {
	for ip, l := range c.cache {
		if l.finished() && !now.Before(l.expiry()) {
			delete(c.cache, ip)
		}
	}
}

func (l *Lookup) finished() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *Lookup) expiry() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// run queries every zone of l in parallel and records the answers as
// they come.
func (l *Lookup) run() {
	c := l.c
	minTTL := MaxCacheTTL
	if l.skipped {
		// A disabled list may pass the next self-check (RFC 5782
		// section 5) within minutes; an answer cached for up to an hour
		// would keep this client from being asked about it until then.
		// With every list disabled nothing was asked at all, so caching
		// saves no query. Like a failed query, such a result is kept for
		// the shortest time.
		minTTL = MinCacheTTL
	}
	var wg sync.WaitGroup
	var ttlMu sync.Mutex
	for _, zone := range l.zones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
			defer cancel()
			st := c.stats[zone]
			st.Queries.Add(1)
			began := time.Now()
			addrs, ttl, err := c.res.LookupA(ctx, QueryName(l.ip, zone))
			if c.cfg.Observe != nil {
				c.cfg.Observe(zone, time.Since(began), err)
			}
			for _, a := range addrs {
				if aerr := checkAnswer(a); aerr != nil {
					err = aerr
					break
				}
			}
			if err != nil {
				st.Failures.Add(1)
				ttl = MinCacheTTL
				if errors.Is(err, ErrNotWorking) {
					c.log.Warn("DNS list is not working; its answer does not count", "zone", zone, "client", l.ip.String(), "err", err)
				} else {
					c.log.Info("DNS list query failed; not a listing", "zone", zone, "client", l.ip.String(), "err", err)
				}
				addrs = nil
			}
			ttlMu.Lock()
			minTTL = min(minTTL, ttl)
			ttlMu.Unlock()
			l.mu.Lock()
			l.results[zone] = zoneResult{addrs: addrs, err: err}
			l.mu.Unlock()
		}()
	}
	wg.Wait()
	l.mu.Lock()
	l.expires = c.now().Add(min(max(minTTL, MinCacheTTL), MaxCacheTTL))
	l.mu.Unlock()
	close(l.done)
}

// Wait blocks until every query has answered or ctx ends.
func (l *Lookup) Wait(ctx context.Context) {
	select {
	case <-l.done:
	case <-ctx.Done():
	}
}

// Hit is one matching list entry.
type Hit struct {
	Zone   string
	Answer netip.Addr
	Weight int
}

// String formats the hit as "zone=answer" (the X-FakeSMTP-DNSBL value).
func (h Hit) String() string { return h.Zone + "=" + h.Answer.String() }

// Verdict is what the lists said about a client so far.
type Verdict struct {
	IP          netip.Addr
	Score       int
	Listed      bool // score at or above the threshold and not allowlisted
	Allowlisted bool // negative weights at or below the allowlist threshold
	Hits        []Hit
	Pending     int // lists asked that have not answered yet
}

// Verdict returns the decision from the answers received so far. Each
// entry counts once; allowlisting is decided on the negative-weight
// entries alone, and an allowlisted client is never listed (the
// original's rule: whitelisted means blacklist checks are skipped).
func (l *Lookup) Verdict() Verdict {
	if l == nil {
		return Verdict{}
	}
	v := Verdict{IP: l.ip}
	c := l.c
	l.mu.Lock()
	defer l.mu.Unlock()
	allow := 0
	// Only the lists that were asked can be pending: a disabled list
	// never answers this lookup.
	for _, z := range l.zones {
		if _, ok := l.results[z]; !ok {
			v.Pending++
		}
	}
	for _, e := range c.entries {
		r, ok := l.results[e.Zone]
		if !ok || r.err != nil {
			continue
		}
		for _, a := range r.addrs {
			if e.Filter == nil || e.Filter.Match(a) {
				v.Score += e.Weight
				if e.Weight < 0 {
					allow += e.Weight
				}
				v.Hits = append(v.Hits, Hit{Zone: e.Zone, Answer: a, Weight: e.Weight})
				break
			}
		}
	}
	v.Allowlisted = allow < 0 && allow <= c.cfg.AllowThreshold
	v.Listed = !v.Allowlisted && v.Score >= c.cfg.Threshold && v.Score > 0
	sort.Slice(v.Hits, func(i, j int) bool { return v.Hits[i].Zone < v.Hits[j].Zone })
	return v
}

// Zones returns the zones that listed the client with a positive weight,
// for the refusal text.
func (v Verdict) Zones() []string {
	var zs []string
	for _, h := range v.Hits {
		if h.Weight > 0 {
			zs = append(zs, h.Zone)
		}
	}
	return zs
}

// Headers returns the annotation headers of a stored message:
// one X-FakeSMTP-DNSBL per hit and the score.
func (v Verdict) Headers() []string {
	var hs []string
	for _, h := range v.Hits {
		hs = append(hs, "X-FakeSMTP-DNSBL: "+h.String())
	}
	if len(v.Hits) > 0 {
		hs = append(hs, fmt.Sprintf("X-FakeSMTP-DNSBL-Score: %d", v.Score))
	}
	return hs
}

// test addresses of RFC 5782 section 5.
var (
	testListed   = netip.MustParseAddr("127.0.0.2")
	testUnlisted = netip.MustParseAddr("127.0.0.1")
)

// SelfCheck asks every list for the RFC 5782 section 5 test entries:
// 127.0.0.2 must be listed and 127.0.0.1 must not. A list that fails (or
// does not answer) is disabled until a later check passes; RFC 5782
// section 7 says not to use a list without correct test entries, which
// protects against an expired list domain that answers everything.
func (c *Checker) SelfCheck(ctx context.Context) {
	var wg sync.WaitGroup
	for _, zone := range c.zones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			why := c.testZone(ctx, zone)
			c.mu.Lock()
			_, wasOff := c.disabled[zone]
			if why != "" {
				c.disabled[zone] = why
			} else {
				delete(c.disabled, zone)
			}
			c.mu.Unlock()
			switch {
			case why != "":
				c.log.Warn("DNS list disabled: self-check failed", "zone", zone, "why", why)
			case wasOff:
				c.log.Info("DNS list enabled again: self-check passed", "zone", zone)
			default:
				c.log.Info("DNS list self-check passed", "zone", zone)
			}
		}()
	}
	wg.Wait()
}

// testZone runs the two section 5 queries of zone and says why the list
// fails them, or "" when it passes.
func (c *Checker) testZone(ctx context.Context, zone string) string {
	addrs, err := c.testQuery(ctx, testListed, zone)
	if err != nil {
		return "127.0.0.2 query failed: " + err.Error()
	}
	if len(addrs) == 0 {
		return "127.0.0.2 is not listed"
	}
	for _, a := range addrs {
		if err := checkAnswer(a); err != nil {
			return "127.0.0.2: " + err.Error()
		}
	}
	addrs, err = c.testQuery(ctx, testUnlisted, zone)
	if err != nil {
		return "127.0.0.1 query failed: " + err.Error()
	}
	if len(addrs) > 0 {
		return "127.0.0.1 is listed (" + addrs[0].String() + "): the list answers everything"
	}
	return ""
}

// testQuery asks zone about ip with a Timeout of its own: the timeout
// (dns_timeout) is the time allowed for one list query, so the second
// self-check query must not get only what the first one left.
func (c *Checker) testQuery(ctx context.Context, ip netip.Addr, zone string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	addrs, _, err := c.res.LookupA(ctx, QueryName(ip, zone))
	return addrs, err
}

// Disabled returns the zones that failed their self-check, with why.
func (c *Checker) Disabled() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.disabled))
	for z, why := range c.disabled {
		out[z] = why
	}
	return out
}

// Run repeats SelfCheck every SelfCheckInterval until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	t := time.NewTicker(SelfCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.SelfCheck(ctx)
		}
	}
}
