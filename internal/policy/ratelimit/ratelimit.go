// Package ratelimit counts clients: concurrent sessions and new
// connections per minute, keyed by client network (IPv4 /32, IPv6 /64, as
// postscreen and anvil count them, since one IPv6 host owns a /64).
package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// Key returns the counting key of a client address: the address itself
// for IPv4 (IPv4-mapped IPv6 included), its /64 for IPv6.
func Key(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// Limits holds the per-client counters. The zero value is not usable; use
// New. It is safe for concurrent use.
type Limits struct {
	maxConcurrent int // 0 = no cap
	maxPerMinute  int // 0 = no cap
	now           func() time.Time

	mu     sync.Mutex
	active map[netip.Prefix]int
	rate   map[netip.Prefix]*window
	swept  time.Time
}

// window is a fixed one-minute window with the previous window's count,
// weighted to approximate a sliding minute: bounded memory per client,
// no list of timestamps.
type window struct {
	start      time.Time
	count      int
	prev       int
	prevExists bool
}

// New returns Limits; a zero cap means no cap.
func New(maxConcurrent, maxPerMinute int, now func() time.Time) *Limits {
	if now == nil {
		now = time.Now
	}
	return &Limits{maxConcurrent: maxConcurrent, maxPerMinute: maxPerMinute, now: now,
		active: map[netip.Prefix]int{}, rate: map[netip.Prefix]*window{}}
}

// Verdict says why a connection is refused.
type Verdict int

// The verdicts of Admit.
const (
	Allowed Verdict = iota
	TooManySessions
	TooManyConnections
)

// Admit counts a new connection from a. When it returns Allowed the
// caller must call Release(a) when the session ends.
func (l *Limits) Admit(a netip.Addr) Verdict {
	k := Key(a)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxPerMinute > 0 {
		if now.Sub(l.swept) > 2*time.Minute {
			l.sweep(now)
		}
		w := l.rate[k]
		if w == nil {
			w = &window{start: now}
			l.rate[k] = w
		}
		if el := now.Sub(w.start); el >= time.Minute {
			// Roll the window; a gap of two minutes or more forgets.
			w.prev = 0
			if el < 2*time.Minute {
				w.prev = w.count
			}
			w.start = w.start.Add(el.Truncate(time.Minute))
			w.count = 0
		}
		// Sliding estimate: this window's count plus the part of the
		// previous window that still lies within the last minute.
		frac := 1 - float64(now.Sub(w.start))/float64(time.Minute)
		if float64(w.count)+float64(w.prev)*frac >= float64(l.maxPerMinute) {
			return TooManyConnections
		}
		w.count++
	}
	if l.maxConcurrent > 0 && l.active[k] >= l.maxConcurrent {
		return TooManySessions
	}
	l.active[k]++
	return Allowed
}

// Release ends a session admitted for a.
func (l *Limits) Release(a netip.Addr) {
	k := Key(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active[k] <= 1 {
		delete(l.active, k)
	} else {
		l.active[k]--
	}
}

// Active returns the sessions counted for a's key.
func (l *Limits) Active(a netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active[Key(a)]
}

// sweep drops rate windows idle for two minutes; l.mu is held.
func (l *Limits) sweep(now time.Time) {
	l.swept = now
	for k, w := range l.rate {
		if now.Sub(w.start) >= 2*time.Minute {
			delete(l.rate, k)
		}
	}
}
