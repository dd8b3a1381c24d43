package smtpd

import (
	"context"
	"errors"
	"time"

	"fakesmtp/internal/smtp"
)

// Stress mode, postscreen's answer to a connection flood: above
// stressHigh of max_sessions the server shortens the banner delay and the
// timeouts and stops tarpitting, so that slots free up fast; below
// stressLow it goes back to normal. The gap avoids flapping.
const (
	stressHigh = 0.9
	stressLow  = 0.8
	// stressTimeout is the receive timeout under stress (postscreen's
	// command time limit under stress is 10 s).
	stressTimeout = 10 * time.Second
	// stressBannerDivisor shortens the banner delay under stress
	// (postscreen: greet wait 6 s, 2 s under stress).
	stressBannerDivisor = 3
)

// errNoRawWait means the connection cannot be waited on without a buffer.
var errNoRawWait = errors.New("smtpd: no raw socket wait")

// updateStress enters or leaves stress mode given the sessions running.
func (srv *Server) updateStress(active int64) {
	max := float64(srv.cfg.MaxSessions)
	switch {
	case float64(active) > stressHigh*max && !srv.stress.Load():
		if srv.stress.CompareAndSwap(false, true) {
			srv.deps.Logger.Warn("entering stress mode: shorter banner delay and timeouts, no tarpit",
				"sessions", active, "max_sessions", srv.cfg.MaxSessions)
		}
	case float64(active) < stressLow*max && srv.stress.Load():
		if srv.stress.CompareAndSwap(true, false) {
			srv.deps.Logger.Info("leaving stress mode", "sessions", active, "max_sessions", srv.cfg.MaxSessions)
		}
	}
}

// timeout is the receive timeout, shortened under stress.
func (s *session) timeout() time.Duration {
	if s.stressed {
		return min(s.cfg.ReceiveTimeout, stressTimeout)
	}
	return s.cfg.ReceiveTimeout
}

// bannerDelay is the wait before the banner, shortened under stress.
func (s *session) bannerDelay() time.Duration {
	if s.stressed {
		return s.cfg.BannerDelay / stressBannerDivisor
	}
	return s.cfg.BannerDelay
}

// errorDelay is the original's tarpit: error_delay × errors so far,
// capped by error_delay_max.
func (s *session) errorDelay() time.Duration {
	if s.cfg.ErrorDelay <= 0 || s.errors == 0 {
		return 0
	}
	return min(s.cfg.ErrorDelay*time.Duration(s.errors), s.cfg.ErrorDelayMax)
}

// tarpitted applies the tarpit before reply r. With tarpit = delay it
// waits errorDelay and leaves the writing to the caller (handled false).
// With tarpit = stutter it writes r itself, one byte per stutter
// interval (spamd's way: a bot waits, and a bot that gives up early
// shows it was never going to deliver), and reports handled. Sessions are
// tarpitted only when they deserve it (errors, a DNS listing, early talk
// in enforce mode, the banner in stutter mode), and never past
// max_tarpitted sessions at once, past tarpit_max_time for one session,
// or under stress.
func (s *session) tarpitted(ctx context.Context, r smtp.Reply) (handled bool, err error) {
	d := s.errorDelay()
	stutter := s.cfg.Stutter && (d > 0 || s.listed || s.enforce || s.stutterBanner && r.Code == 220)
	if d <= 0 && !stutter || s.stressed {
		return false, nil
	}
	budget := time.Duration(1<<63 - 1)
	if s.cfg.TarpitMaxTime > 0 {
		if budget = s.cfg.TarpitMaxTime - s.tarpitSpent; budget <= 0 {
			return false, nil
		}
	}
	if !s.srv.tarpitAcquire() {
		return false, nil
	}
	defer s.srv.tarpitRelease()
	s.srv.counters.Tarpitted.Add(1)
	now := s.srv.deps.Now
	start := now()
	defer func() { s.tarpitSpent += now().Sub(start) }()
	// Let earlier replies out before we stall, and hold no buffer while
	// stalled.
	if err := s.releaseBuffers(); err != nil {
		return true, err
	}
	if !stutter {
		s.sleep(ctx, min(d, budget))
		return false, nil
	}
	b := r.Format()
	for i := 0; i < len(b); i++ {
		if i > 0 && (now().Sub(start) >= budget || !s.sleep(ctx, s.cfg.StutterInterval)) {
			// Out of budget, or shutting down: the rest at once.
			s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout()))
			_, err := s.conn.Write(b[i:])
			return true, err
		}
		if i == len(b)-1 && s.stutterBanner && r.Code == 220 && s.cfg.DoEarlyTalk {
			// Anything in before the banner's last byte was sent before
			// the client could have read a complete reply.
			s.talkedDuringBanner = s.buffered() > 0 || pendingInput(s.conn)
		}
		s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout()))
		if _, err := s.conn.Write(b[i : i+1]); err != nil {
			return true, err
		}
	}
	return true, nil
}

// tarpitAcquire counts a session into the tarpit unless max_tarpitted
// are there already (spamd's maxblack: past it, no more tarpitting).
func (srv *Server) tarpitAcquire() bool {
	n := srv.tarpitting.Add(1)
	if srv.cfg.MaxTarpitted > 0 && n > int64(srv.cfg.MaxTarpitted) {
		srv.tarpitting.Add(-1)
		return false
	}
	return true
}

func (srv *Server) tarpitRelease() { srv.tarpitting.Add(-1) }

// Tarpitting returns the number of sessions in the tarpit now.
func (srv *Server) Tarpitting() int { return int(srv.tarpitting.Load()) }
