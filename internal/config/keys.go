package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a key's value. It decides how text from the
// environment, flags and the legacy file is parsed and how values print.
type Kind string

// The kinds of Key.Kind.
const (
	KindString   Kind = "string"   // free text
	KindDuration Kind = "duration" // Go duration text: "8s", "500ms", "1m30s"
	KindInt      Kind = "int"      // decimal integer
	KindBool     Kind = "bool"     // true or false
	KindList     Kind = "list"     // strings; comma-separated in text
	KindPath     Kind = "path"     // a file or directory name
	KindMode     Kind = "mode"     // one of Modes()
)

// Key documents one setting. Name is the snake_case name used in TOML, in
// --set and (upper-cased, after FAKESMTP_) in the environment. Legacy is the
// name in the C# original's FakeSMTP.exe.config, "" if it had none. Default
// is the dev mode's default and BaseDefault the default of the other modes
// before their presets, both printed as Describe prints values.
type Key struct {
	Name        string
	Legacy      string
	Kind        Kind
	Help        string
	Default     string
	BaseDefault string
}

// Key names the code refers to directly.
const (
	keyMode      = "mode"
	keyHostname  = "hostname"
	keyListen    = "listen"
	keyStorePath = "store_path"
)

// keyDef is a Key plus the Config field it sets.
type keyDef struct {
	Key
	// field returns a pointer to the key's field in c: *string, *Mode,
	// *[]string, *time.Duration, *int, *int64 or *bool.
	field func(c *Config) any
}

// keyDefs is every key in documentation order: the original's, then the
// screening keys (screening.go), then the extensions' (esmtp.go). It is read-only.
var keyDefs = append(append(append(append(append(coreKeys[:len(coreKeys):len(coreKeys)], screeningKeys...), esmtpKeys...), outputKeys...), relayKeys...), webKeys...)

