package config

import (
	"net"
	"path/filepath"
)

// Web is the part of Config for the HTTP side: the message index, the
// REST API and web UI, and the metrics.
type Web struct {
	// HTTPListen is the address of the API, the web UI, /metrics and the
	// health checks (key http_listen); "" turns the HTTP side off.
	HTTPListen string
	// HTTPTLS serves HTTPS with the SMTP certificate (tls_cert/tls_key,
	// or dev mode's self-signed one) (key http_tls).
	HTTPTLS bool
	// HTTPAuthFile is an htpasswd file of user:bcrypt-hash lines; when
	// set, every page but the health checks needs basic auth (key
	// http_auth_file).
	HTTPAuthFile string
	// HTTPAllowedHosts are the names, besides IP addresses, localhost,
	// hostname and the machine's name, that requests to the HTTP side
	// may give in Host; "*" allows any (key http_allowed_hosts). Other
	// names are refused: the defence against DNS rebinding.
	HTTPAllowedHosts []string
	// Index keeps the SQLite message index (key index); the web UI's
	// lists and searches need it.
	Index bool
	// IndexPath is the SQLite file (key index_path); "" is
	// <store_path>/index.db.
	IndexPath string
	// Transcript records each session's dialogue for the web UI (key
	// transcript); never message content or AUTH secrets.
	Transcript bool
}

// Web defaults: the UI on Mailpit's port, on loopback only.
const (
	defaultHTTPListen = "127.0.0.1:8025"
	defaultIndex      = true
)

func defaultWeb() Web {
	return Web{HTTPListen: defaultHTTPListen, Index: defaultIndex}
}

var webKeys = []keyDef{
	{Key{Name: "http_listen", Kind: KindString, Help: `address of the web UI, REST API, /metrics and health checks ("" = off)`},
		func(c *Config) any { return &c.HTTPListen }},
	{Key{Name: "http_tls", Kind: KindBool, Help: "serve HTTPS with the SMTP certificate"},
		func(c *Config) any { return &c.HTTPTLS }},
	{Key{Name: "http_auth_file", Kind: KindPath, Help: "htpasswd -B file; basic auth for the web UI and API"},
		func(c *Config) any { return &c.HTTPAuthFile }},
	{Key{Name: "http_allowed_hosts", Kind: KindList, Help: `further host names the web UI and API answer to (addresses, one-label names, private TLDs and hostname always work; "*" = any)`},
		func(c *Config) any { return &c.HTTPAllowedHosts }},
	{Key{Name: "index", Kind: KindBool, Help: "keep the SQLite message index (lists and searches of the web UI)"},
		func(c *Config) any { return &c.Index }},
	{Key{Name: "index_path", Kind: KindPath, Help: "SQLite index file (default <store_path>/index.db)"},
		func(c *Config) any { return &c.IndexPath }},
	{Key{Name: "transcript", Kind: KindBool, Help: "record each session's dialogue for the web UI (no content, no AUTH secrets)"},
		func(c *Config) any { return &c.Transcript }},
}

// IndexFile returns the index's SQLite file.
func (c *Config) IndexFile() string {
	if c.IndexPath != "" {
		return c.IndexPath
	}
	return filepath.Join(c.StorePath, "index.db")
}

// validateWeb adds the problems of the web keys.
func (c *Config) validateWeb(bad func(key string, value any, format string, args ...any)) {
	if c.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
			bad("http_listen", c.HTTPListen, `want "host:port", e.g. "127.0.0.1:8025"`)
		}
	}
	if c.HTTPTLS && c.HTTPListen == "" {
		bad("http_tls", c.HTTPTLS, "http_listen is empty")
	}
}
