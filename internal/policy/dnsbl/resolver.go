package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Resolver looks up the A records of a list query name.
type Resolver interface {
	// LookupA returns the addresses for name and how long the answer may
	// be cached. A name that does not exist (NXDOMAIN, or no A records)
	// is no error: it returns no addresses, with the negative TTL of RFC
	// 2308 (the SOA minimum) when the server gave one.
	LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error)
}

// DNSResolver asks one recursive DNS server directly, so that fakesmtp can
// use a dedicated resolver for list queries: public resolvers get error
// codes from Spamhaus and are blocked by dnswl.org (antispam.md 5.6).
type DNSResolver struct {
	server string
	udp    *dns.Client
	tcp    *dns.Client
}

// defaultResolvConf is where the system's resolvers are listed on Unix.
const defaultResolvConf = "/etc/resolv.conf"

// NewResolver returns a resolver asking server ("host:port"); an empty
// server means the first nameserver of /etc/resolv.conf.
func NewResolver(server string, timeout time.Duration) (*DNSResolver, error) {
	if server == "" {
		cc, err := dns.ClientConfigFromFile(defaultResolvConf)
		if err != nil || len(cc.Servers) == 0 {
			return nil, fmt.Errorf("dnsbl: no system resolver in %s (set dns_resolver): %v", defaultResolvConf, err)
		}
		server = net.JoinHostPort(cc.Servers[0], cc.Port)
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return nil, fmt.Errorf("dnsbl: resolver %q: %w", server, err)
	}
	return &DNSResolver{
		server: server,
		udp:    &dns.Client{Net: "udp", Timeout: timeout},
		tcp:    &dns.Client{Net: "tcp", Timeout: timeout},
	}, nil
}

// Server returns the address queries go to.
func (r *DNSResolver) Server() string { return r.server }

// LookupA implements Resolver.
func (r *DNSResolver) LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	m.RecursionDesired = true
	in, _, err := r.udp.ExchangeContext(ctx, m, r.server)
	if err == nil && in.Truncated {
		in, _, err = r.tcp.ExchangeContext(ctx, m, r.server)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("dnsbl: query %s: %w", name, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, 0, fmt.Errorf("dnsbl: query %s: %w", name, &RcodeError{Rcode: in.Rcode})
	}
	var addrs []netip.Addr
	ttl := time.Duration(-1)
	for _, rr := range in.Answer {
		a, ok := rr.(*dns.A)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(a.A); ok {
			addrs = append(addrs, ip.Unmap())
			if t := time.Duration(a.Hdr.Ttl) * time.Second; ttl < 0 || t < ttl {
				ttl = t
			}
		}
	}
	if len(addrs) == 0 {
		// RFC 2308 section 5: the negative TTL is the SOA's minimum, capped
		// by the SOA record's own TTL.
		for _, rr := range in.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl = time.Duration(min(soa.Minttl, soa.Hdr.Ttl)) * time.Second
			}
		}
	}
	return addrs, max(ttl, 0), nil
}

// RcodeError is a DNS answer other than NOERROR or NXDOMAIN (SERVFAIL,
// REFUSED): the list could not answer, which is never a listing.
type RcodeError struct{ Rcode int }

func (e *RcodeError) Error() string { return "answer " + dns.RcodeToString[e.Rcode] }

var _ Resolver = (*DNSResolver)(nil)

// IsTimeout reports whether err is a DNS timeout.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
