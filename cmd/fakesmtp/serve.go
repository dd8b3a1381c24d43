package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"fakesmtp/internal/certs"
	"fakesmtp/internal/config"
	"fakesmtp/internal/hooks"
	"fakesmtp/internal/id"
	"fakesmtp/internal/logfile"
	"fakesmtp/internal/outputs"
	"fakesmtp/internal/policy"
	"fakesmtp/internal/policy/dnsbl"
	"fakesmtp/internal/policy/greylist"
	"fakesmtp/internal/policy/ratelimit"
	"fakesmtp/internal/sasl"
	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/store"
)

// serve runs the receiver until SIGINT or SIGTERM.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code := settings("serve", args, stderr)
	if cfg == nil {
		return code
	}
	if ps := config.CheckFiles(cfg); len(ps) > 0 {
		printProblems(stderr, ps)
		return 2
	}

	appLog, sessLog, closeLogs, err := openLogs(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	defer closeLogs()

	rcpts, err := policy.NewRecipients(cfg.LocalDomains, cfg.LocalMailboxes)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	var st *store.Store
	if cfg.StoreData {
		st, err = store.New(store.Config{Path: cfg.StorePath, Fsync: cfg.Fsync}, appLog)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
			return 1
		}
	}
	hs, err := newHTTPSide(cfg, st, appLog)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	// Deferred first, so it runs last: after the SMTP sessions and the
	// outputs have finished, everything they recorded is indexed.
	defer hs.stop()
	lists, err := newDNSLists(cfg, appLog, hs.metrics.ObserveDNS)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	if lists.Enabled() {
		// RFC 5782 section 7: check the lists before using them, then
		// every 30 minutes.
		sctx, cancel := context.WithTimeout(ctx, 2*cfg.DNSTimeout)
		lists.SelfCheck(sctx)
		cancel()
		lctx, stopLists := context.WithCancel(ctx)
		defer stopLists()
		go lists.Run(lctx)
	}
	ret := store.Retention{MaxSize: cfg.MaxStoreSize, MaxAge: cfg.MaxStoreAge, MaxMessages: cfg.MaxStoreMessages}
	comp := store.Compaction{Compress: cfg.Compress == "zstd", Dedup: cfg.Dedup, MinAge: cfg.CompactAfter}
	if st != nil && (ret.Enabled() || comp.Enabled()) {
		pctx, stopPrune := context.WithCancel(ctx)
		defer stopPrune()
		go pruneLoop(pctx, st, ret, comp, appLog, hs.pruned)
	}
	var grey *greylist.List
	if cfg.Greylist {
		path := cfg.GreylistState
		if path == "" {
			path = filepath.Join(cfg.StorePath, "greylist.db")
		}
		grey, err = greylist.New(greylist.Config{Delay: cfg.GreylistDelay, Expire: cfg.GreylistExpire,
			PassTTL: cfg.GreylistPassTTL, Path: path}, nil, appLog)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
			return 1
		}
		defer grey.Close()
		appLog.Info("greylisting on", "state", path, "delay", cfg.GreylistDelay)
	}
	tr, err := startTraps(ctx, cfg, appLog)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	if tr != nil {
		defer tr.stop()
	}
	certSrc, err := loadCertificate(cfg, appLog)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	rules := sessionRules(cfg)
	switch cfg.Auth {
	case "any":
		rules.Auth = sasl.AnyVerifier{}
	case "users":
		users, err := sasl.LoadUsers(cfg.AuthUsersFile)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
			return 1
		}
		rules.Auth = users
	}
	if certSrc != nil {
		rules.TLS = certSrc.Config()
		rules.StartTLS = cfg.STARTTLS
	}
	var outs smtpd.Outputs
	if cfg.Has("pickup") || cfg.Has("maildir") || cfg.Has("relay") {
		ocfg := outputs.Config{KeepEML: cfg.Has("eml"), Hostname: cfg.Hostname, MaildirPerRecipient: cfg.MaildirPerRecipient,
			Logger: appLog.With("part", "outputs")}
		if cfg.Has("relay") {
			q, stop, err := startRelay(ctx, cfg, appLog.With("part", "relay"))
			if err != nil {
				fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
				return 1
			}
			// Deferred: it runs after the sessions have finished, so every
			// message they spooled is in the folder for the next start.
			defer stop()
			ocfg.Relay = q
		}
		if cfg.Has("pickup") {
			ocfg.PickupPath = cfg.PickupPath
		}
		if cfg.Has("maildir") {
			ocfg.MaildirPath = cfg.MaildirPath
		}
		set, err := outputs.New(ocfg, nil)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
			return 1
		}
		outs = set
		appLog.Info("outputs", "list", strings.Join(cfg.Outputs, ","), "pickup", ocfg.PickupPath, "maildir", ocfg.MaildirPath)
	}
	hk, err := hooks.New(hooks.Config{Exec: cfg.OnMessageExec, ExecStdin: cfg.OnMessageExecStdin, Webhook: cfg.OnMessageWebhook,
		Concurrency: cfg.HookConcurrency, Timeout: cfg.HookTimeout, Attempts: cfg.HookAttempts,
		Dir: filepath.Join(cfg.StorePath, ".hooks")}, appLog.With("part", "hooks"))
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	var hooksDep smtpd.Hooks
	if hk != nil {
		hk.Start()
		hooksDep = hk
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
			defer cancel()
			hk.Close(ctx)
		}()
	}
	deps := smtpd.Deps{
		Store:      st,
		Recipients: rcpts,
		DNSBL:      lists,
		Limits:     perClientLimits(cfg),
		Greylist:   grey,
		Traps:      tr.list(),
		Outputs:    outs,
		Hooks:      hooksDep,
		IDs:        id.NewGenerator(nil),
		Logger:     appLog,
		SessionLog: sessLog,
	}
	hs.hook(&deps)
	srv, err := smtpd.New(rules, deps)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}

	// Open every listener before serving any, so that a port in use is
	// reported at start and nothing half-starts.
	lns, err := listenAll(cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}
	tlsLns, err := listenAll(cfg.TLSListen)
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}

	var httpTLS *tls.Config
	if certSrc != nil {
		httpTLS = certSrc.Config()
	}
	var serving atomic.Bool
	if err := hs.start(ctx, srv, httpTLS, serving.Load); err != nil {
		for _, l := range append(lns, tlsLns...) {
			l.Close()
		}
		fmt.Fprintf(stderr, "fakesmtp: %v\n", err)
		return 1
	}

	where := "not stored (store_data = false)"
	if st != nil {
		where = st.Path()
	}
	var addrs []string
	for _, ln := range lns {
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range tlsLns {
		addrs = append(addrs, ln.Addr().String()+" (TLS)")
	}
	appLog.Info("started", "version", versionString(), "mode", cfg.Mode, "listen", strings.Join(addrs, ","),
		"store", where, "hostname", cfg.Hostname, "log_path", cfg.LogPath)
	if d, m := rcpts.Counts(); d+m > 0 {
		appLog.Info("recipient lists loaded", "domains", d, "mailboxes", m)
	}

	// Signals are handled here and nowhere else.
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(stop)
	defer signal.Stop(hup)
	sdNotify("READY=1")
	if hs.url != "" {
		fmt.Fprintf(stdout, "fakesmtp: web UI and API on %s\n", hs.url)
	}
	// The readiness line comes only now: whoever waits for it may signal at once.
	fmt.Fprintf(stdout, "fakesmtp: %s mode, listening on %s, mail stored in %s\n", cfg.Mode, strings.Join(addrs, ", "), where)

	serveErr := make(chan error, len(lns)+len(tlsLns))
	for _, ln := range lns {
		go func() { serveErr <- srv.Serve(ln) }()
	}
	for _, ln := range tlsLns {
		go func() { serveErr <- srv.ServeTLS(ln) }()
	}
	serving.Store(true)

	summary := time.NewTicker(summaryInterval)
	defer summary.Stop()
	code = 0
loop:
	for {
		select {
		case <-summary.C:
			appLog.Info("summary", srv.Counters().Snapshot()...)
		case <-hup:
			if certSrc != nil {
				if err := certSrc.Reload(); err != nil {
					appLog.Error("reload of the TLS certificate failed; keeping the old one", "err", err)
				} else {
					appLog.Info("TLS certificate reloaded", "sha256", certSrc.Fingerprint())
				}
			}
			if tr != nil {
				if err := tr.traps.Reload(); err != nil {
					appLog.Error("reload of trap_mailboxes failed; keeping the old list", "err", err)
				}
			}
			if err := rcpts.Reload(); err != nil {
				appLog.Error("reload of recipient lists failed; keeping the old ones", "err", err)
				continue
			}
			d, m := rcpts.Counts()
			appLog.Info("recipient lists reloaded", "domains", d, "mailboxes", m)
		case sig := <-stop:
			appLog.Info("shutting down", "signal", sig.String(), "grace", cfg.ShutdownGrace)
			break loop
		case err := <-serveErr:
			if !errors.Is(err, smtpd.ErrServerClosed) {
				appLog.Error("listener failed", "err", err)
				code = 1
				break loop
			}
		case <-ctx.Done():
			break loop
		}
	}
	sdNotify("STOPPING=1")
	gctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(gctx); err != nil {
		appLog.Warn("grace period over; remaining sessions were closed with 421", "grace", cfg.ShutdownGrace)
	}
	appLog.Info("summary", srv.Counters().Snapshot()...)
	appLog.Info("stopped")
	return code
}

