package config

import (
	"net/netip"
	"time"
)

// Screening is the part of Config for hostile clients: the DNS lists, the
// real client address behind a proxy, the postscreen/spamd-style screens,
// traps and greylisting. Each field's comment names its key.
type Screening struct {
	// DNSResolver is the recursive DNS server for list queries, "host:port"
	// (key dns_resolver); "" uses the first nameserver of /etc/resolv.conf.
	// Use your own resolver: public ones get error codes from the lists.
	DNSResolver string
	// DNSTimeout bounds one list query (key dns_timeout).
	DNSTimeout time.Duration
	// DNSBLThreshold is the score at which a client is listed (key
	// dnsbl_threshold).
	DNSBLThreshold int
	// DNSWLThreshold is the sum of negative weights at or below which a
	// client is allowlisted (key dnswl_threshold).
	DNSWLThreshold int
	// DNSBLReply is the refusal of a listed client when nothing is stored
	// (key dnsbl_reply): "421" (4.7.1, try later) or "554" (5.7.1).
	DNSBLReply string
	// DNSCheckPrivate also checks private and special client addresses
	// (key dns_check_private): a lab setting.
	DNSCheckPrivate bool

	// ProxyProtocol expects a HAProxy PROXY v1/v2 header on every
	// connection (key proxy_protocol), from ProxyTrusted sources only.
	ProxyProtocol bool
	// ProxyTrusted lists the networks allowed to send PROXY headers (key
	// proxy_trusted), e.g. ["10.0.0.0/8"].
	ProxyTrusted []string

	// EarlyTalkAction is what happens to an early talker (key
	// early_talk_action): "drop" closes with 554 5.5.1, "enforce" goes on,
	// records the envelope, and refuses every RCPT with 550 5.5.1.
	EarlyTalkAction string
	// BannerTeaser sends "220-<host>" before the banner delay and
	// "220 <host>" after it (key banner_teaser), postscreen's trick.
	BannerTeaser bool
	// MaxSessionsPerIP caps concurrent sessions per client (IPv4 /32,
	// IPv6 /64) (key max_sessions_per_ip); 0 is no cap.
	MaxSessionsPerIP int
	// MaxConnectionsPerMinutePerIP caps new connections per client per
	// minute (key max_connections_per_minute_per_ip); 0 is no cap.
	MaxConnectionsPerMinutePerIP int
	// Tarpit is how delays are served (key tarpit): "delay" waits before
	// each reply, "stutter" sends each reply one byte per StutterInterval.
	Tarpit string
	// StutterInterval is the time between two bytes of a stuttered reply
	// (key stutter_interval).
	StutterInterval time.Duration
	// MaxTarpitted caps the sessions being tarpitted at once (key
	// max_tarpitted); past it replies go out at full speed. 0 is no cap.
	MaxTarpitted int
	// TarpitMaxTime caps the total tarpit time of one session (key
	// tarpit_max_time); 0 is no cap.
	TarpitMaxTime time.Duration

	// TrapMailboxes is a file of trap addresses (key trap_mailboxes).
	TrapMailboxes string
	// TrapUnknownDomains makes RCPT to a domain outside local_domains a
	// trap hit (key trap_unknown_domains).
	TrapUnknownDomains bool
	// TrapTTL is how long a trapped client stays listed (key trap_ttl).
	TrapTTL time.Duration
	// TrapState is the file of trapped clients (key trap_state); "" is
	// <store_path>/traps.json.
	TrapState string
	// TrapListFile is where the trapped clients are published in rbldnsd
	// format, with a .cidr file beside it (key trap_list_file).
	TrapListFile string
	// DNSBLServe is the address of the built-in DNS list server (key
	// dnsbl_serve), e.g. "127.0.0.1:5353"; "" is off.
	DNSBLServe string
	// DNSBLZone is the zone the built-in server answers for (key
	// dnsbl_zone).
	DNSBLZone string

	// Greylist turns greylisting on (key greylist).
	Greylist bool
	// GreylistDelay is how long a new triplet is refused (key
	// greylist_delay).
	GreylistDelay time.Duration
	// GreylistExpire is how long a refused triplet waits for its retry
	// (key greylist_expire).
	GreylistExpire time.Duration
	// GreylistPassTTL is how long a passed triplet stays passed (key
	// greylist_pass_ttl).
	GreylistPassTTL time.Duration
	// GreylistState is the greylist state file (key greylist_state); "" is
	// <store_path>/greylist.db.
	GreylistState string
}

