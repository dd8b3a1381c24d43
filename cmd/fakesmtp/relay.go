package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"fakesmtp/internal/config"
	"fakesmtp/internal/relay"
)

// relayConfig turns the relay keys into the queue's settings; it reads
// the password file.
func relayConfig(cfg *config.Config) (relay.Config, error) {
	rc := relay.Config{
		Dir: cfg.QueuePath(), Host: cfg.RelayHost, Port: cfg.RelayPort, TLS: cfg.RelayTLS,
		CAFile: cfg.RelayTLSCAFile, Insecure: cfg.RelayTLSInsecure,
		User: cfg.RelayAuthUser, Password: cfg.RelayAuthPassword,
		Match: cfg.RelayMatch, Sender: cfg.RelaySender,
		Schedule: cfg.RetrySchedule(), MaxAge: cfg.RelayMaxAge,
		Workers: cfg.RelayWorkers, Timeout: cfg.RelayTimeout, Hostname: cfg.Hostname,
	}
	if cfg.RelayAuthPasswordFile != "" {
		f, err := os.Open(cfg.RelayAuthPasswordFile)
		if err != nil {
			return rc, fmt.Errorf("relay_auth_password_file: %w", err)
		}
		defer f.Close()
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil && line == "" {
			return rc, fmt.Errorf("relay_auth_password_file %s: empty", cfg.RelayAuthPasswordFile)
		}
		rc.Password = strings.TrimRight(line, "\r\n")
	}
	return rc, nil
}

// startRelay opens the relay queue and starts its workers; stop ends
// them (deliveries in flight stay queued) and waits.
func startRelay(ctx context.Context, cfg *config.Config, logger *slog.Logger) (q *relay.Queue, stop func(), err error) {
	rc, err := relayConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	q, err = relay.New(rc, logger)
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { q.Run(rctx); close(done) }()
	logger.Info("relay", "smarthost", fmt.Sprintf("%s:%d", rc.Host, rc.Port), "tls", rc.TLS, "queue", rc.Dir,
		"match", strings.Join(rc.Match, ","), "workers", rc.Workers)
	return q, func() { cancel(); <-done }, nil
}