// coreKeys are the keys of the C# original and the core receiver.
var coreKeys = []keyDef{
	{Key{Name: "mode", Kind: KindMode, Help: "preset of defaults: dev, proxy, collector or fakemx"},
		func(c *Config) any { return &c.Mode }},
	{Key{Name: "hostname", Legacy: "HostName", Kind: KindString, Help: "name announced in the banner, EHLO reply and Received header"},
		func(c *Config) any { return &c.Hostname }},
	{Key{Name: "listen", Legacy: "ListenAddress, ListenPort", Kind: KindList, Help: `addresses to accept SMTP on, "host:port"; ":25" is every interface`},
		func(c *Config) any { return &c.Listen }},
	{Key{Name: "receive_timeout", Legacy: "ReceiveTimeOut", Kind: KindDuration, Help: "time allowed for each command and for each read of DATA"},
		func(c *Config) any { return &c.ReceiveTimeout }},
	{Key{Name: "max_smtp_errors", Legacy: "MaxSmtpErrors", Kind: KindInt, Help: "erroneous commands tolerated per session before it is closed (0 = none)"},
		func(c *Config) any { return &c.MaxSMTPErrors }},
	{Key{Name: "max_smtp_noop", Legacy: "MaxSmtpNoop", Kind: KindInt, Help: "NOOP commands tolerated per session before it is closed (0 = none)"},
		func(c *Config) any { return &c.MaxSMTPNoop }},
	{Key{Name: "max_smtp_vrfy", Legacy: "MaxSmtpVrfy", Kind: KindInt, Help: "VRFY/EXPN commands tolerated per session before it is closed (0 = none)"},
		func(c *Config) any { return &c.MaxSMTPVrfy }},
	{Key{Name: "max_smtp_rcpt", Legacy: "MaxSmtpRcpt", Kind: KindInt, Help: "recipients per transaction (at least 1)"},
		func(c *Config) any { return &c.MaxSMTPRcpt }},
	{Key{Name: "max_messages", Legacy: "MaxMessages", Kind: KindInt, Help: "messages per session (0 = unlimited)"},
		func(c *Config) any { return &c.MaxMessages }},
	{Key{Name: "max_sessions", Legacy: "MaxSessions", Kind: KindInt, Help: "concurrent sessions (at least 1)"},
		func(c *Config) any { return &c.MaxSessions }},
	{Key{Name: "store_data", Legacy: "StoreData", Kind: KindBool, Help: "write received messages to store_path"},
		func(c *Config) any { return &c.StoreData }},
	{Key{Name: "store_path", Legacy: "StorePath", Kind: KindPath, Help: "directory for received messages"},
		func(c *Config) any { return &c.StorePath }},
	{Key{Name: "max_data_size", Legacy: "MaxDataSize", Kind: KindInt, Help: "largest message accepted, in bytes (at least 1024)"},
		func(c *Config) any { return &c.MaxDataSize }},
	{Key{Name: "log_path", Legacy: "LogPath", Kind: KindPath, Help: `folder for the monthly log files fakesmtp-MM.log and sessions-MM.log ("" = stderr only)`},
		func(c *Config) any { return &c.LogPath }},
	{Key{Name: "verbose_logging", Legacy: "VerboseLogging", Kind: KindBool, Help: "log every command and reply"},
		func(c *Config) any { return &c.VerboseLogging }},
	{Key{Name: "banner_delay", Legacy: "BannerDelay", Kind: KindDuration, Help: "wait before the 220 greeting (0 = greet at once)"},
		func(c *Config) any { return &c.BannerDelay }},
	{Key{Name: "error_delay", Legacy: "ErrorDelay", Kind: KindDuration, Help: "tarpit step: each reply waits this × the session's errors so far (0 = off)"},
		func(c *Config) any { return &c.ErrorDelay }},
	{Key{Name: "error_delay_max", Kind: KindDuration, Help: "cap on the tarpit delay of one reply"},
		func(c *Config) any { return &c.ErrorDelayMax }},
	{Key{Name: "do_temp_fail", Legacy: "DoTempFail", Kind: KindBool, Help: "answer transactions with a 4xx temporary failure (fake MX)"},
		func(c *Config) any { return &c.DoTempFail }},
	{Key{Name: "do_early_talk", Legacy: "DoEarlyTalk", Kind: KindBool, Help: "detect clients that talk before the greeting"},
		func(c *Config) any { return &c.DoEarlyTalk }},
	{Key{Name: "rwl_providers", Legacy: "RWLproviders", Kind: KindList, Help: `DNS allowlist zones ("zone", "zone=127.0.0.[2..11]", "zone*3")`},
		func(c *Config) any { return &c.RWLProviders }},
	{Key{Name: "rbl_providers", Legacy: "RBLproviders", Kind: KindList, Help: "DNS blocklist zones, same syntax as rwl_providers"},
		func(c *Config) any { return &c.RBLProviders }},
	{Key{Name: "local_domains", Legacy: "LocalDomains", Kind: KindPath, Help: `file of accepted domains, one per line ("" = accept all)`},
		func(c *Config) any { return &c.LocalDomains }},
	{Key{Name: "local_mailboxes", Legacy: "LocalMailBoxes", Kind: KindPath, Help: `file of accepted addresses, one per line ("" = accept all)`},
		func(c *Config) any { return &c.LocalMailboxes }},
	{Key{Name: "strict_line_endings", Kind: KindBool, Help: "reject bare CR or LF instead of tolerating them"},
		func(c *Config) any { return &c.StrictLineEndings }},
	{Key{Name: "shutdown_grace", Kind: KindDuration, Help: "time a graceful stop waits for sessions to finish"},
		func(c *Config) any { return &c.ShutdownGrace }},
	{Key{Name: "fsync", Kind: KindBool, Help: "sync each message to disk before accepting it (off only for benchmarks)"},
		func(c *Config) any { return &c.Fsync }},
}

// Keys returns every key in documentation order, with its defaults filled
// in. The system-dependent defaults are shown symbolically.
func Keys() []Key {
	const tmp = "$TMPDIR"
	dev, _ := defaults(ModeDev, tmp)
	base := baseDefaults(tmp)
	base.Mode = ModeDev // the mode's own default does not depend on a preset
	out := make([]Key, len(keyDefs))
	for i, k := range keyDefs {
		out[i] = k.Key
		out[i].Default = formatValue(k.get(dev))
		out[i].BaseDefault = formatValue(k.get(base))
		if k.Name == keyHostname {
			out[i].Default = "system host name"
			out[i].BaseDefault = out[i].Default
		}
	}
	return out
}

// lookupKey finds a key by name. Dashes count as underscores and case is
// ignored, so flags and environment names share one table.
func lookupKey(name string) *keyDef {
	name = normalizeKey(name)
	for i := range keyDefs {
		if keyDefs[i].Name == name {
			return &keyDefs[i]
		}
	}
	return nil
}

