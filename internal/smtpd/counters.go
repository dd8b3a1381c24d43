package smtpd

import "sync/atomic"

// Counters count what the server decided, for the periodic summary line
// and, later, metrics. Every field only grows.
type Counters struct {
	Sessions     atomic.Int64 // sessions started
	Accepted     atomic.Int64 // messages accepted (250)
	Bytes        atomic.Int64 // bytes of the messages accepted
	Refused      atomic.Int64 // messages refused after DATA, temp-failed included
	EarlyTalk    atomic.Int64 // early talkers
	Listed       atomic.Int64 // clients listed by DNS lists
	Tarpitted    atomic.Int64 // replies delayed or stuttered
	TrapHits     atomic.Int64 // RCPTs to a trap
	Greylisted   atomic.Int64 // RCPTs answered 451 by the greylist
	PerIPRefused atomic.Int64 // connections over a per-client limit
	SessionLimit atomic.Int64 // connections over max_sessions
	NonSMTP      atomic.Int64 // non-SMTP input
	ProxyRefused atomic.Int64 // connections without a valid PROXY header
}

// Snapshot is a copy of the Counters at one moment, as log attributes.
func (c *Counters) Snapshot() []any {
	return []any{
		"sessions", c.Sessions.Load(),
		"accepted", c.Accepted.Load(),
		"refused", c.Refused.Load(),
		"early_talk", c.EarlyTalk.Load(),
		"listed", c.Listed.Load(),
		"tarpitted", c.Tarpitted.Load(),
		"trap_hits", c.TrapHits.Load(),
		"greylisted", c.Greylisted.Load(),
		"per_ip_refused", c.PerIPRefused.Load(),
		"session_limit", c.SessionLimit.Load(),
		"non_smtp", c.NonSMTP.Load(),
		"proxy_refused", c.ProxyRefused.Load(),
	}
}

// Counters returns the server's counters.
func (srv *Server) Counters() *Counters { return &srv.counters }
