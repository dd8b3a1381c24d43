package config

import (
	"path/filepath"
	"time"
)

// Base defaults: the values of every mode except where its preset says
// otherwise. Most are the C# original's defaults, which were tuned for a
// receiver facing the Internet.
const (
	// defaultListen is the SMTP port on every interface, IPv4 and IPv6.
	defaultListen = ":25"
	// defaultReceiveTimeout is the original's 8000 ms: ample for a real MTA
	// on a working link, short enough that idle bots free their slot fast.
	defaultReceiveTimeout = 8 * time.Second
	// defaultMaxSMTPErrors: a legitimate client rarely makes more than one
	// or two protocol errors; a scanner makes many.
	defaultMaxSMTPErrors = 4
	// defaultMaxSMTPNoop: NOOP is a keep-alive; more than a few in one
	// session is a client stalling for time.
	defaultMaxSMTPNoop = 7
	// defaultMaxSMTPVrfy: VRFY/EXPN in bulk is address harvesting.
	defaultMaxSMTPVrfy = 10
	// defaultMaxSMTPRcpt is the minimum RFC 5321 4.5.3.1.8 asks servers to
	// accept in one transaction.
	defaultMaxSMTPRcpt = 100
	// defaultMaxMessages: a real MTA rarely sends more than a handful of
	// messages per connection to one MX; a spam run sends many.
	defaultMaxMessages = 10
	// defaultMaxSessions keeps a small box responsive under a bot storm.
	defaultMaxSessions = 16
	// defaultStoreData: storing is why most people run a catcher.
	defaultStoreData = true
	// defaultStoreDir is the directory under the temp dir used for messages
	// when store_path is not set; the temp dir is always writable.
	defaultStoreDir = "fakesmtp"
	// defaultMaxDataSize is the original's 2 MiB: spam is small, and a
	// public receiver should not let strangers fill its disk.
	defaultMaxDataSize = 2 << 20
	// defaultBannerDelay catches early talkers: a compliant client waits
	// for the 220 (RFC 5321 4.3.1), many bots do not.
	defaultBannerDelay = 1 * time.Second
	// defaultErrorDelay is the tarpit step; with defaultMaxSMTPErrors it
	// holds an erring client for a few seconds before closing.
	defaultErrorDelay = 500 * time.Millisecond
	// defaultErrorDelayMax bounds one tarpit reply well under the 5-minute
	// timeouts of RFC 5321 4.5.3.2, so a tarpitted client does not time out
	// and retry in a loop.
	defaultErrorDelayMax = 30 * time.Second
	// defaultDoEarlyTalk: detection is cheap and only matters when
	// banner_delay is set.
	defaultDoEarlyTalk = true
	// defaultShutdownGrace lets sessions in DATA finish on a stop, while a
	// service manager's kill timeout (often 90 s) is not reached.
	defaultShutdownGrace = 10 * time.Second
	// defaultFsync: a 250 reply promises the message is stored (RFC 5321
	// 4.1.1.4), which only holds if it survives a power cut.
	defaultFsync = true
)

// The dev preset: a catcher on a developer's machine.
const (
	// devListen is loopback only, on a port that needs no privileges: a dev
	// catcher must not be reachable from the network by surprise.
	devListen = "127.0.0.1:2525"
	// devReceiveTimeout is RFC 5321 4.5.3.2's 5 minutes, so a person typing
	// into telnet, or a debugger paused in the client, is not cut off.
	devReceiveTimeout = 5 * time.Minute
	// devMaxMessages 0 is unlimited: test suites reuse one connection.
	devMaxMessages = 0
	// devMaxSessions: parallel test runners open many connections.
	devMaxSessions = 100
	// devMaxDataSize is 25 MiB, the attachment limit of the large mail
	// providers, so realistic test mails fit.
	devMaxDataSize = 25 << 20
	// devVerboseLogging: a developer wants to see the dialogue.
	devVerboseLogging = true
	// devBannerDelay and devErrorDelay are 0: there are no bots to slow
	// down on loopback, and test suites should be fast.
	devBannerDelay = 0
	devErrorDelay  = 0
	// devDoEarlyTalk is off: test clients may pipeline freely.
	devDoEarlyTalk = false
)

