package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":           "192.0.2.1/32",
		"::ffff:192.0.2.1":    "192.0.2.1/32",
		"2001:db8:1:2:3::9":   "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::": "2001:db8:1:2::/64",
	} {
		if got := Key(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	l := New(2, 0, nil)
	a := netip.MustParseAddr("2001:db8::1")
	b := netip.MustParseAddr("2001:db8::2") // same /64
	c := netip.MustParseAddr("192.0.2.1")
	if l.Admit(a) != Allowed || l.Admit(b) != Allowed {
		t.Fatal("first two refused")
	}
	if l.Admit(a) != TooManySessions {
		t.Fatal("third session from the /64 allowed")
	}
	if l.Admit(c) != Allowed {
		t.Fatal("other client refused")
	}
	l.Release(b)
	if l.Admit(a) != Allowed {
		t.Fatal("slot not freed by Release")
	}
}

func TestPerMinute(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(0, 3, func() time.Time { return now })
	a := netip.MustParseAddr("192.0.2.9")
	for i := 0; i < 3; i++ {
		if l.Admit(a) != Allowed {
			t.Fatalf("connection %d refused", i)
		}
		l.Release(a)
	}
	if l.Admit(a) != TooManyConnections {
		t.Fatal("fourth connection in a minute allowed")
	}
	// 30 s into the next minute half of the previous minute still counts
	// (1.5 of 3): two more are allowed (1.5+1 < 3), then the cap holds.
	now = now.Add(90 * time.Second)
	for i := 0; i < 2; i++ {
		if l.Admit(a) != Allowed {
			t.Fatalf("connection %d refused after the window moved", i)
		}
		l.Release(a)
	}
	if l.Admit(a) != TooManyConnections {
		t.Fatal("sliding estimate ignored the previous minute")
	}
	// Three quiet minutes forget everything.
	now = now.Add(3 * time.Minute)
	for i := 0; i < 3; i++ {
		if l.Admit(a) != Allowed {
			t.Fatalf("after a quiet spell, connection %d refused", i)
		}
	}
}
