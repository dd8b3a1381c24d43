package smtpd

import (
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

// contentFindings turns DATA statistics into findings.
func (s *session) contentFindings(st smtp.DataStats) {
	if st.BareLF > 0 {
		s.finding(diagnose.BareLFData)
	}
	if st.BareCR > 0 {
		s.finding(diagnose.BareCRData)
	}
	if st.LongLines > 0 {
		s.finding(diagnose.LongLine)
	}
	if st.EightBit && !s.tx.body8bit && !s.tx.smtputf8 {
		s.finding(diagnose.EightBitNoBody)
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

// findingCodes lists the session's finding codes for the summary line.
func (s *session) findingCodes() []string {
	var cs []string
	for _, f := range s.findings {
		cs = append(cs, f.Code)
	}
	return cs
}