// The fakemx preset, the original's MX sandwich: a fake primary MX that
// slows and temp-fails every sender, stores nothing, and takes more
// connections because each one is held longer.
const (
	// fakeMXStoreData is off: every transaction fails, so there is
	// nothing to keep.
	fakeMXStoreData   = false
	fakeMXDoTempFail  = true
	fakeMXBannerDelay = 1500 * time.Millisecond
	fakeMXErrorDelay  = 750 * time.Millisecond
	fakeMXMaxSessions = 32
)

// baseDefaults returns the defaults every mode starts from. The hostname is
// left empty: Load asks the system only when no layer sets it.
func baseDefaults(tempDir string) *Config {
	return &Config{
		Listen:         []string{defaultListen},
		ReceiveTimeout: defaultReceiveTimeout,
		MaxSMTPErrors:  defaultMaxSMTPErrors,
		MaxSMTPNoop:    defaultMaxSMTPNoop,
		MaxSMTPVrfy:    defaultMaxSMTPVrfy,
		MaxSMTPRcpt:    defaultMaxSMTPRcpt,
		MaxMessages:    defaultMaxMessages,
		MaxSessions:    defaultMaxSessions,
		StoreData:      defaultStoreData,
		StorePath:      filepath.Join(tempDir, defaultStoreDir),
		MaxDataSize:    defaultMaxDataSize,
		BannerDelay:    defaultBannerDelay,
		ErrorDelay:     defaultErrorDelay,
		ErrorDelayMax:  defaultErrorDelayMax,
		DoEarlyTalk:    defaultDoEarlyTalk,
		RWLProviders:   []string{},
		RBLProviders:   []string{},
		ShutdownGrace:  defaultShutdownGrace,
		Fsync:          defaultFsync,
		Screening:      defaultScreening(),
		ESMTP:          defaultESMTP(),
		Delivery:       defaultDelivery(),
		Relay:          defaultRelay(),
		Web:            defaultWeb(),
	}
}

// applyPreset changes c to the mode's preset. Load only passes modes that
// parseMode accepted.
func applyPreset(c *Config, m Mode) {
	c.Mode = m
	switch m {
	case ModeDev:
		c.Listen = []string{devListen}
		c.ReceiveTimeout = devReceiveTimeout
		c.MaxMessages = devMaxMessages
		c.MaxSessions = devMaxSessions
		c.MaxDataSize = devMaxDataSize
		c.VerboseLogging = devVerboseLogging
		c.BannerDelay = devBannerDelay
		c.ErrorDelay = devErrorDelay
		c.DoEarlyTalk = devDoEarlyTalk
		c.Transcript = true
	case ModeProxy:
		// A proxy takes mail from known senders on behalf of another MTA:
		// no banner delay, tarpit or early-talk trap to trip them.
		c.Listen = []string{defaultListen}
		c.StoreData = true
		c.BannerDelay = 0
		c.ErrorDelay = 0
		c.DoEarlyTalk = false
	case ModeCollector:
		c.Listen = []string{defaultListen}
		c.StoreData = true
		c.Chunking = false
		c.BannerDelay = defaultBannerDelay
		c.ErrorDelay = defaultErrorDelay
		c.DoEarlyTalk = true
	case ModeFakeMX:
		c.Listen = []string{defaultListen}
		c.StoreData = fakeMXStoreData
		c.DoTempFail = fakeMXDoTempFail
		c.BannerDelay = fakeMXBannerDelay
		c.ErrorDelay = fakeMXErrorDelay
		c.DoEarlyTalk = true
		c.MaxSessions = fakeMXMaxSessions
		c.Chunking = false
	}
}

// defaults returns the base defaults with the mode's preset applied, and
// the provenance of every key: SourceMode where the preset changed the base
// value, SourceDefault elsewhere.
func defaults(m Mode, tempDir string) (*Config, Provenance) {
	base := baseDefaults(tempDir)
	c := baseDefaults(tempDir)
	applyPreset(c, m)
	prov := Provenance{}
	for i := range keyDefs {
		k := &keyDefs[i]
		prov[k.Name] = SourceDefault
		if k.Name != keyMode && formatValue(k.get(c)) != formatValue(k.get(base)) {
			prov[k.Name] = SourceMode
		}
	}
	return c, prov
}
