package traps

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"fakesmtp/internal/dnstest"
)

const testZone = "trap.example.test"

// startDNS serves tr's zone over UDP and TCP on one 127.0.0.1 port and
// stops it at cleanup, checking that both Serve calls end with
// ErrServerClosed.
func startDNS(t *testing.T, tr *Traps) (addr string, srv *DNSServer) {
	t.Helper()
	pc, ln := dnstest.ListenPair(t)
	addr = pc.LocalAddr().String()
	srv = NewDNSServer(tr, testZone, nil)
	srv.NS = "mx.example.test"
	errs := make(chan error, 2)
	go func() { errs <- srv.Serve(pc) }()
	go func() { errs <- srv.ServeTCP(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-errs; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		}
	})
	return addr, srv
}

// exchange sends one query with miekg/dns's client.
func exchange(t *testing.T, addr, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", m.Question[0].Name, err)
	}
	return r
}

func query(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true // as a stub resolver or postscreen's would
	return exchange(t, addr, network, m)
}

// answers renders the answer section as "TYPE value" strings.
func answers(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, "A "+rr.A.String())
		case *dns.TXT:
			out = append(out, "TXT "+strings.Join(rr.Txt, ""))
		case *dns.SOA:
			out = append(out, "SOA "+rr.Ns+" "+rr.Mbox)
		case *dns.NS:
			out = append(out, "NS "+rr.Ns)
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

func nibbles(ip string) string {
	return strings.TrimSuffix(ReverseName(netip.MustParseAddr(ip), testZone), ".")
}

func TestDNSServerAnswers(t *testing.T) {
	clk := newClock()
	tr := newTraps(t, Config{TTL: time.Hour}, clk)
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	mustRecord(t, tr, "2001:db8::1", "x@elsewhere.test", ReasonUnknownDomain)
	mustRecord(t, tr, "127.0.0.1", "trap@example.test", ReasonMailbox) // must still not be listed in DNS
	addr, _ := startDNS(t, tr)

	const (
		nx      = dns.RcodeNameError
		ok      = dns.RcodeSuccess
		refused = dns.RcodeRefused
	)
	tests := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		want  string // answers joined with "|"
		soa   bool   // SOA expected in the authority section
	}{
		{"listed IPv4 A", "1.2.0.192." + testZone, dns.TypeA, ok, "A 127.0.0.2", false},
		{"listed IPv4 TXT", "1.2.0.192." + testZone, dns.TypeTXT, ok, "TXT Trapped by fakesmtp: 192.0.2.1 sent mail to a spam trap (trap mailbox)", false},
		{"listed, case-insensitive zone", "1.2.0.192.TRAP.Example.TEST", dns.TypeA, ok, "A 127.0.0.2", false},
		{"listed ANY", "1.2.0.192." + testZone, dns.TypeANY, ok, "A 127.0.0.2|TXT Trapped by fakesmtp: 192.0.2.1 sent mail to a spam trap (trap mailbox)", false},
		{"listed AAAA is NODATA", "1.2.0.192." + testZone, dns.TypeAAAA, ok, "", true},
		{"unlisted IPv4", "2.2.0.192." + testZone, dns.TypeA, nx, "", true},
		{"RFC 5782 test entry A", "2.0.0.127." + testZone, dns.TypeA, ok, "A 127.0.0.2", false},
		{"RFC 5782 test entry TXT", "2.0.0.127." + testZone, dns.TypeTXT, ok, "TXT RFC 5782 test entry", false},
		{"127.0.0.1 never listed", "1.0.0.127." + testZone, dns.TypeA, nx, "", true},
		{"listed IPv6 nibbles", nibbles("2001:db8::1"), dns.TypeA, ok, "A 127.0.0.2", false},
		{"listed IPv6 TXT", nibbles("2001:db8::1"), dns.TypeTXT, ok, "TXT Trapped by fakesmtp: 2001:db8::1 sent mail to a spam trap (unknown domain)", false},
		{"unlisted IPv6", nibbles("2001:db8::2"), dns.TypeA, nx, "", true},
		{"IPv6 test entry ::FFFF:7F00:2", nibbles("::ffff:7f00:2"), dns.TypeA, ok, "A 127.0.0.2", false},
		{"IPv6 non-entry ::FFFF:7F00:1", nibbles("::ffff:7f00:1"), dns.TypeA, nx, "", true},
		{"mapped form of a listed IPv4", nibbles("::ffff:192.0.2.1"), dns.TypeA, ok, "A 127.0.0.2", false},
		{"empty non-terminal", "0.0.127." + testZone, dns.TypeA, ok, "", true},
		{"empty non-terminal of an entry", "2.0.192." + testZone, dns.TypeA, ok, "", true},
		{"not an empty non-terminal", "9.0.192." + testZone, dns.TypeA, nx, "", true},
		// Four decimal nibbles read as an IPv4 name, but these are the
		// parents of 2001:db8::1 and of the ::FFFF:7F00:2 test entry.
		{"IPv6 ancestor that reads as IPv4", "1.0.0.2." + testZone, dns.TypeA, ok, "", true},
		{"test entry ancestor that reads as IPv4", "0.0.0.0." + testZone, dns.TypeA, ok, "", true},
		{"junk label", "www." + testZone, dns.TypeA, nx, "", true},
		{"leading zero octet", "01.2.0.192." + testZone, dns.TypeA, nx, "", true},
		{"apex SOA", testZone, dns.TypeSOA, ok, "SOA mx.example.test. hostmaster.trap.example.test.", false},
		{"apex NS", testZone, dns.TypeNS, ok, "NS mx.example.test.", false},
		{"apex A is NODATA", testZone, dns.TypeA, ok, "", true},
		{"outside the zone", "1.2.0.192.bl.example.org", dns.TypeA, refused, "", false},
		{"parent of the zone", "example.test", dns.TypeSOA, refused, "", false},
	}
	for _, tc := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				r := query(t, addr, network, tc.qname, tc.qtype)
				if r.Rcode != tc.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				if got := strings.Join(answers(r), "|"); got != tc.want {
					t.Errorf("answers %q, want %q", got, tc.want)
				}
				var soa *dns.SOA
				if len(r.Ns) == 1 {
					soa, _ = r.Ns[0].(*dns.SOA)
				}
				if (soa != nil) != tc.soa || (soa == nil && len(r.Ns) > 0) {
					t.Errorf("authority %v, want SOA: %v", r.Ns, tc.soa)
				}
				// RFC 2308 3: the negative TTL is the SOA's TTL and MINIMUM.
				if soa != nil && (soa.Hdr.Name != testZone+"." || soa.Minttl != 60 || soa.Hdr.Ttl != 60) {
					t.Errorf("SOA %v", soa)
				}
				if r.Authoritative != (tc.rcode != refused) || r.RecursionAvailable {
					t.Errorf("AA=%v RA=%v", r.Authoritative, r.RecursionAvailable)
				}
				for _, rr := range r.Answer {
					if rr.Header().Ttl != 300 && tc.qtype != dns.TypeSOA {
						t.Errorf("TTL %d, want 300: %v", rr.Header().Ttl, rr)
					}
				}
			})
		}
	}
}

