package config

import (
	"net/url"
	"slices"
	"time"
)

// Delivery is the part of Config that says where accepted messages go.
type Delivery struct {
	// Outputs lists them (key outputs): "eml" (the store's files),
	// "pickup" (an IIS/Exchange pickup folder), "maildir".
	Outputs []string
	// PickupPath is the pickup folder (key pickup_path).
	PickupPath string
	// MaildirPath is the Maildir, or the root of one per recipient (key
	// maildir_path).
	MaildirPath string
	// MaildirPerRecipient delivers into <maildir_path>/<domain>/<local>
	// per recipient (key maildir_per_recipient).
	MaildirPerRecipient bool

	// OnMessageExec is a command run per stored message (key
	// on_message_exec), through /bin/sh -c; its environment names the
	// message (FAKESMTP_PATH, FAKESMTP_ID, ...).
	OnMessageExec string
	// OnMessageExecStdin feeds the message to the command's stdin (key
	// on_message_exec_stdin).
	OnMessageExecStdin bool
	// OnMessageWebhook is a URL that gets a POST of a JSON summary per
	// stored message (key on_message_webhook).
	OnMessageWebhook string
	// HookConcurrency, HookTimeout and HookAttempts bound the hooks (keys
	// hook_concurrency, hook_timeout, hook_attempts).
	HookConcurrency int
	HookTimeout     time.Duration
	HookAttempts    int

	// MaxStoreSize, MaxStoreAge and MaxStoreMessages bound the store
	// (keys max_store_size in bytes, max_store_age, max_store_messages);
	// 0 is no bound. The oldest messages go first, pruned in the
	// background.
	MaxStoreSize     int64
	MaxStoreAge      time.Duration
	MaxStoreMessages int

	// Compress is "none" or "zstd": stored files are compressed once
	// settled (key compress). Dedup stores each distinct message body
	// once, by content hash (key dedup). CompactAfter is how long a file
	// stays plain first (key compact_after), for hooks and outputs.
	Compress     string
	Dedup        bool
	CompactAfter time.Duration
}

// Has reports whether output o is configured.
func (o Delivery) Has(out string) bool { return slices.Contains(o.Outputs, out) }

var outputKeys = []keyDef{
	{Key{Name: "outputs", Kind: KindList, Help: `where accepted mail goes: "eml" (store files), "pickup", "maildir", "relay" (smarthost, queued)`},
		func(c *Config) any { return &c.Outputs }},
	{Key{Name: "pickup_path", Kind: KindPath, Help: "IIS/Exchange-style pickup folder for the pickup output"},
		func(c *Config) any { return &c.PickupPath }},
	{Key{Name: "maildir_path", Kind: KindPath, Help: "Maildir (or root of one per recipient) for the maildir output"},
		func(c *Config) any { return &c.MaildirPath }},
	{Key{Name: "maildir_per_recipient", Kind: KindBool, Help: "one Maildir per recipient, <maildir_path>/<domain>/<local>"},
		func(c *Config) any { return &c.MaildirPerRecipient }},
	{Key{Name: "on_message_exec", Kind: KindString, Help: "command run per stored message (/bin/sh -c; FAKESMTP_PATH, FAKESMTP_ID, ... in its environment)"},
		func(c *Config) any { return &c.OnMessageExec }},
	{Key{Name: "on_message_exec_stdin", Kind: KindBool, Help: "feed the message to on_message_exec's stdin"},
		func(c *Config) any { return &c.OnMessageExecStdin }},
	{Key{Name: "on_message_webhook", Kind: KindString, Help: "URL that gets a POST of a JSON summary per stored message"},
		func(c *Config) any { return &c.OnMessageWebhook }},
	{Key{Name: "hook_concurrency", Kind: KindInt, Help: "hooks running at once"},
		func(c *Config) any { return &c.HookConcurrency }},
	{Key{Name: "hook_timeout", Kind: KindDuration, Help: "time allowed to one hook run"},
		func(c *Config) any { return &c.HookTimeout }},
	{Key{Name: "hook_attempts", Kind: KindInt, Help: "tries of a failing hook in all"},
		func(c *Config) any { return &c.HookAttempts }},
	{Key{Name: "max_store_size", Kind: KindInt, Help: "bytes of stored messages kept, oldest pruned first (0 = no bound)"},
		func(c *Config) any { return &c.MaxStoreSize }},
	{Key{Name: "max_store_age", Kind: KindDuration, Help: `age of stored messages kept, e.g. "30d" (0 = no bound)`},
		func(c *Config) any { return &c.MaxStoreAge }},
	{Key{Name: "max_store_messages", Kind: KindInt, Help: "stored messages kept, oldest pruned first (0 = no bound)"},
		func(c *Config) any { return &c.MaxStoreMessages }},
	{Key{Name: "compress", Kind: KindString, Help: `"zstd" compresses stored files once settled; "none"`},
		func(c *Config) any { return &c.Compress }},
	{Key{Name: "dedup", Kind: KindBool, Help: "store each distinct message body once (content hash); every envelope is kept"},
		func(c *Config) any { return &c.Dedup }},
	{Key{Name: "compact_after", Kind: KindDuration, Help: "age at which a stored file is compressed/deduplicated"},
		func(c *Config) any { return &c.CompactAfter }},
}

