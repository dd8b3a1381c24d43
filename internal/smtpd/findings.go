package smtpd

import (
	"sort"

	"fakesmtp/internal/diagnose"
	"fakesmtp/internal/smtp"
)

// headerPeek is how much of a message is held in memory before its file is
// created, so that the findings about its header section can go into the
// file's own annotation headers. Almost every header section fits.
const headerPeek = 64 * 1024

// finding records what the client did wrong, once per code per session,
// and logs it: the "diagnose SMTP sending problems" job.
func (s *session) finding(f diagnose.Finding) {
	for _, g := range s.findings {
		if g.Code == f.Code {
			return
		}
	}
	s.findings = append(s.findings, f)
	s.log.Info("client finding", "code", f.Code, "text", f.Text, "rfc", f.RFC)
}

// contentFindings turns DATA statistics into findings about the message.
func (s *session) contentFindings(st smtp.DataStats) []diagnose.Finding {
	var fs []diagnose.Finding
	if st.BareLF > 0 {
		fs = append(fs, diagnose.BareLFData)
	}
	if st.BareCR > 0 {
		fs = append(fs, diagnose.BareCRData)
	}
	if st.LongLines > 0 {
		fs = append(fs, diagnose.LongLine)
	}
	if st.EightBit && !s.tx.body8bit && !s.tx.smtputf8 {
		fs = append(fs, diagnose.EightBitNoBody)
	}
	return fs
}

// messageFindings logs the findings about one message (once per code per
// session) and keeps their codes for the summary. Unlike the session's
// own findings they belong to that message only.
func (s *session) messageFindings(fs []diagnose.Finding) {
	for _, f := range fs {
		if s.msgCodes == nil {
			s.msgCodes = map[string]bool{}
		}
		if !s.msgCodes[f.Code] {
			s.msgCodes[f.Code] = true
			s.log.Info("client finding", "code", f.Code, "text", f.Text, "rfc", f.RFC)
		}
	}
}

// findingHeaders are the X-FakeSMTP-Finding annotations of a message: the
// session's findings so far and those of the message itself.
func (s *session) findingHeaders(msg []diagnose.Finding) []string {
	if !s.cfg.FindingHeaders {
		return nil
	}
	var hs []string
	seen := map[string]bool{}
	for _, f := range append(append([]diagnose.Finding(nil), s.findings...), msg...) {
		if !seen[f.Code] {
			seen[f.Code] = true
			hs = append(hs, "X-FakeSMTP-Finding: "+f.String())
		}
	}
	return hs
}

// findingCodes lists every finding code of the session for the summary.
func (s *session) findingCodes() []string {
	var cs []string
	for _, f := range s.findings {
		cs = append(cs, f.Code)
	}
	for c := range s.msgCodes {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}
