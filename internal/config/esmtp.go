package config

// ESMTP is the part of Config for the SMTP extensions that need settings.
type ESMTP struct {
	// TLSCert and TLSKey are PEM files of the certificate (chain) and its
	// key (keys tls_cert, tls_key). Without them STARTTLS is offered only
	// in dev mode, with a self-signed certificate made at start.
	TLSCert string
	TLSKey  string
	// TLSRequired refuses MAIL before STARTTLS with 530 5.7.0 (key
	// tls_required).
	TLSRequired bool
	// TLSListen are implicit-TLS listeners, RFC 8314 (key tls_listen),
	// e.g. [":465"].
	TLSListen []string
	// STARTTLS offers STARTTLS when a certificate is at hand (key
	// starttls). Turn it off for test clients that upgrade whenever they
	// can and refuse the dev mode's self-signed certificate (Go's
	// net/smtp.SendMail, nodemailer without ignoreTLS).
	STARTTLS bool

	// Auth is the AUTH policy (key auth, RFC 4954): "off", "any" (every
	// credential is accepted and shown: a dev receiver), or "users"
	// (checked against AuthUsersFile).
	Auth string
	// AuthUsersFile is an htpasswd -B file of user:bcrypt-hash lines (key
	// auth_users_file).
	AuthUsersFile string
	// AuthRequired refuses MAIL without AUTH with 530 5.7.0 (key
	// auth_required).
	AuthRequired bool
	// AuthAllowInsecure offers AUTH without TLS too (key
	// auth_allow_insecure).
	AuthAllowInsecure bool
	// Chunking offers CHUNKING/BDAT and BINARYMIME, RFC 3030 (key
	// chunking). The collector and fake MX presets turn it off: a second
	// way to frame a message is a second thing for a bot to probe
	// (antispam.md 4.1).
	Chunking bool
	// EHLO is "accept", or "reject" to answer EHLO with 502 so that
	// clients must fall back to HELO: for testing old clients (key ehlo).
	EHLO string
}

func defaultESMTP() ESMTP {
	return ESMTP{TLSListen: []string{}, STARTTLS: true, Auth: "off", Chunking: true, EHLO: "accept"}
}

// esmtpKeys are the keys of ESMTP, in documentation order.
var esmtpKeys = []keyDef{
	{Key{Name: "tls_cert", Kind: KindPath, Help: "PEM certificate (chain) for STARTTLS and tls_listen"},
		func(c *Config) any { return &c.TLSCert }},
	{Key{Name: "tls_key", Kind: KindPath, Help: "PEM private key of tls_cert"},
		func(c *Config) any { return &c.TLSKey }},
	{Key{Name: "tls_required", Kind: KindBool, Help: "refuse MAIL before STARTTLS (530 5.7.0)"},
		func(c *Config) any { return &c.TLSRequired }},
	{Key{Name: "tls_listen", Kind: KindList, Help: `implicit-TLS (SMTPS, RFC 8314) listeners, e.g. [":465"]`},
		func(c *Config) any { return &c.TLSListen }},
	{Key{Name: "starttls", Kind: KindBool, Help: "offer STARTTLS when a certificate is at hand (dev mode makes a self-signed one)"},
		func(c *Config) any { return &c.STARTTLS }},
	{Key{Name: "auth", Kind: KindString, Help: `AUTH: "off", "any" (accept and show every credential) or "users" (auth_users_file)`},
		func(c *Config) any { return &c.Auth }},
	{Key{Name: "auth_users_file", Kind: KindPath, Help: "htpasswd -B file of user:bcrypt-hash lines for auth = \"users\""},
		func(c *Config) any { return &c.AuthUsersFile }},
	{Key{Name: "auth_required", Kind: KindBool, Help: "refuse MAIL without AUTH (530 5.7.0)"},
		func(c *Config) any { return &c.AuthRequired }},
	{Key{Name: "auth_allow_insecure", Kind: KindBool, Help: "offer AUTH without TLS too"},
		func(c *Config) any { return &c.AuthAllowInsecure }},
	{Key{Name: "chunking", Kind: KindBool, Help: "offer CHUNKING (BDAT) and BINARYMIME, RFC 3030"},
		func(c *Config) any { return &c.Chunking }},
	{Key{Name: "ehlo", Kind: KindString, Help: `"accept", or "reject" (502) so clients must fall back to HELO`},
		func(c *Config) any { return &c.EHLO }},
}

// validateESMTP adds the problems of the extension keys.
func (c *Config) validateESMTP(bad func(key string, value any, format string, args ...any)) {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls_key", c.TLSKey, "tls_cert and tls_key go together")
	}
	for _, l := range c.TLSListen {
		if err := checkListen(l); err != nil {
			bad("tls_listen", c.TLSListen, "%q: %v", l, err)
		}
		for _, p := range c.Listen {
			if p == l {
				bad("tls_listen", c.TLSListen, "%q is also in listen", l)
			}
		}
	}
	if c.TLSRequired && c.TLSCert == "" && c.Mode != ModeDev {
		bad("tls_required", c.TLSRequired, "needs tls_cert and tls_key (only dev mode makes a certificate itself)")
	}
	switch c.Auth {
	case "off", "any":
	case "users":
		if c.AuthUsersFile == "" {
			bad("auth_users_file", c.AuthUsersFile, `empty while auth = "users"`)
		}
	default:
		bad("auth", c.Auth, `want "off", "any" or "users"`)
	}
	if c.EHLO != "accept" && c.EHLO != "reject" {
		bad("ehlo", c.EHLO, `want "accept" or "reject"`)
	}
	if c.AuthRequired && c.Auth == "off" {
		bad("auth_required", c.AuthRequired, `needs auth = "any" or "users"`)
	}
	if len(c.TLSListen) > 0 && c.TLSCert == "" && c.Mode != ModeDev {
		bad("tls_listen", c.TLSListen, "needs tls_cert and tls_key (only dev mode makes a certificate itself)")
	}
}