// Screening defaults, each with its reason.
const (
	// defaultDNSTimeout: a list that has not answered in 3 s will not
	// answer in time for the banner anyway (antispam.md 5.4).
	defaultDNSTimeout = 3 * time.Second
	// defaultDNSBLThreshold and defaultDNSWLThreshold are postscreen's
	// defaults: one listing blocks, one allowlisting allows.
	defaultDNSBLThreshold = 1
	defaultDNSWLThreshold = -1
	// defaultDNSBLReply: 421 makes a wrongly listed real MTA retry later.
	defaultDNSBLReply = "421"
	// defaultEarlyTalkAction is the original's: close at once.
	defaultEarlyTalkAction = "drop"
	// defaultTarpit is the original's delay before replies.
	defaultTarpit = "delay"
	// defaultStutterInterval is spamd's one byte per second.
	defaultStutterInterval = time.Second
	// defaultMaxTarpitted bounds the memory held by tarpitted bots; past
	// it the tarpit stops (spamd's maxblack).
	defaultMaxTarpitted = 10000
	// defaultTarpitMaxTime: no bot deserves more than 10 minutes of our
	// attention per connection.
	defaultTarpitMaxTime = 10 * time.Minute
	// defaultTrapTTL is spamd's 24-hour blacklist life for trapped hosts.
	defaultTrapTTL = 24 * time.Hour
	// defaultDNSBLZone is a reserved name (RFC 6761 .test), a placeholder
	// the operator replaces.
	defaultDNSBLZone = "trap.fakesmtp.test"
	// Greylisting defaults are postgrey's and spamd's.
	defaultGreylistDelay   = 5 * time.Minute
	defaultGreylistExpire  = 4 * time.Hour
	defaultGreylistPassTTL = 36 * 24 * time.Hour
)

func defaultScreening() Screening {
	return Screening{
		DNSTimeout:      defaultDNSTimeout,
		DNSBLThreshold:  defaultDNSBLThreshold,
		DNSWLThreshold:  defaultDNSWLThreshold,
		DNSBLReply:      defaultDNSBLReply,
		ProxyTrusted:    []string{},
		EarlyTalkAction: defaultEarlyTalkAction,
		Tarpit:          defaultTarpit,
		StutterInterval: defaultStutterInterval,
		MaxTarpitted:    defaultMaxTarpitted,
		TarpitMaxTime:   defaultTarpitMaxTime,
		TrapTTL:         defaultTrapTTL,
		DNSBLZone:       defaultDNSBLZone,
		GreylistDelay:   defaultGreylistDelay,
		GreylistExpire:  defaultGreylistExpire,
		GreylistPassTTL: defaultGreylistPassTTL,
	}
}