// TestDNSServerIPv6AncestorsAreNoData walks down a listed IPv6 name one
// label at a time, as a resolver doing QNAME minimisation (RFC 9156)
// does. Every ancestor must be NOERROR/NODATA: an NXDOMAIN would tell the
// resolver that nothing exists below it (RFC 8020), the listing included.
// The four-label step of 2001:db8::1, "1.0.0.2", is all decimal digits
// and so also reads as the IPv4 name of 2.0.0.1; when that address is
// listed it must still get its A record.
func TestDNSServerIPv6AncestorsAreNoData(t *testing.T) {
	clk := newClock()
	tr := newTraps(t, Config{TTL: time.Hour}, clk)
	mustRecord(t, tr, "2001:db8::1", "x@elsewhere.test", ReasonUnknownDomain)
	d := NewDNSServer(tr, testZone, nil)
	ask := func(name string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		return d.answer(m, true)
	}
	for _, entry := range []string{"2001:db8::1", "::ffff:7f00:2"} {
		labels := strings.Split(strings.TrimSuffix(nibbles(entry), "."+testZone), ".")
		for k := 1; k < len(labels); k++ {
			name := strings.Join(labels[len(labels)-k:], ".") + "." + testZone
			r := ask(name)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
				t.Errorf("ancestor %s of %s: rcode %s, answers %v; want NOERROR/NODATA",
					name, entry, dns.RcodeToString[r.Rcode], r.Answer)
			}
		}
	}
	// Four decimal labels above no listing are still NXDOMAIN.
	if r := ask("1.0.0.3." + testZone); r.Rcode != dns.RcodeNameError {
		t.Errorf("1.0.0.3: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	// An IPv4 listing under the same name keeps its answer.
	mustRecord(t, tr, "2.0.0.1", "trap@example.test", ReasonMailbox)
	if r := ask("1.0.0.2." + testZone); r.Rcode != dns.RcodeSuccess || strings.Join(answers(r), "|") != "A 127.0.0.2" {
		t.Errorf("listed 2.0.0.1: rcode %s, answers %v", dns.RcodeToString[r.Rcode], answers(r))
	}
}

// TestDNSServerFollowsState: the answers follow Record, expiry and a
// removal made by another process, and the TTL never outlives the entry.
func TestDNSServerFollowsState(t *testing.T) {
	clk := newClock()
	state := filepath.Join(t.TempDir(), "traps.json")
	tr := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	addr, _ := startDNS(t, tr)
	name := "5.2.0.192." + testZone

	if r := query(t, addr, "udp", name, dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("before the hit: %s", dns.RcodeToString[r.Rcode])
	}
	mustRecord(t, tr, "192.0.2.5", "trap@example.test", ReasonMailbox)
	if r := query(t, addr, "udp", name, dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("after the hit: %v", r)
	}

	clk.Advance(time.Hour - 100*time.Second)
	r := query(t, addr, "udp", name, dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 100 {
		t.Errorf("TTL near expiry: %v, want 100", r.Answer)
	}

	cli := newTraps(t, Config{StatePath: state, TTL: time.Hour}, clk)
	if _, err := cli.Remove(netip.MustParseAddr("192.0.2.5")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(StateCheckInterval)
	if r := query(t, addr, "udp", name, dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("after traps remove: %s", dns.RcodeToString[r.Rcode])
	}
	// The SOA serial is the time of the last change.
	r = query(t, addr, "udp", testZone, dns.TypeSOA)
	if soa := r.Answer[0].(*dns.SOA); soa.Serial != uint32(clk.Now().Add(-StateCheckInterval).Unix()) {
		t.Errorf("serial %d", soa.Serial)
	}
}

func TestDNSServerEDNSAndOpcodes(t *testing.T) {
	tr := newTraps(t, Config{}, newClock())
	addr, _ := startDNS(t, tr)

	m := new(dns.Msg)
	m.SetQuestion("2.0.0.127."+testZone+".", dns.TypeA)
	m.SetEdns0(4096, false)
	r := exchange(t, addr, "udp", m)
	if opt := r.IsEdns0(); opt == nil || opt.UDPSize() != maxUDPSize || r.Rcode != dns.RcodeSuccess {
		t.Errorf("EDNS answer: opt=%v rcode=%s", r.IsEdns0(), dns.RcodeToString[r.Rcode])
	}

	m.IsEdns0().SetVersion(1)
	if r := exchange(t, addr, "udp", m); r.Rcode != dns.RcodeBadVers {
		t.Errorf("EDNS version 1: rcode %s, want BADVERS", dns.RcodeToString[r.Rcode])
	}

	m = new(dns.Msg)
	m.SetNotify(testZone + ".")
	if r := exchange(t, addr, "udp", m); r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: rcode %s, want NOTIMP", dns.RcodeToString[r.Rcode])
	}

	m = new(dns.Msg)
	m.SetQuestion("2.0.0.127."+testZone+".", dns.TypeA)
	m.Question[0].Qclass = dns.ClassCHAOS
	if r := exchange(t, addr, "udp", m); r.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS class: rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}

func TestDNSServerShutdown(t *testing.T) {
	tr := newTraps(t, Config{}, newClock())
	srv := NewDNSServer(tr, testZone, nil)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown of an idle server: %v", err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(pc); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
	// Serve closed pc: the port can be bound again.
	pc2, err := net.ListenPacket("udp", pc.LocalAddr().String())
	if err != nil {
		t.Errorf("pc not closed: %v", err)
	} else {
		pc2.Close()
	}
}

func TestDNSServerBadZone(t *testing.T) {
	tr := newTraps(t, Config{}, newClock())
	for _, zone := range []string{"", ".", "bad zone"} {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := NewDNSServer(tr, zone, nil).Serve(pc); err == nil || errors.Is(err, ErrServerClosed) {
			t.Errorf("zone %q: Serve = %v, want a zone error", zone, err)
		}
	}
}

// FuzzDNSAnswer feeds arbitrary packets to the answer logic: a DNS list
// server faces the Internet, so no query may panic it, and every answer
// must pack and fit a UDP reply.
func FuzzDNSAnswer(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"2.0.0.127." + testZone + ".", dns.TypeA},
		{nibbles("2001:db8::1") + ".", dns.TypeTXT},
		{testZone + ".", dns.TypeANY},
		{"0.127." + testZone + ".", dns.TypeA},
		{"example.org.", dns.TypeA},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	clk := newClock()
	tr, err := New(Config{StatePath: filepath.Join(f.TempDir(), "traps.json")}, clk.Now, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := tr.Record(netip.MustParseAddr("192.0.2.1"), "trap@example.test", ReasonMailbox); err != nil {
		f.Fatal(err)
	}
	srv := NewDNSServer(tr, testZone, nil)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		r := new(dns.Msg)
		if r.Unpack(pkt) != nil {
			return
		}
		m := srv.answer(r, false)
		out, err := m.Pack()
		if err != nil {
			t.Fatalf("answer does not pack: %v\n%v", err, m)
		}
		if len(out) > maxUDPSize {
			t.Fatalf("UDP answer of %d bytes", len(out))
		}
	})
}
