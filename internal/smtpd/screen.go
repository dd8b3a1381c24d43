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
	if s.lists == nil || s.listed {
		return smtp.Reply{}
	}
	v := s.lists.Verdict()
	if !v.Listed {
		if v.Allowlisted && at == "banner" {
			s.log.Info("client allowlisted by DNS lists", "score", v.Score, "hits", hitList(v.Hits))
		}
		return smtp.Reply{}
	}
	s.listed = true
	s.srv.counters.Listed.Add(1)
	zones := strings.Join(v.Zones(), ", ")
	if s.cfg.StoreData {
		s.log.Info("client listed by DNS lists; session goes on to collect", "at", at, "score", v.Score, "hits", hitList(v.Hits))
		return smtp.Reply{}
	}
	s.log.Info("client listed by DNS lists; refused", "at", at, "score", v.Score, "hits", hitList(v.Hits))
	s.reason = "listed by " + zones
	r := smtp.NewReply(421, smtp.EnhancedCode{4, 7, 1}, "Service unavailable; client [%s] blocked using %s", s.client.Addr(), zones)
	if s.cfg.DNSBLReject554 {
		r = smtp.NewReply(554, smtp.EnhancedCode{5, 7, 1}, "Service unavailable; client [%s] blocked using %s", s.client.Addr(), zones)
	}
	return r.WithClose()
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
	secs := int(d.Wait.Seconds() + 0.999)
	s.log.Info("greylisted", "from", s.tx.from.String(), "rcpt", rcpt.String(), "new", d.New, "retry_in", d.Wait.String())
	return smtp.NewReply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try again in %d seconds", secs)
}