// screeningKeys are the keys of Screening, in documentation order.
var screeningKeys = []keyDef{
	{Key{Name: "dns_resolver", Kind: KindString, Help: `DNS server for list queries, "host:port" ("" = the system's)`},
		func(c *Config) any { return &c.DNSResolver }},
	{Key{Name: "dns_timeout", Kind: KindDuration, Help: "time allowed for one DNS list query"},
		func(c *Config) any { return &c.DNSTimeout }},
	{Key{Name: "dnsbl_threshold", Kind: KindInt, Help: "list score at which a client is listed"},
		func(c *Config) any { return &c.DNSBLThreshold }},
	{Key{Name: "dnswl_threshold", Kind: KindInt, Help: "sum of allowlist weights at or below which a client is allowlisted"},
		func(c *Config) any { return &c.DNSWLThreshold }},
	{Key{Name: "dnsbl_reply", Kind: KindString, Help: `refusal of a listed client when store_data is off: "421" or "554"`},
		func(c *Config) any { return &c.DNSBLReply }},
	{Key{Name: "dns_check_private", Kind: KindBool, Help: "also check private and loopback clients against the lists (lab setting)"},
		func(c *Config) any { return &c.DNSCheckPrivate }},
	{Key{Name: "proxy_protocol", Kind: KindBool, Help: "expect a HAProxy PROXY v1/v2 header on each connection"},
		func(c *Config) any { return &c.ProxyProtocol }},
	{Key{Name: "proxy_trusted", Kind: KindList, Help: "networks allowed to send PROXY headers (CIDR)"},
		func(c *Config) any { return &c.ProxyTrusted }},
	{Key{Name: "early_talk_action", Kind: KindString, Help: `"drop" (554 and close) or "enforce" (go on, refuse every RCPT)`},
		func(c *Config) any { return &c.EarlyTalkAction }},
	{Key{Name: "banner_teaser", Kind: KindBool, Help: `send "220-host" before the banner delay, "220 host" after`},
		func(c *Config) any { return &c.BannerTeaser }},
	{Key{Name: "max_sessions_per_ip", Kind: KindInt, Help: "concurrent sessions per client /32 or /64 (0 = no cap)"},
		func(c *Config) any { return &c.MaxSessionsPerIP }},
	{Key{Name: "max_connections_per_minute_per_ip", Kind: KindInt, Help: "new connections per client /32 or /64 per minute (0 = no cap)"},
		func(c *Config) any { return &c.MaxConnectionsPerMinutePerIP }},
	{Key{Name: "tarpit", Kind: KindString, Help: `"delay" (wait before replies) or "stutter" (send replies byte by byte)`},
		func(c *Config) any { return &c.Tarpit }},
	{Key{Name: "stutter_interval", Kind: KindDuration, Help: "time between two bytes of a stuttered reply"},
		func(c *Config) any { return &c.StutterInterval }},
	{Key{Name: "max_tarpitted", Kind: KindInt, Help: "sessions tarpitted at once; past it replies go at full speed (0 = no cap)"},
		func(c *Config) any { return &c.MaxTarpitted }},
	{Key{Name: "tarpit_max_time", Kind: KindDuration, Help: "total tarpit time per session (0 = no cap)"},
		func(c *Config) any { return &c.TarpitMaxTime }},
	{Key{Name: "trap_mailboxes", Kind: KindPath, Help: "file of trap addresses, one per line"},
		func(c *Config) any { return &c.TrapMailboxes }},
	{Key{Name: "trap_unknown_domains", Kind: KindBool, Help: "RCPT to a domain outside local_domains is a trap hit"},
		func(c *Config) any { return &c.TrapUnknownDomains }},
	{Key{Name: "trap_ttl", Kind: KindDuration, Help: "how long a trapped client stays listed"},
		func(c *Config) any { return &c.TrapTTL }},
	{Key{Name: "trap_state", Kind: KindPath, Help: `file of trapped clients ("" = <store_path>/traps.json)`},
		func(c *Config) any { return &c.TrapState }},
	{Key{Name: "trap_list_file", Kind: KindPath, Help: "publish trapped clients here, rbldnsd format (and .ip6 and .cidr beside it)"},
		func(c *Config) any { return &c.TrapListFile }},
	{Key{Name: "dnsbl_serve", Kind: KindString, Help: `address of the built-in DNS list server, e.g. "127.0.0.1:5353" ("" = off)`},
		func(c *Config) any { return &c.DNSBLServe }},
	{Key{Name: "dnsbl_zone", Kind: KindString, Help: "zone the built-in DNS list server answers for"},
		func(c *Config) any { return &c.DNSBLZone }},
	{Key{Name: "greylist", Kind: KindBool, Help: "greylist (client /24 or /64, sender, recipient) triplets at RCPT"},
		func(c *Config) any { return &c.Greylist }},
	{Key{Name: "greylist_delay", Kind: KindDuration, Help: "how long a new triplet gets 451"},
		func(c *Config) any { return &c.GreylistDelay }},
	{Key{Name: "greylist_expire", Kind: KindDuration, Help: "how long a refused triplet waits for its retry"},
		func(c *Config) any { return &c.GreylistExpire }},
	{Key{Name: "greylist_pass_ttl", Kind: KindDuration, Help: `how long a passed triplet stays passed (e.g. "36d")`},
		func(c *Config) any { return &c.GreylistPassTTL }},
	{Key{Name: "greylist_state", Kind: KindPath, Help: `greylist state file ("" = <store_path>/greylist.db)`},
		func(c *Config) any { return &c.GreylistState }},
}

