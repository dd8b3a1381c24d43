// Package config holds the settings of the fakesmtp SMTP receiver: the Config
// struct, the defaults of each mode, and Load, which layers base defaults, the
// mode's preset, a TOML (or legacy FakeSMTP.exe.config XML) file, FAKESMTP_*
// environment variables and command-line flags, records where each value came
// from, and validates the result.
//
// Load never stops at the first mistake: a misconfigured receiver is usually
// found by someone reading a deployment log, and one round trip per typo is
// the experience this package exists to avoid. Every problem is returned at
// once as Problems.
//
// The package has no global mutable state (the C# original kept its settings
// in a static AppGlobals class): Load returns a value, and main hands each
// part of the program the fields it needs.
package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Mode selects a preset of defaults for a typical deployment. Any setting can
// still be overridden by the file, the environment or a flag.
type Mode string

// The modes. ModeDev is the default because the most common first run is a
// developer pointing an application at a local catcher.
const (
	// ModeDev is a local catcher for developers: loopback only, patient
	// timeouts, no tarpit, verbose logs, generous limits.
	ModeDev Mode = "dev"
	// ModeProxy stores mail received on the public port; it is the base
	// defaults with storage on.
	ModeProxy Mode = "proxy"
	// ModeCollector is a public-facing spam collector: it stores everything
	// and slows clients down with the banner delay and tarpit.
	ModeCollector Mode = "collector"
	// ModeFakeMX is the original's "MX sandwich" (nolisting) example: a
	// fake primary MX that answers every transaction with a temporary
	// failure, so legitimate senders retry the real MX and most bots give up.
	ModeFakeMX Mode = "fakemx"
)

// Modes lists every mode, in documentation order.
func Modes() []Mode { return []Mode{ModeDev, ModeProxy, ModeCollector, ModeFakeMX} }

// Config is the effective configuration of the receiver. Load fills it; the
// zero value is not useful. Each field's comment names its key; the defaults
// are the constants in modes.go.
type Config struct {
	// Mode is the preset the defaults came from (key mode).
	Mode Mode
	// Hostname is the name announced in the banner, the EHLO reply and the
	// Received header (key hostname). It defaults to the system host name.
	Hostname string
	// Listen is one or more "host:port" addresses to accept SMTP on (key
	// listen). An empty host (":25") means every interface, IPv4 and IPv6.
	Listen []string
	// ReceiveTimeout bounds each command and each DATA read (key
	// receive_timeout). It must be positive.
	ReceiveTimeout time.Duration
	// MaxSMTPErrors is how many erroneous commands a session may send; the
	// next one closes it (key max_smtp_errors). 0 means none is tolerated.
	MaxSMTPErrors int
	// MaxSMTPNoop is how many NOOPs a session may send before it is closed
	// (key max_smtp_noop). 0 means none is tolerated.
	MaxSMTPNoop int
	// MaxSMTPVrfy is how many VRFY/EXPN a session may send before it is
	// closed (key max_smtp_vrfy). 0 means none is tolerated.
	MaxSMTPVrfy int
	// MaxSMTPRcpt is the most recipients per transaction (key max_smtp_rcpt);
	// at least 1. RFC 5321 4.5.3.1.8 asks servers to accept at least 100.
	MaxSMTPRcpt int
	// MaxMessages is the most messages per session (key max_messages);
	// 0 means unlimited.
	MaxMessages int
	// MaxSessions is the most concurrent sessions (key max_sessions); at
	// least 1.
	MaxSessions int
	// StoreData says whether message data is written to StorePath (key
	// store_data); when false the data is read and discarded.
	StoreData bool
	// StorePath is the directory messages are written to (key store_path).
	StorePath string
	// MaxDataSize is the largest message accepted, in bytes (key
	// max_data_size); at least 1024. It is announced as EHLO SIZE.
	MaxDataSize int64
	// LogPath is the folder of the monthly log files fakesmtp-MM.log and
	// sessions-MM.log (key log_path); "" means stderr only.
	LogPath string
	// VerboseLogging logs every command and reply (key verbose_logging).
	VerboseLogging bool
	// BannerDelay is how long to wait before the 220 greeting (key
	// banner_delay); 0 greets at once. Clients that talk before the
	// greeting are early talkers (see DoEarlyTalk).
	BannerDelay time.Duration
	// ErrorDelay is the tarpit step (key error_delay): once a session has
	// made errors, each reply is delayed by ErrorDelay × its error count so
	// far; 0 disables the tarpit.
	ErrorDelay time.Duration
	// ErrorDelayMax caps the tarpit delay (key error_delay_max), so a
	// session cannot be held longer than this per reply.
	ErrorDelayMax time.Duration
	// DoTempFail answers transactions with a 4xx temporary failure (key
	// do_temp_fail), as a fake MX does.
	DoTempFail bool
	// DoEarlyTalk detects clients that send before the greeting (key
	// do_early_talk).
	DoEarlyTalk bool
	// RWLProviders are DNS allowlist zones (key rwl_providers). Entries may
	// carry a filter or weight ("zone=127.0.0.[2..11]", "zone*3"); they are
	// only checked for syntax here.
	RWLProviders []string
	// RBLProviders are DNS blocklist zones (key rbl_providers), with the
	// same syntax as RWLProviders.
	RBLProviders []string
	// LocalDomains is a file of accepted domains, one per line (key
	// local_domains); "" accepts every domain.
	LocalDomains string
	// LocalMailboxes is a file of accepted addresses, one per line (key
	// local_mailboxes); "" accepts every address.
	LocalMailboxes string
	// StrictLineEndings rejects bare CR or LF in commands and data (key
	// strict_line_endings) instead of tolerating them.
	StrictLineEndings bool
	// ShutdownGrace is how long a graceful stop waits for sessions to
	// finish before closing them (key shutdown_grace).
	ShutdownGrace time.Duration
	// Fsync syncs each message file and its directory before the 250 reply
	// (key fsync). Turn it off only for benchmarks and throwaway labs.
	Fsync bool

	// Screening holds the settings of the fake MX and collector defences
	// (DNS lists, PROXY protocol, per-client limits, tarpit, traps,
	// greylisting); see screening.go.
	Screening

	// ESMTP holds the settings of the extensions: TLS, and later AUTH and
	// the others; see esmtp.go.
	ESMTP

	// Delivery says where accepted messages go besides (or instead of)
	// the store's files; see outputs.go.
	Delivery

	// Relay holds the relay output's settings: the smarthost and the
	// queue; see relay.go.
	Relay

	// Web holds the HTTP side's settings: index, API, UI, metrics; see
	// web.go.
	Web

	// File is the configuration file Load read, "" if none. It is not a
	// key; Describe prints it in its header.
	File string
}

