package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTOMLExampleFile(t *testing.T) {
	// testdata/fakesmtp.toml is shown in the README: it must load cleanly,
	// and name every key so readers see them all.
	opts := baseOpts()
	opts.File = "testdata/fakesmtp.toml"
	c, p := mustLoad(t, opts)
	want := &Config{
		Mode:           ModeCollector,
		Hostname:       "mx1.example.net",
		Listen:         []string{":25", "[::1]:2525"},
		ReceiveTimeout: 8 * time.Second,
		MaxSMTPErrors:  4,
		MaxSMTPNoop:    7,
		MaxSMTPVrfy:    10,
		MaxSMTPRcpt:    100,
		MaxMessages:    10,
		MaxSessions:    16,
		StoreData:      true,
		StorePath:      "/var/lib/fakesmtp/spool",
		MaxDataSize:    2097152,
		LogPath:        "/var/log/fakesmtp",
		BannerDelay:    time.Second,
		ErrorDelay:     500 * time.Millisecond,
		ErrorDelayMax:  30 * time.Second,
		DoEarlyTalk:    true,
		RWLProviders:   []string{"list.dnswl.org=127.0.[0..255].[1..3]"},
		RBLProviders:   []string{"zen.spamhaus.org*3", "bl.spamcop.net"},
		ShutdownGrace:  10 * time.Second,
		Fsync:          true,
		Screening: Screening{
			DNSResolver: "127.0.0.1:53", DNSTimeout: 3 * time.Second, DNSBLThreshold: 3, DNSWLThreshold: -1,
			DNSBLReply: "421", ProxyProtocol: true, ProxyTrusted: []string{"10.0.0.0/8", "192.0.2.10"},
			EarlyTalkAction: "enforce", BannerTeaser: true, MaxSessionsPerIP: 4, MaxConnectionsPerMinutePerIP: 30,
			Tarpit: "stutter", StutterInterval: time.Second, MaxTarpitted: 10000, TarpitMaxTime: 10 * time.Minute,
			TrapMailboxes: "/etc/fakesmtp/traps", TrapUnknownDomains: true, TrapTTL: 24 * time.Hour,
			TrapState: "/var/lib/fakesmtp/traps.json", TrapListFile: "/var/lib/fakesmtp/trapped",
			DNSBLServe: "127.0.0.1:5353", DNSBLZone: "trap.example.net",
			GreylistDelay: 5 * time.Minute, GreylistExpire: 4 * time.Hour, GreylistPassTTL: 36 * 24 * time.Hour,
			GreylistState: "/var/lib/fakesmtp/greylist.db",
		},
		ESMTP: ESMTP{TLSCert: "/etc/fakesmtp/cert.pem", TLSKey: "/etc/fakesmtp/key.pem", TLSRequired: false, TLSListen: []string{":465"}, STARTTLS: true,
			Auth: "users", AuthUsersFile: "/etc/fakesmtp/users", AuthRequired: true, AuthAllowInsecure: false, Chunking: false, EHLO: "accept"},
		Delivery: Delivery{Outputs: []string{"eml", "pickup"}, PickupPath: "C:/inetpub/mailroot/Pickup", MaildirPath: "/var/mail/fakesmtp",
			OnMessageExec: "sa-learn --spam \"$FAKESMTP_PATH\"", OnMessageWebhook: "http://127.0.0.1:8080/hook",
			HookConcurrency: 4, HookTimeout: 30 * time.Second, HookAttempts: 3,
			MaxStoreSize: 10737418240, MaxStoreAge: 30 * 24 * time.Hour, MaxStoreMessages: 0,
			Compress: "zstd", Dedup: true, CompactAfter: 10 * time.Minute},
		Relay: Relay{RelayHost: "smtp.example.net", RelayPort: 587, RelayTLS: "starttls-required", RelayTLSCAFile: "/etc/ssl/certs/ca-certificates.crt",
			RelayAuthUser: "fakesmtp", RelayAuthPasswordFile: "/etc/fakesmtp/relay-password", RelayMatch: []string{"example.org", ".example.org"},
			RelaySender: "bounces@example.org", RelayQueuePath: "/var/lib/fakesmtp/queue", RelayRetrySchedule: []string{"1m", "5m", "15m", "1h"},
			RelayMaxAge: 5 * 24 * time.Hour, RelayWorkers: 4, RelayTimeout: 5 * time.Minute},
		Web: Web{HTTPListen: "127.0.0.1:8025", HTTPTLS: true, HTTPAuthFile: "/etc/fakesmtp/htpasswd",
			HTTPAllowedHosts: []string{"mail.example.org"}, Index: true,
			IndexPath: "/var/lib/fakesmtp/index.db", Transcript: true},
		File: "testdata/fakesmtp.toml",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", c, want)
	}
	data, err := os.ReadFile(opts.File)
	if err != nil {
		t.Fatal(err)
	}
	lines := keyLines(data)
	for _, k := range Keys() {
		if p[k.Name] != SourceFile {
			t.Errorf("key %s: source %s, want file", k.Name, p[k.Name])
		}
		// Each key is preceded by its comment.
		all := strings.Split(string(data), "\n")
		if n := lines[k.Name]; n < 2 || !strings.HasPrefix(all[n-2], "#") {
			t.Errorf("key %s (line %d) has no comment above it", k.Name, n)
		}
	}
}

