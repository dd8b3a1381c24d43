package config

import (
	"reflect"
	"testing"
	"time"
)

func TestEnvKinds(t *testing.T) {
	tests := []struct {
		env   string
		check func(c *Config) bool
	}{
		// mode
		{"FAKESMTP_MODE=collector", func(c *Config) bool { return c.Mode == ModeCollector }},
		{"FAKESMTP_MODE= FakeMX ", func(c *Config) bool { return c.Mode == ModeFakeMX }},
		// string
		{"FAKESMTP_HOSTNAME=mx.example.org", func(c *Config) bool { return c.Hostname == "mx.example.org" }},
		// list
		{"FAKESMTP_LISTEN=127.0.0.1:2525,[::1]:2526", func(c *Config) bool {
			return reflect.DeepEqual(c.Listen, []string{"127.0.0.1:2525", "[::1]:2526"})
		}},
		{"FAKESMTP_RBL_PROVIDERS= zen.spamhaus.org*3 , ,bl.spamcop.net", func(c *Config) bool {
			return reflect.DeepEqual(c.RBLProviders, []string{"zen.spamhaus.org*3", "bl.spamcop.net"})
		}},
		{"FAKESMTP_RWL_PROVIDERS=", func(c *Config) bool { return len(c.RWLProviders) == 0 }},
		// duration
		{"FAKESMTP_RECEIVE_TIMEOUT=1m30s", func(c *Config) bool { return c.ReceiveTimeout == 90*time.Second }},
		{"FAKESMTP_BANNER_DELAY=0", func(c *Config) bool { return c.BannerDelay == 0 }},
		// int and int64
		{"FAKESMTP_MAX_SMTP_ERRORS=9", func(c *Config) bool { return c.MaxSMTPErrors == 9 }},
		{"FAKESMTP_MAX_DATA_SIZE=10485760", func(c *Config) bool { return c.MaxDataSize == 10<<20 }},
		// bool
		{"FAKESMTP_FSYNC=false", func(c *Config) bool { return !c.Fsync }},
		{"FAKESMTP_DO_TEMP_FAIL=TRUE", func(c *Config) bool { return c.DoTempFail }},
		{"FAKESMTP_STRICT_LINE_ENDINGS=1", func(c *Config) bool { return c.StrictLineEndings }},
		// path: "" clears a value set under it
		{"FAKESMTP_LOG_PATH=/var/log/f.log", func(c *Config) bool { return c.LogPath == "/var/log/f.log" }},
		{"FAKESMTP_LOCAL_DOMAINS=", func(c *Config) bool { return c.LocalDomains == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			opts := baseOpts()
			opts.Env = []string{"HOME=/root", tt.env}
			c, p := mustLoad(t, opts)
			if !tt.check(c) {
				t.Errorf("wrong value: %+v", c)
			}
			sources := 0
			for _, s := range p {
				if s == SourceEnv {
					sources++
				}
			}
			if sources != 1 {
				t.Errorf("%d keys from env, want 1: %v", sources, p)
			}
		})
	}
}

func TestEnvProblems(t *testing.T) {
	tests := []struct {
		env  string
		want string // "" = no problem
	}{
		{"FAKESMTP_MAX_SESSIONS=lots", `env FAKESMTP_MAX_SESSIONS: want an integer, got "lots"`},
		{"FAKESMTP_RECEIVE_TIMEOUT=8", `env FAKESMTP_RECEIVE_TIMEOUT: want a duration with a unit, got "8" (write "8s" or "8ms")`},
		{"FAKESMTP_FSYNC=perhaps", `env FAKESMTP_FSYNC: want true or false`},
		{"FAKESMTP_MODE=prod", `env FAKESMTP_MODE: unknown mode "prod"`},
		{"FAKESMTP_MAX_SMTP_ERROR=3", "env FAKESMTP_MAX_SMTP_ERROR: unknown variable (did you mean FAKESMTP_MAX_SMTP_ERRORS?)"},
		{"FAKESMTP_MAX_SESSIONS=0", "max_sessions = 0, from env FAKESMTP_MAX_SESSIONS: must be at least 1"},
		{"FAKESMTP_GREYLIST_PASS_TTL=213504d", `env FAKESMTP_GREYLIST_PASS_TTL: "213504d" is too long: at most 106751d`},
		// Unrelated variables sharing the prefix are left to their owners.
		{"FAKESMTP_BINARY=/usr/bin/fakesmtp", ""},
		{"fakesmtp_max_sessions=x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			opts := baseOpts()
			opts.Env = []string{tt.env}
			_, _, err := Load(opts)
			if tt.want == "" {
				if err != nil {
					t.Errorf("unexpected problems: %v", err)
				}
				return
			}
			containsAll(t, problemsOf(t, err), tt.want)
		})
	}
}

func TestEnvFirstDuplicateWins(t *testing.T) {
	opts := baseOpts()
	opts.Env = []string{"FAKESMTP_MAX_SESSIONS=3", "FAKESMTP_MAX_SESSIONS=4"}
	c, _ := mustLoad(t, opts)
	if c.MaxSessions != 3 {
		t.Errorf("max_sessions = %d, want 3 (as os.Getenv)", c.MaxSessions)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("max_smtp_errors"); got != "FAKESMTP_MAX_SMTP_ERRORS" {
		t.Errorf("EnvName = %q", got)
	}
}
