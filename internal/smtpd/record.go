package smtpd

import (
	"net/netip"
	"strings"
	"time"
)

// SessionRecord is what a finished session did: the summary line's facts
// as data, for the message index and the dashboard (Deps.OnSessionEnd).
type SessionRecord struct {
	ID         string
	Start, End time.Time
	Client     netip.AddrPort
	Helo       string
	TLS        string // protocol version, "" without TLS
	AuthUser   string
	Accepted   int
	Refused    int
	Errors     int
	EarlyTalk  bool
	Listed     bool
	Trapped    bool
	Greylisted int
	Tarpit     time.Duration
	// Reason says why the session ended ("quit", "timeout", "early talk
	// ...", "listed: ...").
	Reason string
	// ListHits names the DNS lists that listed the client.
	ListHits []string
	Findings []string
	// MessageIDs are the messages accepted (or stored and temp-failed) in
	// this session.
	MessageIDs []string
	// Transcript is the dialogue, client lines "C: " and server lines
	// "S: ", when Config.Transcript is on; AUTH secrets are redacted and
	// message content is never in it.
	Transcript string
}

// maxTranscript caps a session's recorded transcript; a client that
// talks longer gets the start of it and a marker.
const maxTranscript = 64 << 10

// transcript appends one line to the session's recorded dialogue.
func (s *session) transcript(dir, line string) {
	if s.transcriptRoom(len(line)) {
		s.transcriptBuf.WriteString(dir)
		s.transcriptBuf.WriteString(line)
		s.transcriptBuf.WriteByte('\n')
	}
}

// transcriptBytes is transcript for a line held in a byte slice, which
// it does not keep.
func (s *session) transcriptBytes(dir string, line []byte) {
	if s.transcriptRoom(len(line)) {
		s.transcriptBuf.WriteString(dir)
		s.transcriptBuf.Write(line)
		s.transcriptBuf.WriteByte('\n')
	}
}

// transcriptRoom reports whether a line of n bytes goes in the
// transcript; the first line that does not fit ends it with a note.
func (s *session) transcriptRoom(n int) bool {
	if !s.cfg.Transcript || s.transcriptFull {
		return false
	}
	if s.transcriptBuf.Len()+n+4 > maxTranscript {
		s.transcriptBuf.WriteString("... (transcript cut at 64 KiB)\n")
		s.transcriptFull = true
		return false
	}
	return true
}

// record builds the session's SessionRecord.
func (s *session) record() SessionRecord {
	return SessionRecord{
		ID: s.id, Start: s.start, End: s.srv.deps.Now(), Client: s.client, Helo: s.helo,
		TLS: tlsVersion(s.tlsState), AuthUser: s.authUser,
		Accepted: s.accepted, Refused: s.refused, Errors: s.errors,
		EarlyTalk: s.earlyTalk, Listed: s.listed, Trapped: s.trapped != "", Greylisted: s.greylisted451,
		Tarpit: s.tarpitSpent, Reason: s.reason, ListHits: s.listHits, Findings: s.findingCodes(),
		MessageIDs: s.messageIDs, Transcript: strings.TrimSuffix(s.transcriptBuf.String(), "\n"),
	}
}