// validateScreening adds the problems of the screening keys.
func (c *Config) validateScreening(bad func(key string, value any, format string, args ...any)) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"stutter_interval", c.StutterInterval}, {"tarpit_max_time", c.TarpitMaxTime},
	} {
		if d.v < 0 {
			bad(d.key, d.v, "must not be negative")
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"dns_timeout", c.DNSTimeout}, {"trap_ttl", c.TrapTTL},
		{"greylist_delay", c.GreylistDelay}, {"greylist_expire", c.GreylistExpire}, {"greylist_pass_ttl", c.GreylistPassTTL},
	} {
		if d.v <= 0 {
			bad(d.key, d.v, "must be positive")
		}
	}
	// greylist.New refuses this too, but only when serve starts; checked
	// here so check-config reports it. Only with greylisting on, since the
	// timings mean nothing otherwise and an off greylist must not stop
	// the receiver.
	if c.Greylist && c.GreylistDelay > 0 && c.GreylistExpire > 0 && c.GreylistDelay >= c.GreylistExpire {
		bad("greylist_delay", c.GreylistDelay, "not shorter than greylist_expire = %s: no retry could ever pass", formatValue(c.GreylistExpire))
	}
	if c.Tarpit == "stutter" && c.StutterInterval <= 0 {
		bad("stutter_interval", c.StutterInterval, "must be positive with tarpit = \"stutter\"")
	}
	for _, n := range []struct {
		key string
		v   int
	}{
		{"max_sessions_per_ip", c.MaxSessionsPerIP}, {"max_connections_per_minute_per_ip", c.MaxConnectionsPerMinutePerIP}, {"max_tarpitted", c.MaxTarpitted},
	} {
		if n.v < 0 {
			bad(n.key, n.v, "must not be negative")
		}
	}
	if c.DNSResolver != "" {
		if err := checkListen(c.DNSResolver); err != nil {
			bad("dns_resolver", c.DNSResolver, "%v", err)
		}
	}
	if c.DNSBLReply != "421" && c.DNSBLReply != "554" {
		bad("dnsbl_reply", c.DNSBLReply, `want "421" or "554"`)
	}
	if c.EarlyTalkAction != "drop" && c.EarlyTalkAction != "enforce" {
		bad("early_talk_action", c.EarlyTalkAction, `want "drop" or "enforce"`)
	}
	if c.Tarpit != "delay" && c.Tarpit != "stutter" {
		bad("tarpit", c.Tarpit, `want "delay" or "stutter"`)
	}
	for _, p := range c.ProxyTrusted {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, aerr := netip.ParseAddr(p); aerr != nil {
				bad("proxy_trusted", c.ProxyTrusted, "%q is not a network such as \"10.0.0.0/8\"", p)
			}
		}
	}
	if c.ProxyProtocol && len(c.ProxyTrusted) == 0 {
		bad("proxy_trusted", c.ProxyTrusted, "empty while proxy_protocol is on: name the proxies' networks")
	}
	if c.DNSBLServe != "" {
		if err := checkListen(c.DNSBLServe); err != nil {
			bad("dnsbl_serve", c.DNSBLServe, "%v", err)
		}
		if c.DNSBLZone == "" {
			bad("dnsbl_zone", c.DNSBLZone, "empty while dnsbl_serve is set")
		}
	}
	if c.DNSBLZone != "" && !plausibleHostname(c.DNSBLZone) {
		bad("dnsbl_zone", c.DNSBLZone, "not a domain name")
	}
}
