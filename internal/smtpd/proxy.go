package smtpd

import (
	"net"
	"net/netip"

	"github.com/pires/go-proxyproto"
)

// readProxyHeader reads the HAProxy PROXY v1 or v2 header that a trusted
// load balancer sends first, so that the session sees the real client.
// A connection from a source that is not in proxy_trusted, or with a
// missing or malformed header, is logged and closed without a reply:
// its peer is not an SMTP client we can talk to. It returns nil then.
func (s *session) readProxyHeader() *proxyproto.Conn {
	peer := s.conn.RemoteAddr().String()
	ap, err := netip.ParseAddrPort(peer)
	if err != nil || !s.trustedProxy(ap.Addr().Unmap()) {
		s.srv.counters.ProxyRefused.Add(1)
		s.log.Warn("connection refused: PROXY header expected, source is not in proxy_trusted", "peer", peer)
		return nil
	}
	pc := proxyproto.NewConn(s.dc,
		proxyproto.WithPolicy(proxyproto.REQUIRE),
		proxyproto.SetReadHeaderTimeout(s.timeout()))
	// A zero-length read makes the header be read and checked now.
	if _, err := pc.Read(nil); err != nil {
		s.srv.counters.ProxyRefused.Add(1)
		s.log.Warn("connection refused: missing or malformed PROXY header", "peer", peer, "err", err)
		return nil
	}
	if h := pc.ProxyHeader(); h != nil {
		if _, ok := h.SourceAddr.(*net.TCPAddr); ok {
			s.log.Info("PROXY header", "peer", peer, "client", h.SourceAddr.String())
		}
	}
	return pc
}

func (s *session) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.ProxyTrusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
