package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"fakesmtp/internal/config"
	"fakesmtp/internal/index"
	"fakesmtp/internal/metrics"
	"fakesmtp/internal/relay"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/store"
	"fakesmtp/internal/web"
)

// httpSide is what serve adds beside SMTP: the message index and its
// indexer, the web UI and REST API, and the metrics. The SMTP sessions
// only hand it message IDs and session records, without waiting.
type httpSide struct {
	cfg     *config.Config
	logger  *slog.Logger
	st      *store.Store   // nil when store_data = false
	ix      *index.Index   // nil when index = false
	indexer *index.Indexer // nil without a store
	metrics *metrics.Metrics
	web     *web.Server

	srv      atomic.Pointer[smtpd.Server]
	caughtUp atomic.Bool // the first reconcile of the store is done
	sessions chan smtpd.SessionRecord
	dropped  atomic.Int64

	url    string // of the web UI, once listening
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// indexerShare is the most of one CPU the indexer takes during a flood
// (index.Indexer.Share): messages arriving faster than it indexes them.
// On the 2-core bench machine 0.25 cost a fifth of the intake rate of
// dev mode (bench/README.md); 0.05 costs a few percent, and the index
// catches up at full speed when the flood ends.
const indexerShare = 0.05

// sessionBacklog is how many ended sessions may wait for the index
// before records are dropped (and counted) rather than slow the SMTP
// side.
const sessionBacklog = 4096

// newHTTPSide opens the index (when on) and makes the metrics.
func newHTTPSide(cfg *config.Config, st *store.Store, logger *slog.Logger) (*httpSide, error) {
	h := &httpSide{cfg: cfg, st: st, logger: logger, sessions: make(chan smtpd.SessionRecord, sessionBacklog)}
	if cfg.Index {
		if err := os.MkdirAll(cfg.StorePath, 0o755); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		ix, err := index.Open(context.Background(), cfg.IndexFile(), logger.With("part", "index"))
		if err != nil {
			return nil, err
		}
		h.ix = ix
		if st != nil {
			h.indexer = index.NewIndexer(ix, st.Path(), logger.With("part", "indexer"))
			// Intake first: under a flood the index lags and catches up.
			h.indexer.Share = indexerShare
		}
	}
	if h.indexer == nil {
		h.caughtUp.Store(true)
	}
	h.metrics = metrics.New(metrics.Sources{
		Counters:  func() *smtpd.Counters { return h.server().Counters() },
		Active:    func() int { return h.server().ActiveSessions() },
		Tarpitted: func() int { return h.server().Tarpitting() },
		Indexed: func() int {
			if h.ix == nil {
				return 0
			}
			p, err := h.ix.List(context.Background(), index.ListOptions{Limit: -1})
			if err != nil {
				return 0
			}
			return p.Total
		},
		Queue: queueSize(cfg),
	})
	return h, nil
}

// server returns the SMTP server; metrics and the dashboard read it only
// after start set it.
func (h *httpSide) server() *smtpd.Server { return h.srv.Load() }

// queueSize reports the relay queue for the metrics, when relaying.
func queueSize(cfg *config.Config) func() (int, int) {
	if !cfg.Has("relay") {
		return nil
	}
	return func() (queued, failed int) {
		es, _ := relay.List(cfg.QueuePath())
		for _, e := range es {
			if e.Failed {
				failed++
			} else {
				queued++
			}
		}
		return queued, failed
	}
}

// hook sets the SMTP server's hooks that feed the index and metrics.
func (h *httpSide) hook(d *smtpd.Deps) {
	d.ObserveCommit = h.metrics.ObserveCommit
	if h.indexer != nil {
		d.OnStored = h.indexer.Enqueue
	}
	if h.ix != nil {
		d.OnSessionEnd = func(r smtpd.SessionRecord) {
			select {
			case h.sessions <- r:
			default:
				h.dropped.Add(1)
			}
		}
	}
}

// pruned tells the index which files retention removed.
func (h *httpSide) pruned(ids []string) {
	if h.indexer != nil && len(ids) > 0 {
		h.indexer.Removed(ids...)
	}
}

// start runs the indexer, the session recorder and the HTTP listener.
// A listen error is returned: the address was asked for and is taken.
func (h *httpSide) start(ctx context.Context, srv *smtpd.Server, tlsConfig *tls.Config, listenersUp func() bool) error {
	h.srv.Store(srv)
	ctx, h.cancel = context.WithCancel(ctx)
	if h.indexer != nil {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			// Catch up with what arrived while no indexer ran (a crash,
			// an old index), then follow the sessions.
			added, removed, err := h.indexer.Reconcile(ctx, false)
			if err != nil && ctx.Err() == nil {
				h.logger.Error("index catch-up failed; the indexer retries", "err", err)
			} else if added+removed > 0 {
				h.logger.Info("index caught up with the store", "added", added, "removed", removed)
			}
			h.caughtUp.Store(true)
			h.indexer.Run(ctx)
		}()
	}
	if h.ix != nil {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.recordSessions(ctx)
		}()
	}
	if h.cfg.HTTPListen == "" {
		return nil
	}
	var users sasl.Verifier
	if h.cfg.HTTPAuthFile != "" {
		u, err := sasl.LoadUsers(h.cfg.HTTPAuthFile)
		if err != nil {
			return fmt.Errorf("http_auth_file: %w", err)
		}
		users = u
	}
	// The names a browser may use besides addresses and localhost: the
	// configured ones, the announced host name and the machine's.
	allowed := append([]string{h.cfg.Hostname}, h.cfg.HTTPAllowedHosts...)
	if name, err := os.Hostname(); err == nil {
		allowed = append(allowed, name)
	}
	h.web = web.New(web.Deps{
		Index: h.ix, Indexer: h.indexer, Store: h.st, Metrics: h.metrics.Handler(), Users: users, Logger: h.logger.With("part", "web"),
		AllowedHosts: allowed,
		Info: map[string]any{"version": versionString(), "mode": string(h.cfg.Mode), "hostname": h.cfg.Hostname,
			"smtp_listen": h.cfg.Listen, "smtps_listen": h.cfg.TLSListen, "store_data": h.cfg.StoreData},
		Live:  func() web.Live { return web.Live{Sessions: srv.ActiveSessions(), Tarpitted: srv.Tarpitting()} },
		Ready: func() bool { return listenersUp() && h.caughtUp.Load() },
	})
	ln, err := net.Listen("tcp", h.cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (http_listen): %w", h.cfg.HTTPListen, err)
	}
	if h.cfg.HTTPTLS && tlsConfig == nil {
		ln.Close()
		return errors.New("http_tls: no certificate (set tls_cert and tls_key)")
	}
	if !h.cfg.HTTPTLS {
		tlsConfig = nil
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := h.web.Serve(ln, tlsConfig); err != nil {
			h.logger.Error("http server failed", "err", err)
		}
	}()
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	h.url = scheme + "://" + ln.Addr().String() + "/"
	h.logger.Info("web UI and API", "url", h.url, "index", h.cfg.IndexFile())
	return nil
}

