package config

import (
	"strings"
	"testing"
	"time"
)

// validConfig returns a configuration that passes Validate.
func validConfig() *Config {
	c, _ := defaults(ModeCollector, "/tmp")
	c.Hostname = "mx.example.org"
	return c
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
	}{
		{"defaults", func(c *Config) {}},
		{"every listen form", func(c *Config) {
			c.Listen = []string{":25", "0.0.0.0:2525", "[::]:2526", "[::1]:0", "localhost:65535", "127.0.0.1:587"}
		}},
		{"zero tolerances", func(c *Config) { c.MaxSMTPErrors, c.MaxSMTPNoop, c.MaxSMTPVrfy, c.MaxMessages = 0, 0, 0, 0 }},
		{"zero delays", func(c *Config) { c.BannerDelay, c.ErrorDelay, c.ErrorDelayMax, c.ShutdownGrace = 0, 0, 0, 0 }},
		{"smallest data size", func(c *Config) { c.MaxDataSize = 1024 }},
		{"temp fail with storage", func(c *Config) { c.DoTempFail, c.StoreData = true, true }},
		{"temp fail without storage", func(c *Config) { c.DoTempFail, c.StoreData = true, false }},
		{"no store path when not storing", func(c *Config) { c.StoreData, c.StorePath = false, "" }},
		{"provider syntaxes", func(c *Config) {
			c.RBLProviders = []string{"zen.spamhaus.org", "zen.spamhaus.org=127.0.0.[2..11]", "bl.spamcop.net*3"}
			c.RWLProviders = []string{"list.dnswl.org=127.0.[0..255].[1..3]*-2"}
		}},
		{"weight on a filtered entry", func(c *Config) { c.RBLProviders = []string{"zen.spamhaus.org=127.0.0.[2;4..7]*3"} }},
		// greylist.New only sees the timings when greylisting is on.
		{"greylist off ignores its timings", func(c *Config) { c.Greylist, c.GreylistDelay = false, 5*time.Hour }},
		{"greylist delay under expire", func(c *Config) {
			c.Greylist, c.GreylistDelay, c.GreylistExpire = true, 4*time.Hour-time.Second, 4*time.Hour
		}},
		{"single-label host", func(c *Config) { c.Hostname = "localhost" }},
		{"trailing dot", func(c *Config) { c.Hostname = "mx.example.org." }},
		{"ipv4 literal", func(c *Config) { c.Hostname = "[192.0.2.1]" }},
		{"ipv6 literal", func(c *Config) { c.Hostname = "[IPv6:2001:db8::1]" }},
		{"digits", func(c *Config) { c.Hostname = "192.0.2.1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(c)
			if probs := c.Validate(); probs != nil {
				t.Errorf("Validate() = %v, want none", probs)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"no listen", func(c *Config) { c.Listen = nil }, []string{"listen = []: want at least one"}},
		{"missing port", func(c *Config) { c.Listen = []string{"127.0.0.1"} }, []string{`"127.0.0.1": want "host:port"`, "missing port in address"}},
		{"named port", func(c *Config) { c.Listen = []string{":smtp"} }, []string{`port "smtp" is not a number`}},
		{"port too big", func(c *Config) { c.Listen = []string{":65536"} }, []string{`port "65536"`}},
		{"negative port", func(c *Config) { c.Listen = []string{":-1"} }, []string{`port "-1"`}},
		{"unbracketed ipv6", func(c *Config) { c.Listen = []string{"::1:25"} }, []string{"too many colons"}},
		{"duplicate", func(c *Config) { c.Listen = []string{":25", ":25"} }, []string{`":25" is listed twice`}},
		{"empty entry", func(c *Config) { c.Listen = []string{""} }, []string{`"": want "host:port"`}},
		{"zero receive timeout", func(c *Config) { c.ReceiveTimeout = 0 }, []string{"receive_timeout = 0s: must be positive"}},
		{"negative delays", func(c *Config) {
			c.BannerDelay, c.ErrorDelay, c.ErrorDelayMax, c.ShutdownGrace = -1, -time.Second, -1, -1
		}, []string{"banner_delay = -1ns", "error_delay = -1s", "error_delay_max", "shutdown_grace"}},
		{"negative counts", func(c *Config) { c.MaxSMTPErrors, c.MaxSMTPNoop, c.MaxSMTPVrfy, c.MaxMessages = -1, -1, -1, -1 },
			[]string{"max_smtp_errors = -1: must be at least 0", "max_smtp_noop", "max_smtp_vrfy", "max_messages"}},
		{"zero sessions and rcpt", func(c *Config) { c.MaxSessions, c.MaxSMTPRcpt = 0, 0 },
			[]string{"max_sessions = 0: must be at least 1", "max_smtp_rcpt = 0: must be at least 1"}},
		{"tiny data size", func(c *Config) { c.MaxDataSize = 1023 }, []string{"max_data_size = 1023: must be at least 1024 bytes"}},
		{"empty hostname", func(c *Config) { c.Hostname = "" }, []string{`hostname = "": empty`}},
		{"hostname with space", func(c *Config) { c.Hostname = "my host" }, []string{"not a domain name"}},
		{"hostname underscore", func(c *Config) { c.Hostname = "my_pc" }, []string{"not a domain name"}},
		{"hostname leading hyphen", func(c *Config) { c.Hostname = "-mx.example" }, []string{"not a domain name"}},
		{"hostname empty label", func(c *Config) { c.Hostname = "mx..example" }, []string{"not a domain name"}},
		{"hostname long label", func(c *Config) { c.Hostname = strings.Repeat("a", 64) + ".example" }, []string{"not a domain name"}},
		{"bare ipv6", func(c *Config) { c.Hostname = "2001:db8::1" }, []string{"not a domain name"}},
		{"ipv6 literal without tag", func(c *Config) { c.Hostname = "[2001:db8::1]" }, []string{"not a domain name"}},
		{"ipv4 in ipv6 tag", func(c *Config) { c.Hostname = "[IPv6:192.0.2.1]" }, []string{"not a domain name"}},
		{"no store path", func(c *Config) { c.StorePath = " " }, []string{"store_path", "empty while store_data is on"}},
		{"provider space", func(c *Config) { c.RBLProviders = []string{"zen.spamhaus.org *3"} }, []string{`rbl_providers`, "contains white space"}},
		{"provider empty", func(c *Config) { c.RWLProviders = []string{""} }, []string{`rwl_providers = [""]: "": empty entry`}},
		// Entries dnsbl.ParseEntry refuses, so serve would not start.
		{"provider unclosed filter bracket", func(c *Config) { c.RBLProviders = []string{"zen.spamhaus.org=127.0.0.[2..11*3"} },
			[]string{`rbl_providers = ["zen.spamhaus.org=127.0.0.[2..11*3"]: "zen.spamhaus.org=127.0.0.[2..11*3": filter "127.0.0.[2..11": bad octet "[2..11"`}},
		{"provider word weight", func(c *Config) { c.RWLProviders = []string{"list.dnswl.org*minus3"} },
			[]string{`rwl_providers = ["list.dnswl.org*minus3"]: "list.dnswl.org*minus3": bad weight "minus3"`}},
		{"provider three-octet filter", func(c *Config) { c.RBLProviders = []string{"zen.spamhaus.org=127.0.2"} },
			[]string{`rbl_providers`, `want four octets`}},
		{"provider no zone", func(c *Config) { c.RBLProviders = []string{"=127.0.0.2"} }, []string{`rbl_providers`, "bad zone"}},
		{"greylist delay equals expire", func(c *Config) {
			c.Greylist, c.GreylistDelay, c.GreylistExpire = true, 4*time.Hour, 4*time.Hour
		}, []string{"greylist_delay = 4h0m0s: not shorter than greylist_expire = 4h0m0s"}},
		{"greylist delay over expire", func(c *Config) { c.Greylist, c.GreylistDelay = true, 5*time.Hour },
			[]string{"greylist_delay = 5h0m0s: not shorter than greylist_expire = 4h0m0s: no retry could ever pass"}},
		{"unknown mode", func(c *Config) { c.Mode = "prod" }, []string{`mode = "prod": unknown mode`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(c)
			probs := c.Validate()
			containsAll(t, probs, tt.want...)
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	c := validConfig()
	c.Listen = []string{"nope"}
	c.ReceiveTimeout = 0
	c.MaxSessions = 0
	c.MaxDataSize = 1
	c.Hostname = "bad host"
	if probs := c.Validate(); len(probs) != 5 {
		t.Errorf("got %d problems, want 5:\n%v", len(probs), probs)
	}
}
