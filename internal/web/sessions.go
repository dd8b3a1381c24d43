package web

import (
	"errors"
	"net/http"
	"time"

	"fakesmtp/internal/index"
)

// Session is one SMTP session as the API shows it.
type Session struct {
	ID         string    `json:"id"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	ClientIP   string    `json:"client_ip"`
	ClientPort int       `json:"client_port"`
	Helo       string    `json:"helo"`
	TLS        bool      `json:"tls"`
	AuthUser   string    `json:"auth_user"`
	Accepted   int       `json:"accepted"`
	Refused    int       `json:"refused"`
	Errors     int       `json:"errors"`
	EarlyTalk  bool      `json:"early_talk"`
	Tarpitted  bool      `json:"tarpitted"`
	TrapHit    bool      `json:"trap_hit"`
	Reason     string    `json:"reason"`
	DNSLists   []string  `json:"dns_lists"`
	Findings   []string  `json:"findings"`
	Verdicts   []string  `json:"verdicts"`
	MessageIDs []string  `json:"message_ids"`
	Transcript string    `json:"transcript"`
}

func sessionOf(s index.Session) Session {
	return Session{ID: s.ID, Start: s.Start.UTC(), End: s.End.UTC(), ClientIP: s.ClientIP, ClientPort: s.ClientPort, Helo: s.Helo,
		TLS: s.TLS, AuthUser: s.AuthUser, Accepted: s.Accepted, Refused: s.Refused, Errors: s.Errors,
		EarlyTalk: s.EarlyTalk, Tarpitted: s.Tarpitted, TrapHit: s.TrapHit, Reason: s.Reason,
		DNSLists: orEmpty(s.DNSLists), Findings: orEmpty(s.Findings), Verdicts: orEmpty(s.Verdicts),
		MessageIDs: orEmpty(s.MessageIDs), Transcript: s.Transcript}
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	limit, err := intParam(r, "limit", 50)
	offset, err2 := intParam(r, "offset", 0)
	if err = errors.Join(err, err2); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, total, err := s.deps.Index.ListSessions(r.Context(), index.SessionListOptions{
		IP: clean(qs.Get("ip")), Helo: clean(qs.Get("helo")), Reason: clean(qs.Get("reason")), Limit: limit, Offset: offset})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Total    int       `json:"total"`
		Sessions []Session `json:"sessions"`
	}{total, []Session{}}
	for _, x := range list {
		out.Sessions = append(out.Sessions, sessionOf(x))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	x, err := s.deps.Index.GetSession(r.Context(), r.PathValue("id"))
	if errors.Is(err, index.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no such session")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionOf(x))
}
