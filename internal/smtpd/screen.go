package smtpd

import (
	"strings"

	"fakesmtp/internal/policy/greylist"
	"fakesmtp/internal/smtp"
)

// screenListed applies the DNS list verdict (the original's rule, with
// postscreen's weights): a listed client that is not allowlisted is
// refused when nothing is stored, and kept talking when the junk is
// wanted (store_data on), its messages marked with the hits. The verdict
// is taken from the answers in hand when the banner is due, and again at
// MAIL for lists that answered later. It returns the zero Reply to go on.
func (s *session) screenListed(at string) smtp.Reply {
	if s.listed {
		return smtp.Reply{}
	}
	if tr := s.srv.deps.Traps; tr != nil && at == "banner" {
		// A client that wrote to a trap within trap_ttl is treated as
		// listed, like a DNS listing.
		if e, ok := tr.Listed(s.client.Addr()); ok {
			return s.refuseListed(at, "trapped: "+e.Reason, "trap", e.Reason)
		}
	}
	if s.lists == nil {
		return smtp.Reply{}
	}
	v := s.lists.Verdict()
	if !v.Listed {
		if v.Allowlisted && at == "banner" {
			s.log.Info("client allowlisted by DNS lists", "score", v.Score, "hits", hitList(v.Hits))
		}
		return smtp.Reply{}
	}
	s.listHits = v.Zones()
	return s.refuseListed(at, "using "+strings.Join(v.Zones(), ", "), "score", v.Score, "hits", hitList(v.Hits))
}

// refuseListed marks the client listed and, when nothing is stored,
// refuses it naming why; with store_data on the session goes on, since
// the collector wants the junk.
func (s *session) refuseListed(at, why string, attrs ...any) smtp.Reply {
	s.listed = true
	s.srv.counters.Listed.Add(1)
	if s.cfg.StoreData {
		s.log.Info("client listed; session goes on to collect", append([]any{"at", at, "why", why}, attrs...)...)
		return smtp.Reply{}
	}
	s.log.Info("client listed; refused", append([]any{"at", at, "why", why}, attrs...)...)
	s.reason = "listed: " + why
	r := smtp.NewReply(421, smtp.EnhancedCode{4, 7, 1}, "Service unavailable; client [%s] blocked %s", s.client.Addr(), why)
	if s.cfg.DNSBLReject554 {
		r = smtp.NewReply(554, smtp.EnhancedCode{5, 7, 1}, "Service unavailable; client [%s] blocked %s", s.client.Addr(), why)
	}
	return r.WithClose()
}

// trapHit records a client that writes to a trap (spamd's spamtrap and
// alloweddomains): from now on, for trap_ttl, its connections are
// treated as listed, and the recorded address is published for the real
// MX. This RCPT itself goes on through the usual checks: a trap mailbox
// is accepted (the message is evidence), an unknown domain is refused as
// relaying.
func (s *session) trapHit(rcpt smtp.Path) {
	tr := s.srv.deps.Traps
	if tr == nil || rcpt.IsPostmaster() {
		return
	}
	local := true
	if rc := s.srv.deps.Recipients; rc != nil {
		local = rc.LocalDomain(rcpt.Domain)
	}
	reason, hit := tr.Match(rcpt.String(), local)
	if !hit {
		return
	}
	s.srv.counters.TrapHits.Add(1)
	if s.trapped == "" {
		s.trapped = reason + " <" + rcpt.String() + ">"
	}
	if err := tr.Record(s.client.Addr(), rcpt.String(), reason); err != nil {
		s.srv.deps.Logger.Error("trap hit not recorded", "session", s.id, "err", err)
	}
	s.log.Warn("trap hit", "rcpt", rcpt.String(), "reason", reason)
}

func hitList[T interface{ String() string }](hits []T) string {
	parts := make([]string, len(hits))
	for i, h := range hits {
		parts[i] = h.String()
	}
	return strings.Join(parts, " ")
}

// greylisted asks the greylist about this recipient (spamd and postgrey:
// a real MTA retries after a 4xx, most bots do not). Clients on a DNS
// allowlist skip it. It returns the zero Reply to go on.
func (s *session) greylisted(rcpt smtp.Path) smtp.Reply {
	gl := s.srv.deps.Greylist
	if gl == nil || s.lists.Verdict().Allowlisted {
		return smtp.Reply{}
	}
	d := gl.Check(greylist.Triplet{Client: s.client.Addr(), Sender: s.tx.from.String(), Recipient: rcpt.String()})
	if d.Pass {
		return smtp.Reply{}
	}
	s.srv.counters.Greylisted.Add(1)
	s.greylisted451++
	secs := int(d.Wait.Seconds() + 0.999)
	s.log.Info("greylisted", "from", s.tx.from.String(), "rcpt", rcpt.String(), "new", d.New, "retry_in", d.Wait.String())
	return smtp.NewReply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try again in %d seconds", secs)
}
