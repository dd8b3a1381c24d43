package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"fakesmtp/internal/index"
)

// event is one Server-Sent Event.
type event struct {
	name string
	data any
}

// eventBuffer is each stream's room for the events that do not come
// from the index (sessions); a stream that falls behind is dropped, never
// waited for, and its client reconnects.
const eventBuffer = 64

// SessionEnded tells the open event streams that a session ended (its
// record is already in the index).
func (s *Server) SessionEnded(sess index.Session) {
	sess.Transcript = ""
	s.events.Publish(event{"session", sessionOf(sess)})
}

// Stream intervals: the dashboard's live counters, and a comment that
// keeps proxies from closing an idle stream.
const (
	statsInterval = 5 * time.Second
	pingInterval  = 15 * time.Second
)

// eventStream serves /api/v1/events (Server-Sent Events, WHATWG HTML
// 9.2): index changes, ended sessions and the live counters.
func (s *Server) eventStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	idx, stopIdx := s.deps.Index.Subscribe()
	defer stopIdx()
	own, stopOwn := s.events.Subscribe()
	defer stopOwn()
	stats := time.NewTicker(statsInterval)
	defer stats.Stop()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()

	send := func(name string, v any) bool {
		data, err := json.Marshal(v)
		if err != nil {
			return false
		}
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The retry hint, and a first stats event so the page has numbers.
	fmt.Fprint(w, "retry: 2000\n\n")
	if !send("stats", s.deps.Live()) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-idx:
			if !ok {
				// Dropped for being slow: the client reconnects and
				// reloads, as after any gap.
				return
			}
			var ok2 bool
			switch e.Kind {
			case index.EventPut:
				ok2 = send("message", summaryOf(e.Message))
			case index.EventDelete:
				ok2 = send("deleted", map[string]any{"ids": orEmpty(e.IDs)})
			case index.EventDeleteAll:
				ok2 = send("deleted", map[string]any{"ids": orEmpty(e.IDs), "all": true})
			case index.EventUpdate:
				ok2 = send("updated", map[string]any{"ids": orEmpty(e.IDs)})
			default:
				ok2 = true
			}
			if !ok2 {
				return
			}
		case e, ok := <-own:
			if !ok || !send(e.name, e.data) {
				return
			}
		case <-stats.C:
			if !send("stats", s.deps.Live()) {
				return
			}
		case <-ping.C:
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
