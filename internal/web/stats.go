package web

import (
	"net/http"
	"time"

	"fakesmtp/internal/index"
)

// Bucket is one step of the dashboard's time series.
type Bucket struct {
	Start     time.Time      `json:"start"`
	Sessions  int            `json:"sessions"`
	Accepted  int            `json:"accepted"`
	Refused   int            `json:"refused"`
	EarlyTalk int            `json:"early_talk"`
	Tarpitted int            `json:"tarpitted"`
	TrapHits  int            `json:"trap_hits"`
	RefusedBy map[string]int `json:"refused_by"`
	ListHits  map[string]int `json:"list_hits"`
}

// TopEntry is one row of a top-N table.
type TopEntry struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// maxStatsBuckets keeps one request's work bounded.
const maxStatsBuckets = 2000

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	now := s.deps.Now().UTC()
	to, from, step := now, now.Add(-24*time.Hour), time.Hour
	var err error
	if v := qs.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			apiError(w, http.StatusBadRequest, "to: want RFC 3339")
			return
		}
	}
	if v := qs.Get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			apiError(w, http.StatusBadRequest, "from: want RFC 3339")
			return
		}
	} else if qs.Get("to") != "" {
		from = to.Add(-24 * time.Hour)
	}
	if v := qs.Get("step"); v != "" {
		if step, err = time.ParseDuration(v); err != nil || step <= 0 {
			apiError(w, http.StatusBadRequest, "step: want a positive duration such as 5m or 1h")
			return
		}
	}
	if from.Year() < 1970 || to.Year() > 2200 {
		apiError(w, http.StatusBadRequest, "from and to must lie between the years 1970 and 2200")
		return
	}
	if !from.Before(to) || to.Sub(from)/step > maxStatsBuckets {
		apiError(w, http.StatusBadRequest, "want from before to, and at most 2000 steps between them")
		return
	}
	buckets, err := s.deps.Index.Stats(r.Context(), from, to, step)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		From        time.Time             `json:"from"`
		To          time.Time             `json:"to"`
		StepSeconds float64               `json:"step_seconds"`
		Buckets     []Bucket              `json:"buckets"`
		Top         map[string][]TopEntry `json:"top"`
		Now         map[string]int        `json:"now"`
	}{From: from, To: to, StepSeconds: step.Seconds(), Buckets: []Bucket{}, Top: map[string][]TopEntry{}}
	for _, b := range buckets {
		rb, lh := b.RefusedBy, b.ListHits
		if rb == nil {
			rb = map[string]int{}
		}
		if lh == nil {
			lh = map[string]int{}
		}
		out.Buckets = append(out.Buckets, Bucket{Start: b.Start.UTC(), Sessions: b.Sessions, Accepted: b.Accepted, Refused: b.Refused,
			EarlyTalk: b.EarlyTalk, Tarpitted: b.Tarpitted, TrapHits: b.TrapHits, RefusedBy: rb, ListHits: lh})
	}
	for _, field := range []string{"ip", "helo", "sender_domain"} {
		top, err := s.deps.Index.Top(r.Context(), field, from, to, 10)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rows := []TopEntry{}
		for _, t := range top {
			rows = append(rows, TopEntry{Key: t.Key, Count: t.Count})
		}
		out.Top[field] = rows
	}
	live := s.deps.Live()
	page, err := s.deps.Index.List(r.Context(), index.ListOptions{Limit: -1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out.Now = map[string]int{"sessions": live.Sessions, "tarpitted": live.Tarpitted, "messages": page.Total, "unread": page.Unread}
	writeJSON(w, http.StatusOK, out)
}
