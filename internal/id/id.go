// Package id makes the identifiers of sessions and messages: unique across
// restarts and machines without coordination, and sortable by time, so a
// directory listing of message files is in arrival order.
package id

import (
	"crypto/rand"
	"sync"
	"time"
)

// Len is the length of an ID: 48 bits of milliseconds and 80 bits of
// randomness in Crockford base32, the layout of a ULID.
const Len = 26

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Generator makes IDs. Within one millisecond it increments the random
// part instead of drawing a new one, so IDs from one process are strictly
// increasing even when many are made at once. The zero value is not
// usable; call NewGenerator.
type Generator struct {
	now    func() time.Time
	mu     sync.Mutex
	lastMs uint64
	last   [10]byte
}

// NewGenerator returns a Generator reading time from now (time.Now when
// nil).
func NewGenerator(now func() time.Time) *Generator {
	if now == nil {
		now = time.Now
	}
	return &Generator{now: now}
}

// New returns a fresh ID.
func (g *Generator) New() string {
	ms := uint64(g.now().UnixMilli())
	g.mu.Lock()
	if ms <= g.lastMs {
		// Same (or an earlier, after a clock step) millisecond: stay
		// monotonic by incrementing the previous random part.
		ms = g.lastMs
		for i := len(g.last) - 1; i >= 0; i-- {
			g.last[i]++
			if g.last[i] != 0 {
				break
			}
		}
	} else {
		g.lastMs = ms
		rand.Read(g.last[:])
		// Keep the top bit clear so increments never wrap in practice.
		g.last[0] &= 0x7f
	}
	r := g.last
	g.mu.Unlock()
	return encode(ms, r)
}

func encode(ms uint64, r [10]byte) string {
	var b [Len]byte
	// 48-bit time: 10 characters (50 bits, top 2 zero).
	for i := 9; i >= 0; i-- {
		b[i] = alphabet[ms&31]
		ms >>= 5
	}
	// 80-bit randomness: 16 characters.
	var hi uint64 = uint64(r[0])<<32 | uint64(r[1])<<24 | uint64(r[2])<<16 | uint64(r[3])<<8 | uint64(r[4])
	var lo uint64 = uint64(r[5])<<32 | uint64(r[6])<<24 | uint64(r[7])<<16 | uint64(r[8])<<8 | uint64(r[9])
	for i := 17; i >= 10; i-- {
		b[i] = alphabet[hi&31]
		hi >>= 5
	}
	for i := 25; i >= 18; i-- {
		b[i] = alphabet[lo&31]
		lo >>= 5
	}
	return string(b[:])
}

// Valid reports whether s has the form of an ID. Code that turns an ID
// into a file name checks it first, so no ID can name a path elsewhere.
func Valid(s string) bool {
	if len(s) != Len {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}
