package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"fakesmtp/internal/config"
	"fakesmtp/internal/policy/traps"
)

// trapService is the running trap list: the recorder the sessions use,
// its pruning, and the built-in DNS list server.
type trapService struct {
	traps  *traps.Traps
	dns    *traps.DNSServer
	cancel context.CancelFunc
	grace  time.Duration
}

// trapsWanted reports whether any trap setting is in use.
func trapsWanted(c *config.Config) bool {
	return c.TrapMailboxes != "" || c.TrapUnknownDomains || c.TrapListFile != "" || c.DNSBLServe != ""
}

// startTraps builds the trap list and its DNS server, or returns nil when
// no trap setting is used.
func startTraps(ctx context.Context, c *config.Config, logger *slog.Logger) (*trapService, error) {
	if !trapsWanted(c) {
		return nil, nil
	}
	tcfg := trapsConfig(c)
	tr, err := traps.New(tcfg, time.Now, logger.With("part", "traps"))
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.Background())
	ts := &trapService{traps: tr, cancel: cancel, grace: c.ShutdownGrace}
	go tr.Run(pctx)
	logger.Info("traps on", "state", tcfg.StatePath, "mailboxes", tr.Mailboxes(), "unknown_domains", c.TrapUnknownDomains,
		"list_file", c.TrapListFile, "ttl", c.TrapTTL)
	if c.DNSBLServe == "" {
		return ts, nil
	}
	pc, err := net.ListenPacket("udp", c.DNSBLServe)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("dnsbl_serve %s: %v", c.DNSBLServe, listenHint(err))
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		cancel()
		return nil, fmt.Errorf("dnsbl_serve %s (tcp): %v", c.DNSBLServe, listenHint(err))
	}
	ts.dns = traps.NewDNSServer(tr, c.DNSBLZone, logger.With("part", "dnsbl"))
	ts.dns.NS = c.Hostname
	for _, serve := range []func() error{
		func() error { return ts.dns.Serve(pc) },
		func() error { return ts.dns.ServeTCP(ln) },
	} {
		go func() {
			if err := serve(); err != nil && !errors.Is(err, traps.ErrServerClosed) {
				logger.Error("DNS list server failed", "err", err)
			}
		}()
	}
	logger.Info("DNS list server", "listen", pc.LocalAddr().String(), "zone", c.DNSBLZone)
	return ts, nil
}

// list returns the recorder for the sessions; nil when traps are off.
func (ts *trapService) list() *traps.Traps {
	if ts == nil {
		return nil
	}
	return ts.traps
}

// stop shuts the DNS server and the pruning down.
func (ts *trapService) stop() {
	ts.cancel()
	if ts.dns != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ts.grace)
		defer cancel()
		ts.dns.Shutdown(ctx)
	}
}
