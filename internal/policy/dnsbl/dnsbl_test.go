package dnsbl

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/dnstest"
)

func TestParseEntry(t *testing.T) {
	tests := []struct {
		in     string
		zone   string
		weight int
		filter string
		err    bool
	}{
		{in: "zen.spamhaus.org", zone: "zen.spamhaus.org", weight: 1},
		{in: "Zen.Spamhaus.org.", zone: "zen.spamhaus.org", weight: 1},
		{in: "zen.spamhaus.org*3", zone: "zen.spamhaus.org", weight: 3},
		{in: "list.dnswl.org=127.0.[0..255].[1..3]*-3", zone: "list.dnswl.org", weight: -3, filter: "127.0.[0..255].[1..3]"},
		{in: "zen.spamhaus.org=127.0.0.[2..3;9]", zone: "zen.spamhaus.org", weight: 1, filter: "127.0.0.[2..3;9]"},
		{in: "a.test*x", err: true},
		{in: "a.test=127.0.0", err: true},
		{in: "a.test=127.0.0.[5..2]", err: true},
		{in: "a.test=127.0.0.300", err: true},
		{in: "=127.0.0.2", err: true},
	}
	for _, tc := range tests {
		e, err := ParseEntry(tc.in, 1)
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if err != nil {
			continue
		}
		f := ""
		if e.Filter != nil {
			f = e.Filter.String()
		}
		if e.Zone != tc.zone || e.Weight != tc.weight || f != tc.filter {
			t.Errorf("%q = %+v", tc.in, e)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	f, err := ParseFilter("127.0.[0..255].[1..3;9]")
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{"127.0.10.2": true, "127.0.0.9": true, "127.0.10.0": false, "127.0.0.255": false, "127.1.0.1": false} {
		if got := f.Match(netip.MustParseAddr(a)); got != want {
			t.Errorf("Match(%s) = %v", a, got)
		}
	}
}

func TestQueryName(t *testing.T) {
	tests := map[string]string{
		"192.0.2.99":        "99.2.0.192.zen.example.",
		"::ffff:192.0.2.99": "99.2.0.192.zen.example.",
		"2001:db8::1":       "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example.",
	}
	for ip, want := range tests {
		if got := QueryName(netip.MustParseAddr(ip), "zen.example."); got != want {
			t.Errorf("QueryName(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestSkipCheck(t *testing.T) {
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "169.254.1.1": true,
		"100.64.0.1": true, "0.0.0.0": true, "::1": true, "fe80::1": true, "fd00::1": true, "::ffff:10.0.0.1": true,
		"192.0.2.1": false, "8.8.8.8": false, "2001:db8::1": false, "100.128.0.1": false,
	} {
		if got := SkipCheck(netip.MustParseAddr(ip)); got != want {
			t.Errorf("SkipCheck(%s) = %v", ip, got)
		}
	}
}

type fixture struct {
	dns  *dnstest.Server
	logs *strings.Builder
	mu   *sync.Mutex
	now  time.Time
}

func startDNS(t *testing.T) *dnstest.Server {
	t.Helper()
	zone, err := os.ReadFile("testdata/lists.zone")
	if err != nil {
		t.Fatal(err)
	}
	return dnstest.Start(t, string(zone))
}

func newChecker(t *testing.T, srv *dnstest.Server, cfg Config, now func() time.Time) (*Checker, *lockedBuf) {
	t.Helper()
	res, err := NewResolver(srv.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = 1
	}
	if cfg.AllowThreshold == 0 {
		cfg.AllowThreshold = -1
	}
	logs := &lockedBuf{}
	c, err := New(cfg, res, slog.New(slog.NewTextHandler(logs, nil)), now)
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *lockedBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func verdict(t *testing.T, c *Checker, ip string) Verdict {
	t.Helper()
	l := c.Start(netip.MustParseAddr(ip))
	if l == nil {
		t.Fatalf("no lookup for %s", ip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.Wait(ctx)
	return l.Verdict()
}

func TestVerdicts(t *testing.T) {
	srv := startDNS(t)
	tests := []struct {
		name        string
		cfg         Config
		ip          string
		listed      bool
		allowlisted bool
		score       int
		hits        []string
	}{
		{name: "listed", cfg: Config{Blocklists: []string{"bl.test"}}, ip: "192.0.2.2", listed: true, score: 1, hits: []string{"bl.test=127.0.0.2"}},
		{name: "not listed", cfg: Config{Blocklists: []string{"bl.test"}}, ip: "192.0.2.50"},
		{name: "ipv6 listed", cfg: Config{Blocklists: []string{"bl.test"}}, ip: "2001:db8::2", listed: true, score: 1, hits: []string{"bl.test=127.0.0.2"}},
		{name: "mapped ipv4", cfg: Config{Blocklists: []string{"bl.test"}}, ip: "::ffff:192.0.2.2", listed: true, score: 1, hits: []string{"bl.test=127.0.0.2"}},
		{name: "filter excludes", cfg: Config{Blocklists: []string{"bl.test=127.0.0.2"}}, ip: "192.0.2.3"},
		{name: "filter includes", cfg: Config{Blocklists: []string{"bl.test=127.0.0.[10;11]"}}, ip: "192.0.2.3", listed: true, score: 1, hits: []string{"bl.test=127.0.0.10"}},
		{name: "weights add", cfg: Config{Blocklists: []string{"bl.test*2", "bl2.test*3"}, Threshold: 4}, ip: "192.0.2.2", listed: true, score: 5, hits: []string{"bl.test=127.0.0.2", "bl2.test=127.0.0.4"}},
		{name: "below threshold", cfg: Config{Blocklists: []string{"bl.test*2"}, Threshold: 3}, ip: "192.0.2.2", score: 2, hits: []string{"bl.test=127.0.0.2"}},
		{name: "entry counted once", cfg: Config{Blocklists: []string{"bl.test", "bl.test=127.0.0.2"}, Threshold: 3}, ip: "192.0.2.2", score: 2, hits: []string{"bl.test=127.0.0.2", "bl.test=127.0.0.2"}},
		{name: "allowlist wins", cfg: Config{Blocklists: []string{"bl.test*5"}, Allowlists: []string{"wl.test"}}, ip: "192.0.2.2", allowlisted: true, score: 4, hits: []string{"bl.test=127.0.0.2", "wl.test=127.0.10.2"}},
		{name: "allowlist filter (trust 0)", cfg: Config{Blocklists: []string{"bl.test"}, Allowlists: []string{"wl.test=127.0.[0..255].[1..3]"}}, ip: "192.0.2.4"},
		{name: "error code never lists", cfg: Config{Blocklists: []string{"err.test"}}, ip: "192.0.2.2"},
		{name: "outside 127/8 never lists", cfg: Config{Blocklists: []string{"out.test"}}, ip: "192.0.2.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newChecker(t, srv, tc.cfg, nil)
			v := verdict(t, c, tc.ip)
			var hits []string
			for _, h := range v.Hits {
				hits = append(hits, h.String())
			}
			if v.Listed != tc.listed || v.Allowlisted != tc.allowlisted || v.Score != tc.score || strings.Join(hits, ",") != strings.Join(tc.hits, ",") || v.Pending != 0 {
				t.Fatalf("verdict %+v, want listed=%v allow=%v score=%d hits=%v", v, tc.listed, tc.allowlisted, tc.score, tc.hits)
			}
		})
	}
}

func TestErrorAnswersLogged(t *testing.T) {
	srv := startDNS(t)
	c, logs := newChecker(t, srv, Config{Blocklists: []string{"err.test", "out.test"}}, nil)
	verdict(t, c, "192.0.2.2")
	if !strings.Contains(logs.String(), "not working") || !strings.Contains(logs.String(), "127.255.255.254") || !strings.Contains(logs.String(), "192.0.2.99") {
		t.Fatalf("logs: %s", logs)
	}
	if c.Stats("err.test").Failures.Load() != 1 {
		t.Fatal("failure not counted")
	}
}

func TestPrivateSkipped(t *testing.T) {
	srv := startDNS(t)
	c, _ := newChecker(t, srv, Config{Blocklists: []string{"bl.test"}}, nil)
	if l := c.Start(netip.MustParseAddr("127.0.0.2")); l != nil {
		t.Fatal("loopback client checked")
	}
	c, _ = newChecker(t, srv, Config{Blocklists: []string{"bl.test"}, CheckPrivate: true}, nil)
	if v := verdict(t, c, "127.0.0.2"); !v.Listed {
		t.Fatalf("dns_check_private: 127.0.0.2 not listed: %+v", v)
	}
}

func TestTimeoutIsNoListing(t *testing.T) {
	srv := startDNS(t)
	srv.Delay("slow.test", 2*time.Second)
	c, _ := newChecker(t, srv, Config{Blocklists: []string{"slow.test", "bl.test"}, Timeout: 200 * time.Millisecond}, nil)
	l := c.Start(netip.MustParseAddr("192.0.2.2"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.Wait(ctx)
	v := l.Verdict()
	if !v.Listed || v.Score != 1 || v.Pending != 0 {
		t.Fatalf("verdict %+v: want listed by bl.test only", v)
	}
	if c.Stats("slow.test").Failures.Load() != 1 {
		t.Fatal("timeout not counted as a failure")
	}
}

func TestPartialVerdict(t *testing.T) {
	srv := startDNS(t)
	srv.Delay("slow.test", time.Second)
	c, _ := newChecker(t, srv, Config{Blocklists: []string{"slow.test", "bl.test"}, Timeout: 3 * time.Second}, nil)
	l := c.Start(netip.MustParseAddr("192.0.2.2"))
	// Wait until bl.test has answered, then look before slow.test has.
	deadline := time.Now().Add(5 * time.Second)
	for l.Verdict().Pending > 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	v := l.Verdict()
	if v.Pending != 1 || !v.Listed || v.Score != 1 {
		t.Fatalf("partial verdict %+v", v)
	}
}

func TestCacheAndSingleFlight(t *testing.T) {
	srv := startDNS(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, _ := newChecker(t, srv, Config{Blocklists: []string{"bl.test", "bl2.test"}}, clock)
	ip := netip.MustParseAddr("192.0.2.2")
	// Concurrent connections from one IP share one lookup.
	var ls []*Lookup
	for i := 0; i < 10; i++ {
		ls = append(ls, c.Start(ip))
	}
	for _, l := range ls[1:] {
		if l != ls[0] {
			t.Fatal("concurrent starts did not share a lookup")
		}
	}
	ls[0].Wait(context.Background())
	q := srv.Queries()
	if q != 2 {
		t.Fatalf("%d queries, want 2", q)
	}
	// bl2.test's TTL is 10s, clamped up to 60s.
	mu.Lock()
	now = now.Add(59 * time.Second)
	mu.Unlock()
	c.Start(ip).Wait(context.Background())
	if srv.Queries() != q {
		t.Fatal("cached answer not used")
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	c.Start(ip).Wait(context.Background())
	if srv.Queries() != q+2 {
		t.Fatalf("expired cache not refreshed: %d queries", srv.Queries())
	}
}

func TestSelfCheck(t *testing.T) {
	srv := startDNS(t)
	c, logs := newChecker(t, srv, Config{Blocklists: []string{"bl.test", "all.test", "notest.test", "err.test"}}, nil)
	c.SelfCheck(context.Background())
	d := c.Disabled()
	if len(d) != 2 || d["all.test"] == "" || d["notest.test"] == "" {
		t.Fatalf("disabled = %v", d)
	}
	if !strings.Contains(logs.String(), "answers everything") {
		t.Fatalf("logs: %s", logs)
	}
	// A disabled list is not queried and never lists.
	v := verdict(t, c, "192.0.2.2")
	for _, h := range v.Hits {
		if h.Zone == "all.test" || h.Zone == "notest.test" {
			t.Fatalf("disabled list counted: %+v", v)
		}
	}
}

// lateFirstResolver answers like a healthy RFC 5782 list (127.0.0.2
// listed, 127.0.0.1 not), but its first answer arrives only as that
// query's time runs out, as from a list that is slow but within
// dns_timeout. A later query whose deadline is no later than the first
// one's has no time left and fails, as a real one would.
type lateFirstResolver struct {
	mu    sync.Mutex
	spent time.Time // the first query's deadline, once it has answered
}

func (r *lateFirstResolver) LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, 0, errors.New("query without a deadline")
	}
	r.mu.Lock()
	spent := r.spent
	r.mu.Unlock()
	if spent.IsZero() {
		<-ctx.Done()
		r.mu.Lock()
		r.spent = deadline
		r.mu.Unlock()
	} else if !deadline.After(spent) {
		return nil, 0, context.DeadlineExceeded
	}
	if strings.HasPrefix(name, "2.0.0.127.") {
		return []netip.Addr{testListed}, time.Minute, nil
	}
	return nil, time.Minute, nil
}

// TestSelfCheckGivesEachQueryTheTimeout: dns_timeout is the time allowed
// for one list query, so the self-check's 127.0.0.1 query gets a timeout
// of its own and not what the 127.0.0.2 query left of a shared one. The
// resolver decides by the contexts' deadlines, not by the clock, so the
// result does not depend on how fast the machine is.
func TestSelfCheckGivesEachQueryTheTimeout(t *testing.T) {
	c, err := New(Config{Blocklists: []string{"slow.test"}, Timeout: 20 * time.Millisecond},
		&lateFirstResolver{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SelfCheck(context.Background())
	if d := c.Disabled(); len(d) > 0 {
		t.Errorf("a list answering each query within dns_timeout was disabled: %v", d)
	}
}

// zoneResolver lists every address but 127.0.0.1 with 127.0.0.2 for an
// hour, in each zone that is not down; a zone that is down times out.
type zoneResolver struct {
	mu   sync.Mutex
	down map[string]bool
}

func (r *zoneResolver) setDown(zone string, down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down[zone] = down
}

func (r *zoneResolver) LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for zone, down := range r.down {
		if !strings.HasSuffix(name, "."+zone+".") {
			continue
		}
		if down {
			return nil, 0, context.DeadlineExceeded
		}
		if name == QueryName(testUnlisted, zone) {
			return nil, time.Hour, nil
		}
		return []netip.Addr{testListed}, time.Hour, nil
	}
	return nil, 0, errors.New("unknown zone in " + name)
}

// TestDisabledListsCachedBriefly: a lookup that skipped a list disabled
// by the self-check (RFC 5782 section 5) is cached for MinCacheTTL only,
// so a client is asked about the list soon after a later self-check
// enables it again; and a list that was not asked is never pending.
func TestDisabledListsCachedBriefly(t *testing.T) {
	res := &zoneResolver{down: map[string]bool{"a.test": true, "b.test": true}}
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	c, err := New(Config{Blocklists: []string{"a.test", "b.test"}, Threshold: 1}, res, slog.New(slog.DiscardHandler), clock)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.9")
	c.SelfCheck(context.Background())
	if d := c.Disabled(); len(d) != 2 {
		t.Fatalf("disabled = %v, want both lists", d)
	}
	// Every list disabled: nothing is asked, nothing is pending.
	if v := verdict(t, c, ip.String()); v.Listed || v.Pending != 0 {
		t.Errorf("with every list disabled: %+v, want not listed and nothing pending", v)
	}

	// The next self-check enables a.test: the client is asked again.
	advance(SelfCheckInterval)
	res.setDown("a.test", false)
	c.SelfCheck(context.Background())
	v := verdict(t, c, ip.String())
	if !v.Listed || len(v.Hits) != 1 || v.Hits[0].Zone != "a.test" || v.Pending != 0 {
		t.Errorf("after a.test is enabled again: %+v, want listed by a.test, nothing pending", v)
	}

	// a.test's hour-long answer does not keep b.test from being asked
	// once it is enabled too.
	advance(SelfCheckInterval)
	res.setDown("b.test", false)
	c.SelfCheck(context.Background())
	if v := verdict(t, c, ip.String()); len(v.Hits) != 2 || v.Score != 2 {
		t.Errorf("after b.test is enabled again: %+v, want hits from both lists", v)
	}
}