// Source says which layer a value came from.
type Source string

// The layers, lowest precedence first.
const (
	SourceDefault Source = "default" // the base default
	SourceMode    Source = "mode"    // the mode's preset changed the base default
	SourceFile    Source = "file"    // the configuration file (TOML or legacy XML)
	SourceEnv     Source = "env"     // a FAKESMTP_<KEY> environment variable
	SourceFlag    Source = "flag"    // the command line
)

// Provenance maps each key (snake_case, as in Keys) to the layer its
// effective value came from. Load fills an entry for every key.
type Provenance map[string]Source

// Options are the inputs of Load. Everything that touches the process (the
// environment, the host name, the temp dir) is passed in so tests and
// check-config can control it.
type Options struct {
	// Mode is the value of --mode; "" means not given on the command line.
	Mode string
	// File is the --config path; "" means no file.
	File string
	// Env is the environment, os.Environ style ("K=V"). Only FAKESMTP_*
	// variables are read.
	Env []string
	// Flags are the command-line settings in command-line order; a later
	// one wins. They rank above Mode, so "--set mode=x" beats "--mode y".
	Flags []Flag
	// Hostname returns the default host name; nil means os.Hostname. It is
	// called only when no layer sets hostname.
	Hostname func() (string, error)
	// TempDir is the directory the default store_path is under; "" means
	// os.TempDir().
	TempDir string
}

// Flag is one setting given on the command line: Key is a key name (either
// spelling, max_smtp_errors or max-smtp-errors) and Value its unparsed text.
type Flag struct{ Key, Value string }

// Problems is every mistake found in a configuration. It implements error so
// Load can return it; each entry names the key and, when known, where the
// value came from.
type Problems []string

// Error joins the problems one per line.
func (p Problems) Error() string { return strings.Join(p, "\n") }

// add appends a formatted problem.
func (p *Problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// assignment is one value for one key from one layer, already parsed to the
// key's Go type. where says exactly where it came from ("fakesmtp.toml:3",
// "env FAKESMTP_LISTEN") for validation messages.
type assignment struct {
	key   *keyDef
	value any
	src   Source
	where string
}

// Load builds the effective configuration: base defaults, then the mode's
// preset, then opts.File, then FAKESMTP_* variables from opts.Env, then
// opts.Mode and opts.Flags. The mode itself is chosen by the same precedence
// and defaults to dev.
//
// The error, if any, is Problems listing every mistake found. The Config and
// Provenance are returned even then, filled as far as possible, so that
// check-config can still show them; a caller must not run with them.
func Load(opts Options) (*Config, Provenance, error) {
	var probs Problems
	var layers []assignment

	if opts.File != "" {
		as, ps := loadFile(opts.File)
		layers = append(layers, as...)
		probs = append(probs, ps...)
	}
	as, ps := fromEnv(opts.Env)
	layers = append(layers, as...)
	probs = append(probs, ps...)

	cmdline := opts.Flags
	if opts.Mode != "" {
		cmdline = append([]Flag{{Key: "mode", Value: opts.Mode}}, opts.Flags...)
	}
	as, ps = fromFlags(cmdline)
	layers = append(layers, as...)
	probs = append(probs, ps...)

	// The mode must be known before any layer is applied, because its
	// preset sits under the file. An invalid mode was already reported by
	// its parser; the last valid one wins.
	mode := ModeDev
	for _, a := range layers {
		if a.key.Name == keyMode {
			mode = a.value.(Mode)
		}
	}

	tempDir := opts.TempDir
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	c, prov := defaults(mode, tempDir)
	where := map[string]string{}
	for _, a := range layers {
		a.key.set(c, a.value)
		prov[a.key.Name] = a.src
		where[a.key.Name] = a.where
	}
	c.File = opts.File

	// Asking the system is deferred until we know no layer names the host,
	// so a broken resolver does not fail a config that sets hostname.
	skip := map[string]bool{}
	if prov[keyHostname] == SourceDefault {
		hostname := opts.Hostname
		if hostname == nil {
			hostname = os.Hostname
		}
		h, err := hostname()
		if err != nil {
			probs.add("hostname: cannot get the system host name (%v); set hostname", err)
			skip[keyHostname] = true // one problem is enough
		}
		c.Hostname = h
	}

	probs = append(probs, c.validate(func(key string) string {
		if w := where[key]; w != "" {
			return w
		}
		return string(prov[key])
	}, skip)...)
	if len(probs) > 0 {
		return c, prov, probs
	}
	return c, prov, nil
}
