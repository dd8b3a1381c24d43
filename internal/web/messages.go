package web

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/index"
	"fakesmtp/internal/mimeview"
	"fakesmtp/internal/store"
)

// routes registers the API.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/openapi.json", s.openAPI)
	mux.HandleFunc("GET /api/v1/info", s.info)
	mux.HandleFunc("GET /api/v1/messages", s.listMessages)
	mux.HandleFunc("DELETE /api/v1/messages", s.deleteMessages)
	mux.HandleFunc("POST /api/v1/messages/read", s.markMessages)
	mux.HandleFunc("GET /api/v1/messages/{id}", s.getMessage)
	mux.HandleFunc("DELETE /api/v1/messages/{id}", s.deleteMessage)
	mux.HandleFunc("PUT /api/v1/messages/{id}/read", s.markMessage)
	mux.HandleFunc("POST /api/v1/messages/{id}/tags", s.tagMessage)
	mux.HandleFunc("GET /api/v1/messages/{id}/raw", s.rawMessage)
	mux.HandleFunc("GET /api/v1/messages/{id}/html", s.htmlBody)
	mux.HandleFunc("GET /api/v1/messages/{id}/parts/{part}", s.part)
	mux.HandleFunc("GET /api/v1/messages/{id}/cid/{cid}", s.cid)
	mux.HandleFunc("GET /api/v1/sessions", s.listSessions)
	mux.HandleFunc("GET /api/v1/sessions/{id}", s.getSession)
	mux.HandleFunc("GET /api/v1/stats", s.stats)
	mux.HandleFunc("GET /api/v1/events", s.eventStream)
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	data, _ := assets.ReadFile("openapi.json")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(data)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	info := s.deps.Info
	if info == nil {
		info = map[string]any{}
	}
	writeJSON(w, http.StatusOK, info)
}

// Summary is a message in a list: what the index holds.
type Summary struct {
	ID          string    `json:"id"`
	Session     string    `json:"session"`
	ReceivedAt  time.Time `json:"received_at"`
	ClientIP    string    `json:"client_ip"`
	ClientPort  int       `json:"client_port"`
	Helo        string    `json:"helo"`
	MailFrom    string    `json:"mail_from"`
	RcptTo      []string  `json:"rcpt_to"`
	From        []string  `json:"from"`
	To          []string  `json:"to"`
	Cc          []string  `json:"cc"`
	Subject     string    `json:"subject"`
	Date        *string   `json:"date"`
	MessageID   string    `json:"message_id"`
	Size        int64     `json:"size"`
	Attachments int       `json:"attachments"`
	Verdicts    []string  `json:"verdicts"`
	Findings    []string  `json:"findings"`
	Tags        []string  `json:"tags"`
	Read        bool      `json:"read"`
}

func orEmpty(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func summaryOf(m index.Message) Summary {
	var date *string
	if !m.Date.IsZero() {
		d := m.Date.Format(time.RFC3339)
		date = &d
	}
	return Summary{ID: m.ID, Session: m.Session, ReceivedAt: m.ReceivedAt.UTC(), ClientIP: m.ClientIP, ClientPort: m.ClientPort,
		Helo: m.Helo, MailFrom: m.MailFrom, RcptTo: orEmpty(m.RcptTo), From: orEmpty(m.From), To: orEmpty(m.To), Cc: orEmpty(m.Cc),
		Subject: m.Subject, Date: date, MessageID: m.MessageID, Size: m.Size, Attachments: m.Attachments,
		Verdicts: orEmpty(m.Verdicts), Findings: orEmpty(m.Findings), Tags: orEmpty(m.Tags), Read: m.Read}
}

// intParam reads a non-negative integer query parameter.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: want a non-negative integer, got %q", name, v)
	}
	return n, nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	q, err := index.ParseQuery(r.URL.Query().Get("q"))
	if err != nil {
		apiError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "index: "))
		return
	}
	limit, err := intParam(r, "limit", 50)
	if err == nil && limit == 0 {
		limit = 50
	}
	offset, err2 := intParam(r, "offset", 0)
	if err = errors.Join(err, err2); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	page, err := s.deps.Index.List(r.Context(), index.ListOptions{Query: q, Limit: limit, Offset: offset, Sort: r.URL.Query().Get("sort")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Total    int       `json:"total"`
		Unread   int       `json:"unread"`
		Messages []Summary `json:"messages"`
	}{page.Total, page.Unread, []Summary{}}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, summaryOf(m))
	}
	writeJSON(w, http.StatusOK, out)
}