func TestTOMLThreeProblems(t *testing.T) {
	opts := baseOpts()
	opts.File = writeFile(t, "bad.toml", strings.Join([]string{
		`hostname = "mx.example.org"`,
		`max_smtp_error = 3`,
		`receive_timeout = 8`,
		`store_data = "yes"`,
		`max_sessions = 5`,
	}, "\n"))
	_, _, err := Load(opts)
	probs := problemsOf(t, err)
	if len(probs) != 3 {
		t.Fatalf("got %d problems, want 3:\n%v", len(probs), probs)
	}
	wants := []string{
		`bad.toml:2: unknown key "max_smtp_error" (did you mean "max_smtp_errors"?)`,
		`bad.toml:3: receive_timeout: want a duration string, got the number 8 (write receive_timeout = "8s")`,
		`bad.toml:4: store_data: want true or false, got string "yes"`,
	}
	for i, w := range wants {
		if !strings.HasSuffix(probs[i], w) {
			t.Errorf("problem %d = %q, want suffix %q", i, probs[i], w)
		}
	}
}

func TestTOMLProblems(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"unknown key far from any", "colour = 1\n", `unknown key "colour"`},
		{"typo", "lisen = [\":25\"]\n", `(did you mean "listen"?)`},
		{"legacy CamelCase", "MaxSmtpErrors = 3\n", `:1: unknown key "MaxSmtpErrors" (did you mean "max_smtp_errors"?)`},
		{"legacy listen port", "ListenPort = 25\n", `(did you mean "listen"?)`},
		{"dashes", "max-sessions = 3\n", `(did you mean "max_sessions"?)`},
		{"table", "x = 1\n[smtp]\nlisten = \":25\"\n", `:2: unknown key "smtp"`},
		{"int as string", "max_sessions = \"16\"\n", `max_sessions: want an integer, got string "16"`},
		{"float int", "max_data_size = 1e6\n", "max_data_size: want an integer, got float 1e+06"},
		{"bad duration text", "banner_delay = \"1 second\"\n", `banner_delay: want a duration such as "8s"`},
		{"bool duration", "error_delay = true\n", "error_delay: want a duration string"},
		{"list of ints", "listen = [25]\n", "listen: element 0: want a string, got integer 25"},
		{"list as table", "rbl_providers = {a = 1}\n", "rbl_providers: want a string or an array of strings, got table"},
		{"mode not string", "mode = 1\n", "mode: want a mode string, got integer 1"},
		{"mode unknown", "mode = \"prod\"\n", `mode: unknown mode "prod"`},
		{"bool as int", "fsync = 1\n", "fsync: want true or false, got integer 1"},
		{"path as bool", "log_path = false\n", "log_path: want a string, got boolean false"},
		{"syntax", "listen = [\":25\"\nx = 1\n", "toml:"},
		{"duplicate", "fsync = true\nfsync = false\n", ":2: toml:"},
		{"datetime", "hostname = 1979-05-27\n", "hostname: want a string, got datetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts()
			opts.File = writeFile(t, "c.toml", tt.content)
			_, _, err := Load(opts)
			containsAll(t, problemsOf(t, err), tt.want)
		})
	}
}

func TestTOMLValues(t *testing.T) {
	tests := []struct {
		content string
		check   func(c *Config) bool
	}{
		{`listen = "127.0.0.1:25"`, func(c *Config) bool { return reflect.DeepEqual(c.Listen, []string{"127.0.0.1:25"}) }},
		{`listen = "127.0.0.1:25, [::1]:25"`, func(c *Config) bool { return reflect.DeepEqual(c.Listen, []string{"127.0.0.1:25", "[::1]:25"}) }},
		{`rbl_providers = "a.example, b.example*2"`, func(c *Config) bool { return reflect.DeepEqual(c.RBLProviders, []string{"a.example", "b.example*2"}) }},
		{`rwl_providers = []`, func(c *Config) bool { return len(c.RWLProviders) == 0 }},
		{`receive_timeout = "1m30s"`, func(c *Config) bool { return c.ReceiveTimeout == 90*time.Second }},
		{`max_data_size = 10_485_760`, func(c *Config) bool { return c.MaxDataSize == 10<<20 }},
		{`mode = "FakeMX"`, func(c *Config) bool { return c.Mode == ModeFakeMX }},
		{"\uFEFFfsync = false", func(c *Config) bool { return !c.Fsync }},
	}
	for _, tt := range tests {
		t.Run(tt.content, func(t *testing.T) {
			opts := baseOpts()
			opts.File = writeFile(t, "c.toml", tt.content+"\n")
			c, _ := mustLoad(t, opts)
			if !tt.check(c) {
				t.Errorf("wrong value: %+v", c)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	opts := baseOpts()
	opts.File = "testdata/does-not-exist.toml"
	_, _, err := Load(opts)
	containsAll(t, problemsOf(t, err), "config file:", "does-not-exist.toml")
}

func TestKeyLines(t *testing.T) {
	data := []byte("# c = 1\n\nhostname = \"x\"\n  \"listen\" = [\n  \":25\",\n]\n[smtp] # t\na.b = 1\nhostname = 2\n")
	got := keyLines(data)
	want := map[string]int{"hostname": 3, "listen": 4, "smtp": 7, "a": 8}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("keyLines = %v, want %v", got, want)
	}
}