// recordSessions writes ended sessions to the index, those that ended
// together in one transaction, and tells the web UI's event streams.
func (h *httpSide) recordSessions(ctx context.Context) {
	stopping := false
	for {
		var batch []smtpd.SessionRecord
		if !stopping {
			select {
			case <-ctx.Done():
				// Sessions that ended during shutdown still go in.
				stopping, ctx = true, context.Background()
			case r := <-h.sessions:
				batch = append(batch, r)
			}
		}
	drain:
		for len(batch) < sessionBatch {
			select {
			case r := <-h.sessions:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			if stopping {
				return // nothing is left
			}
			continue
		}
		h.recordBatch(ctx, batch)
	}
}

// sessionBatch is the most sessions written in one transaction.
const sessionBatch = 256

func (h *httpSide) recordBatch(ctx context.Context, batch []smtpd.SessionRecord) {
	ss := make([]index.Session, 0, len(batch))
	for _, r := range batch {
		ss = append(ss, indexSession(r))
	}
	if err := h.ix.AddSessions(ctx, ss); err != nil {
		h.logger.Error("sessions not indexed", "sessions", len(ss), "err", err)
		return
	}
	if h.web != nil {
		for _, s := range ss {
			h.web.SessionEnded(s)
		}
	}
}

// indexSession turns a session record into the index's form.
func indexSession(r smtpd.SessionRecord) index.Session {
	s := index.Session{ID: r.ID, Start: r.Start, End: r.End, ClientIP: r.Client.Addr().String(), ClientPort: int(r.Client.Port()),
		Helo: r.Helo, TLS: r.TLS != "", AuthUser: r.AuthUser, Accepted: r.Accepted, Refused: r.Refused, Errors: r.Errors,
		EarlyTalk: r.EarlyTalk, Tarpitted: r.Tarpit > 0, TrapHit: r.Trapped, Reason: r.Reason,
		DNSLists: r.ListHits, Findings: r.Findings, MessageIDs: r.MessageIDs, Transcript: r.Transcript}
	if !r.Client.Addr().IsValid() {
		s.ClientIP = ""
	}
	if r.Listed {
		s.Verdicts = append(s.Verdicts, "listed")
	}
	if r.Greylisted > 0 {
		s.Verdicts = append(s.Verdicts, "greylisted")
	}
	if r.TLS != "" {
		s.Verdicts = append(s.Verdicts, "tls")
	}
	return s
}

// stop ends the HTTP side after the SMTP sessions have: the event
// streams and listener, the indexer, then the index.
func (h *httpSide) stop() {
	if h.web != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		h.web.Shutdown(ctx)
		cancel()
	}
	if h.cancel != nil {
		h.cancel()
	}
	h.wg.Wait()
	if n := h.dropped.Load(); n > 0 {
		h.logger.Warn("session records dropped: the index could not keep up", "dropped", n)
	}
	if h.ix != nil {
		h.ix.Close()
	}
}