// summaryInterval is how often the counters of every verdict are logged.
const summaryInterval = 10 * time.Minute

// settleTime is how long a new message file stays plain at least (see
// pruneLoop): far more than a commit-to-250 takes.
const settleTime = 5 * time.Second

// pruneInterval is how often the retention limits are applied.
const pruneInterval = time.Minute

// keepPlain reports whether compaction must leave the plain file of
// msgID in the store folder dir alone at now. A message whose hook is
// still pending keeps it: the hook's command gets that path. So does one
// written in the last settleTime by this process (started: what an
// earlier run wrote is not in flight), whatever compact_after says:
// between its commit and its 250 the outputs read the plain file and the
// hook's marker is written. The file's time is its last write, just
// before the commit; its ID was made when DATA began, maybe long before.
func keepPlain(dir, msgID string, started, now time.Time) bool {
	if fi, err := os.Stat(filepath.Join(dir, msgID+store.Ext)); err == nil &&
		fi.ModTime().After(started) && now.Sub(fi.ModTime()) < settleTime {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, ".hooks", msgID))
	return err == nil
}

// pruneLoop applies the storage economy (compaction) and the retention
// limits at start and every minute, in the background.
func pruneLoop(ctx context.Context, st *store.Store, r store.Retention, c store.Compaction, logger *slog.Logger, pruned func([]string)) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	started := time.Now()
	keep := func(msgID string) bool { return keepPlain(st.Path(), msgID, started, time.Now()) }
	for {
		if c.Enabled() {
			res, err := st.Compact(c, time.Now(), keep, ctx.Done())
			switch {
			case err != nil:
				logger.Error("compacting the store failed", "err", err)
			case res.Files > 0:
				logger.Info("store compacted", "files", res.Files, "shared_bodies", res.Shared, "bytes_before", res.BytesBefore, "bytes_after", res.BytesAfter)
			}
		}
		if r.Enabled() {
			res, err := st.Prune(r, time.Now())
			switch {
			case err != nil:
				logger.Error("pruning the store failed", "err", err)
			case res.Removed > 0:
				logger.Info("store pruned", "removed", res.Removed, "removed_bytes", res.RemovedBytes, "left", res.Left, "left_bytes", res.LeftBytes)
				pruned(res.RemovedIDs)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sessionRules hands the session its part of the settings.
func sessionRules(c *config.Config) smtpd.Config {
	return smtpd.Config{
		Hostname:          c.Hostname,
		ReceiveTimeout:    c.ReceiveTimeout,
		MaxErrors:         c.MaxSMTPErrors,
		MaxNoop:           c.MaxSMTPNoop,
		MaxVrfy:           c.MaxSMTPVrfy,
		MaxRcpt:           c.MaxSMTPRcpt,
		MaxMessages:       c.MaxMessages,
		MaxSessions:       c.MaxSessions,
		StoreData:         c.StoreData,
		MaxDataSize:       c.MaxDataSize,
		Verbose:           c.VerboseLogging,
		BannerDelay:       c.BannerDelay,
		ErrorDelay:        c.ErrorDelay,
		ErrorDelayMax:     c.ErrorDelayMax,
		DoTempFail:        c.DoTempFail,
		DoEarlyTalk:       c.DoEarlyTalk,
		StrictLineEndings: c.StrictLineEndings,
		DNSBLReject554:    c.DNSBLReply == "554",
		ProxyProtocol:     c.ProxyProtocol,
		ProxyTrusted:      prefixes(c.ProxyTrusted),
		EarlyTalkEnforce:  c.EarlyTalkAction == "enforce",
		BannerTeaser:      c.BannerTeaser,
		Stutter:           c.Tarpit == "stutter",
		StutterInterval:   c.StutterInterval,
		MaxTarpitted:      c.MaxTarpitted,
		TarpitMaxTime:     c.TarpitMaxTime,
		TLSRequired:       c.TLSRequired,
		AuthRequired:      c.AuthRequired,
		AuthAllowInsecure: c.AuthAllowInsecure,
		Chunking:          c.Chunking,
		RejectEHLO:        c.EHLO == "reject",
		FindingHeaders:    c.Mode == config.ModeDev,
		Transcript:        c.Transcript,
	}
}

// loadCertificate returns the TLS certificate: from tls_cert/tls_key, or
// self-signed in dev mode (its fingerprint logged, so a test client can
// pin it), or nil when TLS is not offered.
func loadCertificate(c *config.Config, logger *slog.Logger) (*certs.Source, error) {
	switch {
	case c.TLSCert != "":
		src, err := certs.Load(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, err
		}
		logger.Info("TLS certificate", "file", c.TLSCert, "sha256", src.Fingerprint(), "starttls", c.STARTTLS)
		return src, nil
	case c.Mode == config.ModeDev && (c.STARTTLS || len(c.TLSListen) > 0):
		src, err := certs.SelfSigned(c.Hostname, time.Now())
		if err != nil {
			return nil, err
		}
		logger.Info("TLS with a self-signed certificate (dev mode)", "host", c.Hostname, "sha256", src.Fingerprint(), "starttls", c.STARTTLS)
		return src, nil
	}
	return nil, nil
}

// prefixes parses networks, a bare address being its own /32 or /128;
// config validation has already refused anything else.
func prefixes(ss []string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		if p, err := netip.ParsePrefix(s); err == nil {
			ps = append(ps, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return ps
}

// perClientLimits returns the per-client counters, or nil when neither
// per-client limit is set.
func perClientLimits(c *config.Config) *ratelimit.Limits {
	if c.MaxSessionsPerIP == 0 && c.MaxConnectionsPerMinutePerIP == 0 {
		return nil
	}
	return ratelimit.New(c.MaxSessionsPerIP, c.MaxConnectionsPerMinutePerIP, nil)
}

// newDNSLists builds the DNS list checker from rbl_providers and
// rwl_providers; with neither it checks nothing.
func newDNSLists(c *config.Config, logger *slog.Logger, observe func(string, time.Duration, error)) (*dnsbl.Checker, error) {
	lcfg := dnsbl.Config{
		Blocklists:     c.RBLProviders,
		Allowlists:     c.RWLProviders,
		Threshold:      c.DNSBLThreshold,
		AllowThreshold: c.DNSWLThreshold,
		Timeout:        c.DNSTimeout,
		CheckPrivate:   c.DNSCheckPrivate,
		Observe:        observe,
	}
	if len(c.RBLProviders)+len(c.RWLProviders) == 0 {
		return dnsbl.New(lcfg, nil, logger, nil)
	}
	res, err := dnsbl.NewResolver(c.DNSResolver, c.DNSTimeout)
	if err != nil {
		return nil, err
	}
	logger.Info("DNS lists", "resolver", res.Server(), "blocklists", strings.Join(c.RBLProviders, " "), "allowlists", strings.Join(c.RWLProviders, " "))
	return dnsbl.New(lcfg, res, logger, nil)
}

// openLogs builds the application and session loggers: both on stderr
// when log_path is empty, else the monthly files fakesmtp-MM.log and
// sessions-MM.log (the original's rotation).
func openLogs(c *config.Config, stderr io.Writer) (app, sess *slog.Logger, closeFn func(), err error) {
	if c.LogPath == "" {
		w := logfile.NewLocked(stderr)
		app = slog.New(slog.NewTextHandler(w, nil)).With("log", "app")
		sess = slog.New(slog.NewTextHandler(w, nil)).With("log", "session")
		return app, sess, func() {}, nil
	}
	aw, err := logfile.New(c.LogPath, "fakesmtp", nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("log_path %s: %w", c.LogPath, err)
	}
	sw, err := logfile.New(c.LogPath, "sessions", nil)
	if err != nil {
		aw.Close()
		return nil, nil, nil, fmt.Errorf("log_path %s: %w", c.LogPath, err)
	}
	app = slog.New(slog.NewTextHandler(aw, nil))
	sess = slog.New(slog.NewTextHandler(sw, nil))
	return app, sess, func() { aw.Close(); sw.Close() }, nil
}

// listenAll opens a listener on every address, or none: on an error the
// ones already open are closed.
func listenAll(addrs []string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("cannot listen on %s: %v", addr, listenHint(err))
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// listenHint adds what to do about the usual listen errors.
func listenHint(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return msg + " (another program uses this port; stop it or choose another with --listen)"
	case errors.Is(err, syscall.EACCES):
		return msg + " (ports below 1024 need root or CAP_NET_BIND_SERVICE; try --listen 127.0.0.1:2525)"
	}
	return msg
}
