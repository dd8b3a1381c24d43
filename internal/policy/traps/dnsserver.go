package traps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// NegativeTTL is the SOA MINIMUM and the SOA record's TTL, so the time a
// resolver caches "not listed" (RFC 2308 section 5: the lesser of the
// two). A minute means a freshly trapped client is seen as listed by a
// caching resolver within a minute.
const NegativeTTL = 60 * time.Second

// maxUDPSize is the largest UDP answer sent to an EDNS client: the 1232
// bytes of DNS Flag Day 2020, which avoids IP fragmentation. Answers here
// are far smaller; the cap matters only for what is advertised.
const maxUDPSize = 1232

// ErrServerClosed is returned by Serve and ServeTCP after Shutdown.
var ErrServerClosed = errors.New("traps: dns server closed")

// DNSServer is a DNS list server for the traps: it answers RFC 5782
// queries for <reversed-ip>.<zone> from the live entries, so an MX can
// use the trap list with postscreen_dnsbl_sites, reject_rbl_client or any
// other DNSBL client, directly or through a resolver that forwards the
// zone to it. It is authoritative for the zone and refuses everything
// else; it never recurses.
//
// Answers, with the zone apex's SOA in the authority section of every
// negative one (RFC 2308 section 3, so it can be cached):
//
//   - listed address: A 127.0.0.2 and TXT with the reason (RFC 5782 2.1,
//     2.2), TTL AnswerTTL or less if the entry expires sooner;
//   - unlisted address: NXDOMAIN (RFC 5782 2.1);
//   - 127.0.0.2 (also as ::ffff:7f00:2) always listed, 127.0.0.1 never
//     (RFC 5782 section 5);
//   - the apex: SOA and NS;
//   - names outside the zone: REFUSED.
type DNSServer struct {
	// NS is the host name in the apex NS and SOA MNAME records; set it
	// before serving (to the host's name, under which the zone is
	// delegated). "" means "localhost.".
	NS string

	traps  *Traps
	zone   string // lower-case, fully qualified
	logger *slog.Logger

	mu      sync.Mutex
	closed  bool
	servers map[*dns.Server]*running
}

// running tracks one dns.Server between Serve and Shutdown: miekg/dns
// refuses to shut down a server that has not started yet.
type running struct {
	started chan struct{} // closed once it is reading
	done    chan struct{} // closed when ActivateAndServe returned
}

// NewDNSServer returns a DNS list server for zone (e.g.
// "trap.example.test") answering from t. logger nil discards.
func NewDNSServer(t *Traps, zone string, logger *slog.Logger) *DNSServer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DNSServer{
		traps:   t,
		zone:    dns.CanonicalName(strings.TrimSpace(zone)),
		logger:  logger,
		servers: map[*dns.Server]*running{},
	}
}

// Zone returns the zone served, lower-case and fully qualified.
func (d *DNSServer) Zone() string { return d.zone }

// Serve answers UDP queries on pc until Shutdown, then returns
// ErrServerClosed. It closes pc.
func (d *DNSServer) Serve(pc net.PacketConn) error {
	return d.serve(&dns.Server{PacketConn: pc, Net: "udp"}, func() { pc.Close() })
}

// ServeTCP answers TCP queries on ln until Shutdown, then returns
// ErrServerClosed. It closes ln. RFC 7766 requires DNS servers to answer
// over TCP too; resolvers retry there after a truncated UDP answer.
func (d *DNSServer) ServeTCP(ln net.Listener) error {
	return d.serve(&dns.Server{Listener: ln, Net: "tcp"}, func() { ln.Close() })
}

func (d *DNSServer) serve(s *dns.Server, closeConn func()) error {
	if d.zone == "." || !validZone(d.zone) {
		closeConn()
		return fmt.Errorf("traps: dns zone %q is not a domain name below the root", d.zone)
	}
	r := &running{started: make(chan struct{}), done: make(chan struct{})}
	s.Handler = d
	s.NotifyStartedFunc = func() { close(r.started) }
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		closeConn()
		return ErrServerClosed
	}
	d.servers[s] = r
	d.mu.Unlock()

	err := s.ActivateAndServe()
	close(r.done)
	d.mu.Lock()
	closed := d.closed
	delete(d.servers, s)
	d.mu.Unlock()
	if closed {
		return ErrServerClosed
	}
	closeConn()
	if err == nil {
		err = errors.New("stopped")
	}
	return fmt.Errorf("traps: dns %s: %w", s.Net, err)
}