// normalizeKey maps "Max-SMTP-Errors" to "max_smtp_errors".
func normalizeKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
}

// keyNames returns the snake_case names, for suggestions.
func keyNames() []string {
	names := make([]string, len(keyDefs))
	for i, k := range keyDefs {
		names[i] = k.Name
	}
	return names
}

// get returns the key's value in c.
func (k *keyDef) get(c *Config) any {
	switch p := k.field(c).(type) {
	case *string:
		return *p
	case *Mode:
		return *p
	case *[]string:
		return *p
	case *time.Duration:
		return *p
	case *int:
		return *p
	case *int64:
		return *p
	case *bool:
		return *p
	}
	panic("config: key " + k.Name + ": unhandled field type")
}

// set stores v, which a parser produced for this key's Kind, in c. Integers
// arrive as int64 and were range-checked by checkInt.
func (k *keyDef) set(c *Config, v any) {
	switch p := k.field(c).(type) {
	case *string:
		*p = v.(string)
	case *Mode:
		*p = v.(Mode)
	case *[]string:
		*p = append([]string(nil), v.([]string)...)
	case *time.Duration:
		*p = v.(time.Duration)
	case *int:
		*p = int(v.(int64))
	case *int64:
		*p = v.(int64)
	case *bool:
		*p = v.(bool)
	default:
		panic("config: key " + k.Name + ": unhandled field type")
	}
}

// checkInt reports whether n fits the key's field, which matters for int
// fields on 32-bit platforms.
func (k *keyDef) checkInt(n int64) error {
	if _, ok := k.field(&Config{}).(*int); ok && (n > math.MaxInt || n < math.MinInt) {
		return fmt.Errorf("%d is out of range", n)
	}
	return nil
}

// parseText parses the text form used by the environment and flags.
func (k *keyDef) parseText(s string) (any, error) {
	s = strings.TrimSpace(s)
	switch k.Kind {
	case KindString, KindPath:
		return s, nil
	case KindMode:
		return parseMode(s)
	case KindList:
		return splitList(s), nil
	case KindDuration:
		return parseDuration(s)
	case KindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", s)
		}
		return n, k.checkInt(n)
	case KindBool:
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", s)
		}
		return b, nil
	}
	panic("config: key " + k.Name + ": unhandled kind " + string(k.Kind))
}

// parseMode accepts a mode name in any case.
func parseMode(s string) (Mode, error) {
	m := Mode(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Modes() {
		if m == known {
			return m, nil
		}
	}
	names := make([]string, 0, len(Modes()))
	for _, known := range Modes() {
		names = append(names, string(known))
	}
	return "", fmt.Errorf("unknown mode %q%s (want one of %s)", s, didYouMean(string(m), names), strings.Join(names, ", "))
}

// maxDurationDays is the largest whole-day count a time.Duration holds.
const maxDurationDays = int64(math.MaxInt64 / (24 * time.Hour))

// parseDuration parses Go duration text. A bare number gets a hint, since
// the legacy file counted milliseconds and people carry that habit over.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil {
		return d, nil
	}
	// Whole days ("36d") read better than "864h" for greylist and trap
	// lifetimes; time.ParseDuration has no day unit.
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, nerr := strconv.ParseInt(days, 10, 64); nerr == nil && n >= 0 {
			// time.Duration counts nanoseconds in an int64, about 292
			// years; past that the product wraps to a short or negative
			// duration that would pass for a valid, wrong setting.
			if n > maxDurationDays {
				return 0, fmt.Errorf("%q is too long: at most %dd", s, maxDurationDays)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	if _, nerr := strconv.ParseInt(s, 10, 64); nerr == nil {
		return 0, fmt.Errorf("want a duration with a unit, got %q (write \"%ss\" or \"%sms\")", s, s, s)
	}
	return 0, fmt.Errorf("want a duration such as \"8s\", \"500ms\" or \"1m30s\", got %q", s)
}

// splitList splits comma-separated text, trims each entry and drops empty
// ones, so "a, b," is ["a" "b"] and "" is an empty list.
func splitList(s string) []string {
	out := []string{}
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// formatValue prints a value the way Describe shows it: strings quoted,
// lists as TOML arrays, durations in Go notation.
func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case Mode:
		return strconv.Quote(string(v))
	case []string:
		q := make([]string, len(v))
		for i, e := range v {
			q[i] = strconv.Quote(e)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case time.Duration:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}
