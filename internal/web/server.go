// Package web serves fakesmtp's HTTP side: the REST API over the message
// index (/api/v1, described by /api/v1/openapi.json), live updates as
// Server-Sent Events, the embedded web UI, Prometheus metrics and the
// health checks. The message files stay the source of truth: the API
// reads them for everything but lists and searches, so what it shows is
// what was received.
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"fakesmtp/internal/index"
	"fakesmtp/internal/mimeview"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/store"
)

//go:embed ui openapi.json
var assets embed.FS

// Live is the state of the SMTP side at one moment, for the dashboard.
type Live struct {
	Sessions  int `json:"sessions"`
	Tarpitted int `json:"tarpitted"`
}

// Deps are the parts the HTTP side shows.
type Deps struct {
	Index   *index.Index
	Indexer *index.Indexer
	Store   *store.Store
	// Live reports the SMTP server's current sessions; nil = zeros.
	Live func() Live
	// Ready reports whether the service is ready (listeners up, index
	// caught up); nil = always.
	Ready func() bool
	// Metrics serves /metrics; nil = 404.
	Metrics http.Handler
	// Info is what GET /api/v1/info tells about this instance (version,
	// mode, SMTP addresses): the UI's empty inbox says where to send.
	Info map[string]any
	// Users, when set, guards everything but the health checks with
	// HTTP basic auth (an htpasswd bcrypt file).
	Users sasl.Verifier
	// AllowedHosts are the names, besides IP addresses and localhost,
	// that requests may give in Host ("*" = any): see hostCheck.
	AllowedHosts []string
	Logger       *slog.Logger
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// Server is the HTTP side. Create it with New, then Serve a listener.
type Server struct {
	deps    Deps
	mime    mimeview.Options
	handler http.Handler
	events  *index.Broker[event]
	http    *http.Server
}

// New builds the handler tree.
func New(deps Deps) *Server {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Live == nil {
		deps.Live = func() Live { return Live{} }
	}
	s := &Server{deps: deps, events: index.NewBroker[event](eventBuffer)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	if deps.Metrics != nil {
		mux.Handle("GET /metrics", deps.Metrics)
	}
	if deps.Index != nil {
		s.routes(mux)
	} else {
		// One pattern per method: a method-less "/api/" would conflict
		// with the UI's "GET /" (each more specific in one way), and
		// ServeMux refuses that with a panic.
		off := func(w http.ResponseWriter, r *http.Request) {
			apiError(w, http.StatusServiceUnavailable, "the message index is off (index = false)")
		}
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			mux.HandleFunc(m+" /api/", off)
		}
	}
	ui, _ := fs.Sub(assets, "ui")
	mux.Handle("GET /", uiHandler(http.FileServerFS(ui)))

	// Writes from another origin are refused (the API has no CSRF token;
	// a page on any site could otherwise POST to 127.0.0.1:8025). Go's
	// CrossOriginProtection checks Sec-Fetch-Site and Origin.
	cop := http.NewCrossOriginProtection()
	var h http.Handler = cop.Handler(mux)
	if deps.Users != nil {
		h = basicAuth(deps.Users, h)
	}
	s.handler = securityHeaders(hostCheck(deps.AllowedHosts, h))
	// Made here, not in Serve, so that Shutdown may run at any time.
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	if deps.Logger != nil {
		s.http.ErrorLog = slog.NewLogLogger(deps.Logger.Handler(), slog.LevelWarn)
	}
	return s
}

// Handler returns the whole HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers HTTP on ln (HTTPS when tlsConfig is set) until Shutdown.
func (s *Server) Serve(ln net.Listener, tlsConfig *tls.Config) error {
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown ends the event streams and stops the server.
func (s *Server) Shutdown(ctx context.Context) error {
	s.events.Close()
	return s.http.Shutdown(ctx)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil && !s.deps.Ready() {
		http.Error(w, "not ready\n", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// uiCSP is the policy of the UI's own pages: nothing but its own files,
// and frames only from itself (the sandboxed message view).
const uiCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-src 'self'; script-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiHandler serves the embedded UI with its policy.
func uiHandler(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", uiCSP)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// securityHeaders sets what every response carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// basicAuth asks for credentials on everything but the health checks
// (which orchestrators call without any).
func basicAuth(users sasl.Verifier, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			h.ServeHTTP(w, r)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || !users.Verify(user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="fakesmtp", charset="UTF-8"`)
			http.Error(w, "authentication required\n", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// apiError answers with {"error": msg}.
func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// readJSON decodes a small request body into v.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// clean trims a path value.
func clean(s string) string { return strings.TrimSpace(s) }
