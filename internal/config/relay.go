package config

import (
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Relay is the part of Config for the relay output: accepted mail is
// spooled in a durable queue and sent on to a smarthost by background
// workers, so no SMTP session ever waits on the upstream.
type Relay struct {
	// RelayHost and RelayPort name the smarthost (keys relay_host,
	// relay_port).
	RelayHost string
	RelayPort int
	// RelayTLS is "none", "starttls" (opportunistic, unverified, like
	// Postfix's "may"), "starttls-required" (verified) or "implicit"
	// (SMTPS, verified) (key relay_tls).
	RelayTLS string
	// RelayTLSCAFile holds PEM roots that verify the smarthost instead of
	// the system's (key relay_tls_ca_file).
	RelayTLSCAFile string
	// RelayTLSInsecure skips certificate verification (key
	// relay_tls_insecure); for labs with self-signed upstreams.
	RelayTLSInsecure bool
	// RelayAuthUser, RelayAuthPassword and RelayAuthPasswordFile are the
	// smarthost's credentials (keys relay_auth_user, relay_auth_password,
	// relay_auth_password_file); the file wins and keeps the secret out of
	// the configuration.
	RelayAuthUser         string
	RelayAuthPassword     string
	RelayAuthPasswordFile string
	// RelayMatch says which recipients are relayed (key relay_match):
	// "example.org" (that domain), ".example.org" (its subdomains),
	// "user@example.org" (one address). Empty relays every recipient.
	RelayMatch []string
	// RelaySender replaces the envelope sender when set (key
	// relay_sender); "<>" is the null sender.
	RelaySender string
	// RelayQueuePath is the queue folder (key relay_queue_path); "" is
	// <store_path>/queue.
	RelayQueuePath string
	// RelayRetrySchedule are the waits after each failed attempt (key
	// relay_retry_schedule); the last one repeats.
	RelayRetrySchedule []string
	// RelayMaxAge is how long a message may stay queued before it fails
	// (key relay_max_age).
	RelayMaxAge time.Duration
	// RelayWorkers is how many deliveries run at once (key relay_workers).
	RelayWorkers int
	// RelayTimeout bounds each step of a delivery: connect, each command,
	// the data (key relay_timeout).
	RelayTimeout time.Duration
}

// RelayTLS modes.
var relayTLSModes = []string{"none", "starttls", "starttls-required", "implicit"}

var relayKeys = []keyDef{
	{Key{Name: "relay_host", Kind: KindString, Help: "smarthost for the relay output"},
		func(c *Config) any { return &c.RelayHost }},
	{Key{Name: "relay_port", Kind: KindInt, Help: "smarthost port"},
		func(c *Config) any { return &c.RelayPort }},
	{Key{Name: "relay_tls", Kind: KindString, Help: `"none", "starttls" (opportunistic), "starttls-required" (verified) or "implicit" (SMTPS)`},
		func(c *Config) any { return &c.RelayTLS }},
	{Key{Name: "relay_tls_ca_file", Kind: KindPath, Help: "PEM roots that verify the smarthost (default: the system's)"},
		func(c *Config) any { return &c.RelayTLSCAFile }},
	{Key{Name: "relay_tls_insecure", Kind: KindBool, Help: "do not verify the smarthost's certificate"},
		func(c *Config) any { return &c.RelayTLSInsecure }},
	{Key{Name: "relay_auth_user", Kind: KindString, Help: "user name for AUTH at the smarthost"},
		func(c *Config) any { return &c.RelayAuthUser }},
	{Key{Name: "relay_auth_password", Kind: KindString, Help: "password for AUTH at the smarthost (prefer relay_auth_password_file)"},
		func(c *Config) any { return &c.RelayAuthPassword }},
	{Key{Name: "relay_auth_password_file", Kind: KindPath, Help: "file holding the smarthost password (first line)"},
		func(c *Config) any { return &c.RelayAuthPasswordFile }},
	{Key{Name: "relay_match", Kind: KindList, Help: `recipients relayed: "example.org", ".example.org" (subdomains), "user@example.org"; empty = all`},
		func(c *Config) any { return &c.RelayMatch }},
	{Key{Name: "relay_sender", Kind: KindString, Help: `envelope sender used upstream instead of the client's ("<>" = null sender)`},
		func(c *Config) any { return &c.RelaySender }},
	{Key{Name: "relay_queue_path", Kind: KindPath, Help: "relay queue folder (default <store_path>/queue)"},
		func(c *Config) any { return &c.RelayQueuePath }},
	{Key{Name: "relay_retry_schedule", Kind: KindList, Help: "waits after each failed attempt; the last repeats"},
		func(c *Config) any { return &c.RelayRetrySchedule }},
	{Key{Name: "relay_max_age", Kind: KindDuration, Help: "time a message may stay queued before it fails"},
		func(c *Config) any { return &c.RelayMaxAge }},
	{Key{Name: "relay_workers", Kind: KindInt, Help: "deliveries to the smarthost at once"},
		func(c *Config) any { return &c.RelayWorkers }},
	{Key{Name: "relay_timeout", Kind: KindDuration, Help: "time allowed to each step of a delivery (connect, command, data)"},
		func(c *Config) any { return &c.RelayTimeout }},
}

// Relay defaults: Postfix's habits where it has one (port 25,
// opportunistic TLS, five minutes per step, five days in the queue).
const (
	defaultRelayPort    = 25
	defaultRelayTLS     = "starttls"
	defaultRelayMaxAge  = 5 * 24 * time.Hour
	defaultRelayWorkers = 4
	defaultRelayTimeout = 5 * time.Minute
)

func defaultRelay() Relay {
	return Relay{RelayPort: defaultRelayPort, RelayTLS: defaultRelayTLS, RelayMatch: []string{},
		RelayRetrySchedule: []string{"1m", "5m", "15m", "1h"}, RelayMaxAge: defaultRelayMaxAge,
		RelayWorkers: defaultRelayWorkers, RelayTimeout: defaultRelayTimeout}
}

// RetrySchedule returns relay_retry_schedule as durations; entries that
// do not parse are left out (validation reports them).
func (r Relay) RetrySchedule() []time.Duration {
	var out []time.Duration
	for _, s := range r.RelayRetrySchedule {
		if d, err := parseDuration(s); err == nil && d > 0 {
			out = append(out, d)
		}
	}
	return out
}

// QueuePath returns the relay queue folder: relay_queue_path, or
// <store_path>/queue.
func (c *Config) QueuePath() string {
	if c.RelayQueuePath != "" {
		return c.RelayQueuePath
	}
	return filepath.Join(c.StorePath, "queue")
}

// validateRelay adds the problems of the relay keys.
func (c *Config) validateRelay(bad func(key string, value any, format string, args ...any)) {
	valid := false
	for _, m := range relayTLSModes {
		valid = valid || c.RelayTLS == m
	}
	if !valid {
		bad("relay_tls", c.RelayTLS, "want one of %s", strings.Join(relayTLSModes, ", "))
	}
	if c.RelayPort < 1 || c.RelayPort > 65535 {
		bad("relay_port", c.RelayPort, "not a port number")
	}
	if len(c.RelayRetrySchedule) == 0 {
		bad("relay_retry_schedule", c.RelayRetrySchedule, "want at least one wait")
	}
	for _, s := range c.RelayRetrySchedule {
		if d, err := parseDuration(s); err != nil || d <= 0 {
			bad("relay_retry_schedule", c.RelayRetrySchedule, "%q is not a positive duration", s)
		}
	}
	if c.RelayMaxAge <= 0 || c.RelayWorkers < 1 || c.RelayTimeout <= 0 {
		bad("relay_workers", c.RelayWorkers, "relay_workers must be at least 1, relay_max_age and relay_timeout positive")
	}
	for _, m := range c.RelayMatch {
		if m == "" || strings.ContainsAny(m, " \t<>") || strings.Count(m, "@") > 1 {
			bad("relay_match", c.RelayMatch, "%q is not a domain, .domain or address", m)
		}
	}
	if !c.Has("relay") {
		return
	}
	if c.RelayHost == "" {
		bad("relay_host", c.RelayHost, "empty while outputs has relay")
	} else if strings.ContainsAny(c.RelayHost, " /:") && net.ParseIP(c.RelayHost) == nil {
		bad("relay_host", c.RelayHost, "want a host name or an IP address, without a port (see relay_port)")
	}
	if c.RelayAuthPassword != "" && c.RelayAuthPasswordFile != "" {
		bad("relay_auth_password", "(secret)", "set relay_auth_password or relay_auth_password_file, not both")
	}
	if (c.RelayAuthPassword != "" || c.RelayAuthPasswordFile != "") && c.RelayAuthUser == "" {
		bad("relay_auth_user", c.RelayAuthUser, "empty while a relay password is set")
	}
	if !c.StoreData {
		bad("outputs", c.Outputs, "relay needs store_data on")
	}
}