// Shutdown stops every Serve and ServeTCP and waits until their
// in-flight answers are written, or ctx ends.
func (d *DNSServer) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	servers := make(map[*dns.Server]*running, len(d.servers))
	for s, r := range d.servers {
		servers[s] = r
	}
	d.mu.Unlock()
	for s, r := range servers {
		select {
		case <-r.started:
			if err := s.ShutdownContext(ctx); err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ServeDNS answers one query; it implements dns.Handler.
func (d *DNSServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	m := d.answer(r, tcp)
	if err := w.WriteMsg(m); err != nil {
		d.logger.Debug("dnsbl answer not sent", "client", w.RemoteAddr().String(), "err", err)
	}
}

// answer builds the reply to r; tcp lifts the UDP size limit.
func (d *DNSServer) answer(r *dns.Msg, tcp bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = false
	udpSize := dns.MinMsgSize // RFC 1035 4.2.1: 512 without EDNS
	if opt := r.IsEdns0(); opt != nil {
		// RFC 6891 6.1.3: an unknown EDNS version gets BADVERS.
		m.SetEdns0(maxUDPSize, false)
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			return m
		}
		udpSize = max(dns.MinMsgSize, min(int(opt.UDPSize()), maxUDPSize))
	}
	if r.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := r.Question[0]
	name := dns.CanonicalName(q.Name)
	if (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) || !dns.IsSubDomain(d.zone, name) {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true
	labels := dns.SplitDomainName(name)
	d.resolve(m, q.Qtype, labels[:len(labels)-dns.CountLabel(d.zone)])
	d.logger.Debug("dnsbl query", "name", name, "type", dns.TypeToString[q.Qtype], "rcode", dns.RcodeToString[m.Rcode])
	if !tcp {
		m.Truncate(udpSize)
	}
	return m
}

// resolve fills m for a query of type qtype for labels below the zone.
func (d *DNSServer) resolve(m *dns.Msg, qtype uint16, labels []string) {
	if len(labels) == 0 {
		switch qtype {
		case dns.TypeSOA:
			m.Answer = append(m.Answer, d.soa())
		case dns.TypeNS:
			m.Answer = append(m.Answer, d.ns())
		case dns.TypeANY:
			m.Answer = append(m.Answer, d.soa(), d.ns())
		default:
			m.Ns = append(m.Ns, d.soa()) // NODATA, RFC 2308 2.2
		}
		return
	}
	var (
		text   string
		ttl    uint32
		listed bool
	)
	if ip, ok := parseReverse(labels); ok {
		text, ttl, listed = d.lookup(ip)
	}
	if !listed {
		// A name that is not a listing may still be an ancestor of one,
		// and that includes a name that reads as an unlisted IPv4
		// address: "1.0.0.2" is both 2.0.0.1 and the top four nibbles of
		// 2001:db8::1. Such a node exists without records (RFC 8020:
		// NXDOMAIN would deny the whole subtree to a resolver doing QNAME
		// minimisation, RFC 9156), so it is NODATA.
		if !d.emptyNonTerminal(labels) {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = append(m.Ns, d.soa()) // RFC 2308 2.1 and 2.2
		return
	}
	name := dns.Fqdn(strings.Join(labels, ".") + "." + d.zone)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	a := &dns.A{Hdr: hdr(dns.TypeA), A: listedA.AsSlice()}
	txt := &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{text}}
	switch qtype {
	case dns.TypeA:
		m.Answer = append(m.Answer, a)
	case dns.TypeTXT:
		m.Answer = append(m.Answer, txt)
	case dns.TypeANY:
		m.Answer = append(m.Answer, a, txt)
	default:
		m.Ns = append(m.Ns, d.soa()) // NODATA
	}
}

// lookup decides whether ip is listed, with the TXT text (the same as in
// the rbldnsd files) and the answer TTL: AnswerTTL, or less when the
// entry expires sooner, so a resolver never keeps a listing past its
// expiry.
func (d *DNSServer) lookup(ip netip.Addr) (text string, ttl uint32, listed bool) {
	ip = ip.Unmap() // ::ffff:7f00:2 is the IPv6 form of the test entry
	switch ip {
	case testListed:
		return testReason, uint32(AnswerTTL / time.Second), true
	case testNotListed:
		return "", 0, false
	}
	e, ok := d.traps.Listed(ip)
	if !ok {
		return "", 0, false
	}
	left := e.Last.Add(d.traps.TTL()).Sub(d.traps.now())
	ttl = uint32(min(AnswerTTL, max(left, time.Second)) / time.Second)
	return listingText(ip.String(), e.Reason), ttl, true
}

// emptyNonTerminal says whether labels name an ancestor of a listed
// address's name, in either form an IPv4 entry is answered under.
func (d *DNSServer) emptyNonTerminal(labels []string) bool {
	ips := []netip.Addr{testListed, netip.AddrFrom16(testListed.As16())}
	for _, e := range d.traps.Entries() {
		ips = append(ips, e.IP)
		if e.IP.Is4() {
			ips = append(ips, netip.AddrFrom16(e.IP.As16()))
		}
	}
	for _, ip := range ips {
		if isAncestor(labels, ip) {
			return true
		}
	}
	return false
}

// soa is the zone's SOA. The serial is the time of the last change to the
// list; refresh, retry and expire are the usual values and only matter
// to secondaries, which this server has none of (no AXFR).
func (d *DNSServer) soa() dns.RR {
	serial := uint32(d.traps.updatedAt().Unix())
	if serial == 0 {
		serial = 1
	}
	neg := uint32(NegativeTTL / time.Second)
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: d.zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: neg},
		Ns:      d.nsName(),
		Mbox:    "hostmaster." + d.zone,
		Serial:  serial,
		Refresh: 3600,
		Retry:   600,
		Expire:  604800,
		Minttl:  neg,
	}
}

func (d *DNSServer) ns() dns.RR {
	return &dns.NS{
		Hdr: dns.RR_Header{Name: d.zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: uint32(AnswerTTL / time.Second)},
		Ns:  d.nsName(),
	}
}

func (d *DNSServer) nsName() string {
	if d.NS == "" {
		return "localhost."
	}
	return dns.Fqdn(d.NS)
}

// validZone checks a fully qualified zone name.
func validZone(zone string) bool {
	_, ok := dns.IsDomainName(zone)
	return ok && !strings.ContainsAny(zone, " \t\\")
}
