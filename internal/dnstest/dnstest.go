// Package dnstest runs a real DNS server on 127.0.0.1 for tests, serving
// records from zone-file text, so that DNS list checks are tested against
// the same wire protocol and client code as in production.
package dnstest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is an authoritative test server.
type Server struct {
	// Addr is the UDP and TCP address, "127.0.0.1:port".
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR // lower-case owner name → records
	delay   map[string]time.Duration
	queries int
}

// Start serves the records of zone (RFC 1035 master-file text, with
// $ORIGIN/$TTL as needed) on 127.0.0.1, UDP and TCP on the same port,
// until the test ends. Names with no record get NXDOMAIN with the SOA of
// their zone (RFC 2308), so negative caching can be tested too.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, delay: map[string]time.Duration{}}
	zp := dns.NewZoneParser(strings.NewReader(zone), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("dnstest: zone: %v", err)
	}
	pc, ln := ListenPair(t)
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		udp.ShutdownContext(ctx)
		tcp.ShutdownContext(ctx)
	})
	return s
}

// ListenPair listens on UDP and TCP on the same free 127.0.0.1 port, as a
// DNS server does. A free UDP port's TCP twin may be taken (by another
// test's connection): then it tries another port.
func ListenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		if attempt == 20 {
			t.Fatal(err)
		}
	}
}

// Delay makes answers for names ending in suffix come after d (a slow or
// dead list).
func (s *Server) Delay(suffix string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[dns.Fqdn(strings.ToLower(suffix))] = d
}

// Queries returns the number of queries answered so far.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// ServeDNS answers from the records; wildcards "*.zone" are honoured.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.queries++
	var wait time.Duration
	for suf, d := range s.delay {
		if strings.HasSuffix(name, suf) {
			wait = d
		}
	}
	rrs, found := s.records[name]
	if !found {
		for n := name; strings.Contains(n, "."); {
			_, rest, _ := strings.Cut(n, ".")
			if w, ok := s.records["*."+rest]; ok {
				for _, rr := range w {
					c := dns.Copy(rr)
					c.Header().Name = q.Name
					rrs = append(rrs, c)
				}
				found = true
				break
			}
			n = rest
		}
	}
	var soa dns.RR
	for n := name; n != ""; {
		for _, rr := range s.records[n] {
			if rr.Header().Rrtype == dns.TypeSOA {
				soa = rr
			}
		}
		if soa != nil {
			break
		}
		_, n, _ = strings.Cut(n, ".")
	}
	s.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype {
			m.Answer = append(m.Answer, rr)
		}
	}
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	if len(m.Answer) == 0 && soa != nil {
		m.Ns = append(m.Ns, soa)
	}
	w.WriteMsg(m)
}