// validateOutputs adds the problems of the output keys.
func (c *Config) validateOutputs(bad func(key string, value any, format string, args ...any)) {
	if len(c.Outputs) == 0 {
		bad("outputs", c.Outputs, `want at least one of "eml", "pickup", "maildir", "relay"`)
	}
	for _, o := range c.Outputs {
		switch o {
		case "eml", "pickup", "maildir", "relay":
		default:
			bad("outputs", c.Outputs, `%q is no output (want "eml", "pickup", "maildir" or "relay")`, o)
		}
	}
	if c.Has("pickup") && c.PickupPath == "" {
		bad("pickup_path", c.PickupPath, "empty while outputs has pickup")
	}
	if c.Has("maildir") && c.MaildirPath == "" {
		bad("maildir_path", c.MaildirPath, "empty while outputs has maildir")
	}
	if c.OnMessageWebhook != "" {
		if u, err := url.Parse(c.OnMessageWebhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("on_message_webhook", c.OnMessageWebhook, "not an http(s) URL")
		}
	}
	if (c.OnMessageExec != "" || c.OnMessageWebhook != "") && (!c.StoreData || !c.Has("eml")) {
		bad("on_message_exec", c.OnMessageExec, `hooks need store_data on and "eml" among outputs`)
	}
	if c.HookConcurrency < 1 || c.HookAttempts < 1 || c.HookTimeout <= 0 {
		bad("hook_concurrency", c.HookConcurrency, "hook_concurrency and hook_attempts must be at least 1, hook_timeout positive")
	}
	if c.MaxStoreSize < 0 || c.MaxStoreAge < 0 || c.MaxStoreMessages < 0 {
		bad("max_store_size", c.MaxStoreSize, "max_store_size, max_store_age and max_store_messages must not be negative")
	}
	if c.Compress != "none" && c.Compress != "zstd" {
		bad("compress", c.Compress, `want "none" or "zstd"`)
	}
	if c.CompactAfter < 0 {
		bad("compact_after", c.CompactAfter, "must not be negative")
	}
	if (c.Has("pickup") || c.Has("maildir")) && !c.StoreData {
		bad("outputs", c.Outputs, "pickup and maildir need store_data on")
	}
}

// Hook defaults: a few at once, half a minute each, three tries.
const (
	defaultHookConcurrency = 4
	defaultHookTimeout     = 30 * time.Second
	defaultHookAttempts    = 3
)

func defaultDelivery() Delivery {
	return Delivery{Outputs: []string{"eml"}, HookConcurrency: defaultHookConcurrency,
		HookTimeout: defaultHookTimeout, HookAttempts: defaultHookAttempts, Compress: "none", CompactAfter: time.Minute}
}
