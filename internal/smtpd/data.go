package smtpd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"fakesmtp/internal/diagnose"
	"fakesmtp/internal/smtp"
	"fakesmtp/internal/store"
)

// copyBufs are the buffers DATA content passes through on its way to
// disk; pooled so that a busy server does not allocate 32 KiB per message.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

// receiveData reads the message after 354 up to the real end of data,
// stores it durably, and returns the final reply. Refusals (size, strict
// line endings, storage failure) are given only after the end of data has
// been read, so the client and server stay in step (RFC 5321 4.1.1.4:
// the reply comes after the end of data).
func (s *session) receiveData(ctx context.Context) smtp.Reply {
	defer s.reset()
	env := s.envelope()
	var (
		sw       *store.Writer
		storeErr error
		created  bool
		head     bytes.Buffer // the first headerPeek bytes, before the file exists
	)
	defer func() {
		if sw != nil {
			sw.Abort()
		}
	}()
	// create runs the header checks on what has been read so far and
	// starts the file, its annotations complete.
	var content []diagnose.Finding // known only at the end of data
	// whole says head is the whole message; else more follows it.
	create := func(whole bool) {
		created = true
		check := diagnose.Head
		if whole {
			check = diagnose.Message
		}
		msg := append(check(head.Bytes(), s.tx.smtputf8), content...)
		s.messageFindings(msg)
		env.Extra = append(env.Extra, s.findingHeaders(msg)...)
		if !s.cfg.StoreData {
			return
		}
		sw, storeErr = s.srv.deps.Store.CreateWith(ctx, env, head.Bytes())
	}
	// While reading content the deadline is an idle timeout, renewed on
	// every read.
	s.dc.idle.Store(int64(s.timeout()))
	defer s.dc.idle.Store(0)

	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	dr := smtp.NewDotReader(s.reader())
	tooBig := false
	for {
		n, err := dr.Read(buf)
		if n > 0 && !tooBig {
			switch {
			case dr.Stats().Bytes > s.cfg.MaxDataSize:
				// Keep reading to the end of data, storing nothing more.
				tooBig = true
			case !created:
				head.Write(buf[:n])
				if head.Len() >= headerPeek {
					create(false)
				}
			case sw != nil && storeErr == nil:
				_, storeErr = sw.Write(buf[:n])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.contentReadFailed(err, "DATA")
		}
	}
	st := dr.Stats()
	s.noteContent(env.ID, st)
	content = s.contentFindings(st)
	if created {
		// A message too big to wait for: its file exists already, so the
		// content findings are only logged.
		s.messageFindings(content)
	} else if !tooBig {
		create(true)
	}
	return s.finishMessage(ctx, env, sw, storeErr, tooBig, st)
}

// finishMessage decides on a message whose content has been read to its
// end (DATA or BDAT LAST): refuse it, or commit it and answer 250 (or
// the temp-fail 421). The caller aborts sw if it is not committed.
func (s *session) finishMessage(ctx context.Context, env *store.Envelope, sw *store.Writer, storeErr error, tooBig bool, st smtp.DataStats) smtp.Reply {
	switch {
	case tooBig:
		s.refuse()
		s.log.Info("message refused: too big", "size_over", s.cfg.MaxDataSize)
		return smtp.ReplyTooBig
	case s.cfg.StrictLineEndings && (st.BareLF > 0 || st.BareCR > 0):
		s.refuse()
		s.log.Info("message refused: bare CR/LF", "bare_lf", st.BareLF, "bare_cr", st.BareCR)
		return smtp.ReplyBareLineEnd
	case storeErr != nil:
		s.refuse()
		s.srv.deps.Logger.Error("message not stored", "session", s.id, "id", env.ID, "err", storeErr)
		return smtp.ReplyStoreFailed
	}
	if sw != nil {
		began := time.Now()
		err := sw.Commit(ctx)
		if f := s.srv.deps.ObserveCommit; f != nil {
			f(time.Since(began))
		}
		if err != nil {
			s.refuse()
			s.srv.deps.Logger.Error("message not stored", "session", s.id, "id", env.ID, "err", err)
			return smtp.ReplyStoreFailed
		}
		var path string // for the outputs and hooks, when there are any
		if s.srv.deps.Outputs != nil || s.srv.deps.Hooks != nil {
			path, _ = s.srv.deps.Store.FilePath(env.ID)
		}
		if out := s.srv.deps.Outputs; out != nil {
			if err := out.Deliver(ctx, path); err != nil {
				// Not acknowledged, so not kept: the client's retry must
				// not leave a second copy (in whatever form it is now).
				s.srv.deps.Store.Remove(env.ID)
				s.refuse()
				s.srv.deps.Logger.Error("message not handed to the outputs", "session", s.id, "id", env.ID, "err", err)
				return smtp.ReplyStoreFailed
			}
		}
		// The hooks of a message that is kept, recorded before its reply.
		if h := s.srv.deps.Hooks; h != nil {
			if err := h.Pending(env.ID, path); err != nil {
				s.srv.deps.Logger.Error("hook not recorded; it will not run", "session", s.id, "id", env.ID, "err", err)
			} else {
				defer h.Run(path)
			}
		}
	}
	if sw != nil {
		s.messageIDs = append(s.messageIDs, env.ID)
		if f := s.srv.deps.OnStored; f != nil && s.cfg.StoreData {
			f(env.ID)
		}
	}
	if s.cfg.DoTempFail {
		// The junk is kept (durably, above), but the sender is told to
		// come back later: a real MTA retries at the real MX.
		s.refuse()
		s.reason = "temp-fail"
		s.log.Info("message stored, temp-failed", "id", env.ID, "size", st.Bytes, "stored", sw != nil)
		return smtp.ReplyTempFail
	}
	s.accepted++
	s.srv.counters.Accepted.Add(1)
	s.srv.counters.Bytes.Add(st.Bytes)
	s.log.Info("message accepted", "id", env.ID, "from", env.MailFrom, "rcpts", len(env.RcptTo), "size", st.Bytes, "stored", sw != nil)
	return smtp.NewReply(250, smtp.EnhancedCode{2, 0, 0}, "Ok: queued as %s", env.ID)
}

// envelope builds the stored envelope of the current transaction.
func (s *session) envelope() *store.Envelope {
	env := &store.Envelope{
		ID:         s.srv.deps.IDs.New(),
		Session:    s.id,
		ClientIP:   s.client.Addr(),
		ClientPort: s.client.Port(),
		Helo:       s.helo,
		MailFrom:   s.tx.from.String(),
		ReceivedAt: s.srv.deps.Now(),
		Hostname:   s.cfg.Hostname,
		Protocol:   s.protocol(),
	}
	for _, r := range s.tx.rcpts {
		env.RcptTo = append(env.RcptTo, r.String())
	}
	if s.authUser != "" {
		env.Extra = append(env.Extra, "X-FakeSMTP-Auth-User: "+store.Sanitize(s.authUser))
	}
	if h := tlsHeader(s.tlsState); h != "" {
		env.Extra = append(env.Extra, h)
	}
	env.Extra = append(env.Extra, s.tx.dsnHeaders()...)
	env.Extra = append(env.Extra, s.lists.Verdict().Headers()...)
	if s.trapped != "" {
		env.Extra = append(env.Extra, "X-FakeSMTP-Trap: "+store.Sanitize(s.trapped))
	}
	return env
}

// protocol is the Received header's "with" keyword: SMTP after HELO,
// ESMTP after EHLO (RFC 3848), UTF8SMTP with SMTPUTF8 (RFC 6531 3.7.3),
// each with an S over TLS.
func (s *session) protocol() string {
	p := "SMTP"
	switch {
	case s.tx.smtputf8:
		p = "UTF8SMTP"
	case s.esmtp:
		p = "ESMTP"
	}
	if s.tlsState != nil {
		// RFC 3848: ESMTPS (and RFC 6531's UTF8SMTPS) over TLS, with A
		// when authenticated.
		p += "S"
	}
	if s.authUser != "" && s.esmtp {
		p += "A"
	}
	return p
}

// noteContent logs what is worth knowing about the client's content.
func (s *session) noteContent(msgID string, st smtp.DataStats) {
	if st.BareLF > 0 || st.BareCR > 0 {
		s.log.Warn("bare CR/LF in message content", "id", msgID, "bare_lf", st.BareLF, "bare_cr", st.BareCR)
	}
	if st.LongLines > 0 {
		s.log.Info("lines over 998 characters in message", "id", msgID, "lines", st.LongLines)
	}
	if st.EightBit && !s.tx.body8bit && !s.tx.smtputf8 {
		s.log.Info("8-bit content without BODY=8BITMIME", "id", msgID)
	}
}

// refuse counts a message that was not accepted.
func (s *session) refuse() {
	s.refused++
	s.srv.counters.Refused.Add(1)
}

// contentReadFailed ends a message whose content could not be read to
// its end (DATA or a BDAT chunk): the shutdown or timeout reply, or none
// when the client is gone.
func (s *session) contentReadFailed(err error, during string) smtp.Reply {
	s.refuse()
	switch {
	case isTimeout(err) && s.srv.stopping.Load():
		return s.shutdownReply()
	case isTimeout(err):
		s.reason = "timeout during " + during
		return smtp.ReplyTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		s.reason = "client disconnected during " + during
	default:
		s.reason = "read error during " + during + ": " + err.Error()
	}
	return smtp.Reply{}
}