// fail answers an unexpected error: 400 for a bad sort or query the
// index refused, 500 otherwise (logged).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var qe *index.QueryError
	if errors.As(err, &qe) || strings.Contains(err.Error(), "sort") {
		apiError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "index: "))
		return
	}
	s.deps.Logger.Error("web: request failed", "path", r.URL.Path, "err", err)
	apiError(w, http.StatusInternalServerError, "internal error")
}

// remove deletes messages: their files, then their index entries (which
// tells the event streams).
func (s *Server) remove(r *http.Request, ids []string) error {
	var errs []error
	for _, msgID := range ids {
		if s.deps.Store == nil {
			break
		}
		if err := s.deps.Store.Remove(msgID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.deps.Index.Delete(r.Context(), ids...); err != nil {
		errs = append(errs, err)
	}
	s.tellIndexer(ids)
	return errors.Join(errs...)
}

// tellIndexer queues the removal of ids behind whatever the indexer is
// doing: a batch that read one of these files before it was deleted
// would otherwise put its entry back after Index.Delete, a message
// listed without a file until the next reconcile.
func (s *Server) tellIndexer(ids []string) {
	if s.deps.Indexer != nil && len(ids) > 0 {
		s.deps.Indexer.Removed(ids...)
	}
}

func (s *Server) deleteMessages(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	var ids []string
	switch {
	case qs.Get("all") == "true":
		// Every file, indexed or not yet.
		var files []string
		if s.deps.Store != nil {
			var err error
			if files, err = s.deps.Store.List(); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		for _, msgID := range files {
			if err := s.deps.Store.Remove(msgID); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		gone, err := s.deps.Index.DeleteAll(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.tellIndexer(files)
		writeJSON(w, http.StatusOK, map[string]int{"deleted": max(len(files), len(gone))})
		return
	case qs.Has("q") && strings.TrimSpace(qs.Get("q")) != "":
		q, err := index.ParseQuery(qs.Get("q"))
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		if ids, err = s.deps.Index.MatchIDs(r.Context(), q); err != nil {
			s.fail(w, r, err)
			return
		}
	default:
		apiError(w, http.StatusBadRequest, "say which: ?q=QUERY, or ?all=true")
		return
	}
	if err := s.remove(r, ids); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"deleted": len(ids)})
}

func (s *Server) markMessages(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDs  []string `json:"ids"`
		Read bool     `json:"read"`
	}
	if err := readJSON(r, &body); err != nil {
		apiError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	for _, msgID := range body.IDs {
		if !id.Valid(msgID) {
			apiError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a message ID", msgID))
			return
		}
	}
	n, err := s.deps.Index.SetRead(r.Context(), body.Read, body.IDs...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Only the marks that changed: an unknown ID, or a message already
	// so, is not counted.
	writeJSON(w, http.StatusOK, map[string]int{"updated": n})
}

// lookup returns the index entry and the stored file of the {id} in the
// path, answering 404 itself when there is none.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (index.Message, *store.Envelope, []byte, []byte, bool) {
	msgID := r.PathValue("id")
	if !id.Valid(msgID) || s.deps.Store == nil {
		apiError(w, http.StatusNotFound, "no such message")
		return index.Message{}, nil, nil, nil, false
	}
	m, err := s.deps.Index.Get(r.Context(), msgID)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		s.fail(w, r, err)
		return m, nil, nil, nil, false
	}
	// ReadID, not Locate and then a read, which a compaction in between
	// would turn into a spurious 404.
	file, _, err := store.ReadID(s.deps.Store.Path(), msgID)
	var env *store.Envelope
	var body []byte
	if err == nil {
		env, body, err = store.Read(file)
	}
	if err != nil {
		// Not (or no longer) on disk: the file is the truth.
		apiError(w, http.StatusNotFound, "no such message")
		return m, nil, nil, nil, false
	}
	if m.ID == "" {
		// Stored but not indexed yet (the indexer runs after the 250).
		m, _ = index.FromData(file)
	}
	return m, env, body, file, true
}

// FindingDetail is one client-diagnosis finding in full.
type FindingDetail struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// Envelope is the SMTP envelope and client of a message.
type Envelope struct {
	MailFrom    string    `json:"mail_from"`
	RcptTo      []string  `json:"rcpt_to"`
	ClientIP    string    `json:"client_ip"`
	ClientPort  uint16    `json:"client_port"`
	Helo        string    `json:"helo"`
	ReceivedAt  time.Time `json:"received_at"`
	Session     string    `json:"session"`
	Annotations []string  `json:"annotations"`
}

// Header is one header field, decoded and as received.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Raw   string `json:"raw"`
}

// Part is one MIME leaf part.
type Part struct {
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Charset     string `json:"charset"`
	Filename    string `json:"filename"`
	Disposition string `json:"disposition"`
	ContentID   string `json:"content_id"`
	Size        int    `json:"size"`
	Attachment  bool   `json:"attachment"`
}

// Message is one message in full.
type Message struct {
	Summary
	Envelope       Envelope        `json:"envelope"`
	Headers        []Header        `json:"headers"`
	Text           string          `json:"text"`
	HTML           string          `json:"html"`
	Parts          []Part          `json:"parts"`
	Problems       []string        `json:"problems"`
	FindingDetails []FindingDetail `json:"finding_details"`
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	m, env, body, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	v := mimeview.Parse(body, s.mime)
	out := Message{Summary: summaryOf(m), Text: v.Text, HTML: v.HTML, Headers: []Header{}, Parts: []Part{},
		Problems: orEmpty(v.Problems), FindingDetails: []FindingDetail{},
		Envelope: Envelope{MailFrom: env.MailFrom, RcptTo: orEmpty(env.RcptTo), ClientIP: env.ClientIP.String(), ClientPort: env.ClientPort,
			Helo: env.Helo, ReceivedAt: env.ReceivedAt.UTC(), Session: env.Session, Annotations: orEmpty(env.Extra)}}
	if !env.ClientIP.IsValid() {
		out.Envelope.ClientIP = ""
	}
	for _, h := range v.Header {
		out.Headers = append(out.Headers, Header{Name: h.Name, Value: h.Value, Raw: h.Raw})
	}
	for _, p := range v.Parts {
		out.Parts = append(out.Parts, Part{ID: p.ID, ContentType: p.ContentType, Charset: p.Charset, Filename: p.Filename,
			Disposition: p.Disposition, ContentID: p.ContentID, Size: p.Size, Attachment: p.Attachment})
	}
	for _, x := range env.Extra {
		if v, ok := strings.CutPrefix(x, "X-FakeSMTP-Finding: "); ok {
			name, detail, _ := strings.Cut(v, " ")
			out.FindingDetails = append(out.FindingDetails, FindingDetail{Name: strings.TrimSuffix(name, ":"), Detail: strings.TrimSpace(detail)})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) {
	msgID := r.PathValue("id")
	if !id.Valid(msgID) {
		apiError(w, http.StatusNotFound, "no such message")
		return
	}
	if err := s.remove(r, []string{msgID}); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// indexedID returns the {id} of the path when the index has it, and
// otherwise answers itself: 404, or the index's failure.
func (s *Server) indexedID(w http.ResponseWriter, r *http.Request) (string, bool) {
	msgID := r.PathValue("id")
	if _, err := s.deps.Index.Get(r.Context(), msgID); errors.Is(err, index.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no such message")
		return "", false
	} else if err != nil {
		s.fail(w, r, err)
		return "", false
	}
	return msgID, true
}

func (s *Server) markMessage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Read bool `json:"read"`
	}
	if err := readJSON(r, &body); err != nil {
		apiError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	msgID, ok := s.indexedID(w, r)
	if !ok {
		return
	}
	if _, err := s.deps.Index.SetRead(r.Context(), body.Read, msgID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) tagMessage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if err := readJSON(r, &body); err != nil {
		apiError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	msgID, ok := s.indexedID(w, r)
	if !ok {
		return
	}
	if len(body.Add) > 0 {
		if err := s.deps.Index.AddTags(r.Context(), msgID, body.Add...); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if len(body.Remove) > 0 {
		if err := s.deps.Index.RemoveTags(r.Context(), msgID, body.Remove...); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	m, err := s.deps.Index.Get(r.Context(), msgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"tags": orEmpty(m.Tags)})
}

func (s *Server) rawMessage(w http.ResponseWriter, r *http.Request) {
	m, _, body, file, ok := s.lookup(w, r)
	if !ok {
		return
	}
	data := body
	if r.URL.Query().Get("headers") == "1" {
		data = file
	}
	w.Header().Set("Content-Type", "message/rfc822")
	if r.URL.Query().Get("download") == "1" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.ID + ".eml"}))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// htmlCSP is the policy of a message's HTML: no script, no plugin, no
// remote load (tracking pixels included), no form, no navigation of
// the UI; inline styles are how mail is styled. "sandbox" applies even
// when the URL is opened outside the UI's sandboxed iframe.
const (
	htmlCSP       = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
	htmlCSPImages = "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)

// cidRE finds cid: URLs (RFC 2392) in HTML attribute values and CSS.
var cidRE = regexp.MustCompile(`(?i)\bcid:([^"'\s)>]+)`)

func (s *Server) htmlBody(w http.ResponseWriter, r *http.Request) {
	m, _, body, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	v := mimeview.Parse(body, s.mime)
	html := v.HTML
	if html == "" {
		// No HTML part: show the text safely, so the iframe always has
		// something.
		html = "<pre style=\"white-space:pre-wrap\">" + escapeHTML(v.Text) + "</pre>"
	}
	prefix := "/api/v1/messages/" + m.ID + "/cid/"
	html = cidRE.ReplaceAllStringFunc(html, func(c string) string {
		return prefix + url.PathEscape(c[4:])
	})
	csp := htmlCSP
	if r.URL.Query().Get("images") == "1" {
		csp = htmlCSPImages
	}
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(html))
}

func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// servePart answers with a part's decoded bytes. Only types a browser
// shows without running anything are sent inline (inlineSafe); every
// other type is a download, under a sandbox policy as well. A list of
// dangerous types would miss some: browsers render text/xsl and text/rdf
// as XML documents, whose XHTML-namespace scripts would run in the UI's
// origin, with the API's full access.
func servePart(w http.ResponseWriter, r *http.Request, p mimeview.Part, data []byte) {
	ct := strings.ToLower(p.ContentType)
	if ct == "" {
		ct = "application/octet-stream"
	}
	download := r.URL.Query().Get("download") == "1"
	if !inlineSafe(ct) {
		download = true
	}
	if ct != "application/pdf" {
		// A PDF viewer refuses a sandboxed document; it runs outside
		// the page's origin anyway.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox")
	}
	if p.Charset != "" && strings.HasPrefix(ct, "text/") {
		ct += "; charset=" + p.Charset
	}
	w.Header().Set("Content-Type", ct)
	name := p.Filename
	if name == "" {
		name = "part-" + p.ID
	}
	disp := "inline"
	if download {
		disp = "attachment"
	}
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// inlineSafe reports whether a part of media type ct (lower case, no
// parameters) may be shown inline: plain text, raster images, audio,
// video and PDF.
func inlineSafe(ct string) bool {
	switch ct {
	case "text/plain", "application/pdf",
		"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp":
		return true
	}
	return strings.HasPrefix(ct, "audio/") || strings.HasPrefix(ct, "video/")
}

func (s *Server) part(w http.ResponseWriter, r *http.Request) {
	s.servePartBy(w, r, func(body []byte) (mimeview.Part, []byte, error) {
		return mimeview.PartContent(body, r.PathValue("part"), s.mime)
	})
}

func (s *Server) cid(w http.ResponseWriter, r *http.Request) {
	s.servePartBy(w, r, func(body []byte) (mimeview.Part, []byte, error) {
		return mimeview.ByContentID(body, r.PathValue("cid"), s.mime)
	})
}

// servePartBy answers with the part find picks in the message of the
// request's {id}.
func (s *Server) servePartBy(w http.ResponseWriter, r *http.Request, find func(body []byte) (mimeview.Part, []byte, error)) {
	_, _, body, _, ok := s.lookup(w, r)
	if !ok {
		return
	}
	p, data, err := find(body)
	if err != nil {
		apiError(w, http.StatusNotFound, "no such part")
		return
	}
	servePart(w, r, p, data)
}
