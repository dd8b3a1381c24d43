package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testHost is the system host name the tests pretend to have.
const testHost = "testhost.example"

// baseOpts returns Options with the system parts pinned, so tests do not
// depend on the machine they run on.
func baseOpts() Options {
	return Options{
		Hostname: func() (string, error) { return testHost, nil },
		TempDir:  "/tmp-test",
	}
}

// writeFile writes content to name in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustLoad calls Load and fails the test on any problem.
func mustLoad(t *testing.T, opts Options) (*Config, Provenance) {
	t.Helper()
	c, p, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: unexpected problems:\n%v", err)
	}
	return c, p
}

// problemsOf returns err as Problems, failing if it is anything else.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("error %v (%T) is not Problems", err, err)
	}
	return probs
}

// containsAll fails unless every want string occurs in some problem.
func containsAll(t *testing.T, probs Problems, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("no problem mentions %q; got:\n%v", w, probs)
		}
	}
}

func TestLoadDefaultsAreDev(t *testing.T) {
	c, p := mustLoad(t, baseOpts())
	want := &Config{
		Mode:           ModeDev,
		Hostname:       testHost,
		Listen:         []string{"127.0.0.1:2525"},
		ReceiveTimeout: 5 * time.Minute,
		MaxSMTPErrors:  4,
		MaxSMTPNoop:    7,
		MaxSMTPVrfy:    10,
		MaxSMTPRcpt:    100,
		MaxMessages:    0,
		MaxSessions:    100,
		StoreData:      true,
		StorePath:      filepath.Join("/tmp-test", "fakesmtp"),
		MaxDataSize:    26214400,
		VerboseLogging: true,
		BannerDelay:    0,
		ErrorDelay:     0,
		ErrorDelayMax:  30 * time.Second,
		DoEarlyTalk:    false,
		RWLProviders:   []string{},
		RBLProviders:   []string{},
		ShutdownGrace:  10 * time.Second,
		Fsync:          true,
		Screening:      defaultScreening(),
		ESMTP:          defaultESMTP(),
		Delivery:       defaultDelivery(),
		Relay:          defaultRelay(),
		Web:            Web{HTTPListen: "127.0.0.1:8025", Index: true, Transcript: true},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load() =\n%+v\nwant\n%+v", c, want)
	}
	wantMode := []string{"listen", "receive_timeout", "max_messages", "max_sessions", "max_data_size", "verbose_logging", "banner_delay", "error_delay", "do_early_talk", "transcript"}
	for _, k := range Keys() {
		want := SourceDefault
		if slices.Contains(wantMode, k.Name) {
			want = SourceMode
		}
		if p[k.Name] != want {
			t.Errorf("provenance[%s] = %q, want %q", k.Name, p[k.Name], want)
		}
	}
}

func TestModePresets(t *testing.T) {
	// Each case lists the fields that differ from the base defaults and so
	// must have provenance "mode"; every other key must be "default".
	tests := []struct {
		mode    Mode
		check   func(c *Config) bool
		changed []string
	}{
		{ModeDev, func(c *Config) bool {
			return c.Listen[0] == "127.0.0.1:2525" && c.ReceiveTimeout == 5*time.Minute && c.MaxSessions == 100 && !c.DoEarlyTalk
		}, []string{"listen", "receive_timeout", "max_messages", "max_sessions", "max_data_size", "verbose_logging", "banner_delay", "error_delay", "do_early_talk", "transcript"}},
		{ModeProxy, func(c *Config) bool {
			return c.Listen[0] == ":25" && c.StoreData && c.ReceiveTimeout == 8*time.Second && c.MaxSessions == 16 &&
				c.BannerDelay == 0 && c.ErrorDelay == 0 && !c.DoEarlyTalk
		}, []string{"banner_delay", "error_delay", "do_early_talk"}},
		{ModeCollector, func(c *Config) bool {
			return c.Listen[0] == ":25" && c.StoreData && c.BannerDelay == time.Second && c.ErrorDelay == 500*time.Millisecond && c.DoEarlyTalk && !c.Chunking
		}, []string{"chunking"}},
		{ModeFakeMX, func(c *Config) bool {
			return c.Listen[0] == ":25" && !c.StoreData && c.DoTempFail && c.BannerDelay == 1500*time.Millisecond &&
				c.ErrorDelay == 750*time.Millisecond && c.DoEarlyTalk && c.MaxSessions == 32 && c.MaxMessages == 10
		}, []string{"store_data", "do_temp_fail", "banner_delay", "error_delay", "max_sessions", "chunking"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			opts := baseOpts()
			opts.Mode = string(tt.mode)
			c, p := mustLoad(t, opts)
			if c.Mode != tt.mode || !tt.check(c) {
				t.Errorf("preset wrong: %+v", c)
			}
			if p["mode"] != SourceFlag {
				t.Errorf("provenance[mode] = %q, want flag", p["mode"])
			}
			for _, k := range Keys() {
				if k.Name == "mode" {
					continue
				}
				want := SourceDefault
				if slices.Contains(tt.changed, k.Name) {
					want = SourceMode
				}
				if p[k.Name] != want {
					t.Errorf("provenance[%s] = %q, want %q", k.Name, p[k.Name], want)
				}
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	// max_sessions: base 16, dev preset 100. Each layer overrides the ones
	// under it, whichever of them are present.
	file := writeFile(t, "f.toml", "mode = \"proxy\"\nmax_sessions = 20\n")
	devFile := writeFile(t, "d.toml", "max_sessions = 20\n")
	env := []string{"FAKESMTP_MAX_SESSIONS=30", "PATH=/bin"}
	flags := []Flag{{"max-sessions", "40"}, {"max_sessions", "41"}}
	tests := []struct {
		name    string
		mode    string
		file    string
		env     []string
		flags   []Flag
		want    int
		wantSrc Source
	}{
		{"base default", "proxy", "", nil, nil, 16, SourceDefault},
		{"mode preset", "", "", nil, nil, 100, SourceMode},
		{"file over preset", "", devFile, nil, nil, 20, SourceFile},
		{"file over default", "", file, nil, nil, 20, SourceFile},
		{"env over file", "", file, env, nil, 30, SourceEnv},
		{"env over preset", "", "", env, nil, 30, SourceEnv},
		{"flag over env, later flag wins", "", file, env, flags, 41, SourceFlag},
		{"flag over preset", "", "", nil, flags[:1], 40, SourceFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts()
			opts.Mode, opts.File, opts.Env, opts.Flags = tt.mode, tt.file, tt.env, tt.flags
			c, p := mustLoad(t, opts)
			if c.MaxSessions != tt.want || p["max_sessions"] != tt.wantSrc {
				t.Errorf("max_sessions = %d (%s), want %d (%s)", c.MaxSessions, p["max_sessions"], tt.want, tt.wantSrc)
			}
		})
	}
}

func TestModePrecedence(t *testing.T) {
	file := writeFile(t, "f.toml", "mode = \"collector\"\n")
	tests := []struct {
		name    string
		file    string
		env     []string
		mode    string
		flags   []Flag
		want    Mode
		wantSrc Source
	}{
		{"default", "", nil, "", nil, ModeDev, SourceDefault},
		{"file", file, nil, "", nil, ModeCollector, SourceFile},
		{"env over file", file, []string{"FAKESMTP_MODE=fakemx"}, "", nil, ModeFakeMX, SourceEnv},
		{"--mode over env", file, []string{"FAKESMTP_MODE=fakemx"}, "proxy", nil, ModeProxy, SourceFlag},
		{"--set mode over --mode", "", nil, "proxy", []Flag{{"mode", "FakeMX"}}, ModeFakeMX, SourceFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts()
			opts.File, opts.Env, opts.Mode, opts.Flags = tt.file, tt.env, tt.mode, tt.flags
			c, p := mustLoad(t, opts)
			if c.Mode != tt.want || p["mode"] != tt.wantSrc {
				t.Errorf("mode = %q (%s), want %q (%s)", c.Mode, p["mode"], tt.want, tt.wantSrc)
			}
		})
	}
}

func TestModeChoosesPresetUnderFile(t *testing.T) {
	// The file picks fakemx and overrides one of its preset values; the
	// other preset values must still apply, under the file.
	file := writeFile(t, "f.toml", "mode = \"fakemx\"\nbanner_delay = \"2s\"\n")
	opts := baseOpts()
	opts.File = file
	c, p := mustLoad(t, opts)
	if c.BannerDelay != 2*time.Second || p["banner_delay"] != SourceFile {
		t.Errorf("banner_delay = %v (%s), want 2s (file)", c.BannerDelay, p["banner_delay"])
	}
	if !c.DoTempFail || p["do_temp_fail"] != SourceMode {
		t.Errorf("do_temp_fail = %v (%s), want true (mode)", c.DoTempFail, p["do_temp_fail"])
	}
}

func TestUnknownMode(t *testing.T) {
	opts := baseOpts()
	opts.Mode = "colector"
	_, _, err := Load(opts)
	containsAll(t, problemsOf(t, err), `unknown mode "colector"`, `did you mean "collector"`)
}

func TestHostname(t *testing.T) {
	calls := 0
	failing := func() (string, error) { calls++; return "", errors.New("no network") }

	opts := baseOpts()
	opts.Hostname = failing
	_, _, err := Load(opts)
	probs := problemsOf(t, err)
	if len(probs) != 1 || !strings.Contains(probs[0], "no network") {
		t.Errorf("want one problem about the host name, got:\n%v", probs)
	}

	// A configured host name means the system is never asked.
	calls = 0
	opts.Env = []string{"FAKESMTP_HOSTNAME=mx.example.org"}
	c, p := mustLoad(t, opts)
	if c.Hostname != "mx.example.org" || p["hostname"] != SourceEnv || calls != 0 {
		t.Errorf("hostname = %q (%s), system asked %d times", c.Hostname, p["hostname"], calls)
	}
}

func TestLoadReportsEveryLayer(t *testing.T) {
	// One problem in each layer plus one from validation: all five come
	// back together, and the Config is still returned.
	opts := baseOpts()
	opts.File = writeFile(t, "f.toml", "max_sesions = 3\n")
	opts.Env = []string{"FAKESMTP_BANNER_DELAY=soon"}
	opts.Flags = []Flag{{"fsync", "maybe"}, {"max_smtp_rcpt", "0"}, {"nope", "1"}}
	c, p, err := Load(opts)
	probs := problemsOf(t, err)
	containsAll(t, probs, `unknown key "max_sesions"`, "env FAKESMTP_BANNER_DELAY", "flag fsync", "max_smtp_rcpt = 0, from flag max_smtp_rcpt", "flag nope")
	if len(probs) != 5 {
		t.Errorf("got %d problems, want 5:\n%v", len(probs), probs)
	}
	if c == nil || p == nil {
		t.Fatal("Config or Provenance is nil on error")
	}
}

func TestProblemsError(t *testing.T) {
	p := Problems{"a", "b"}
	if got := p.Error(); got != "a\nb" {
		t.Errorf("Error() = %q", got)
	}
}

func TestKeysCoverConfig(t *testing.T) {
	// Every Config field but File must be reachable through exactly one
	// key, or a setting could not be configured.
	seen := map[string]string{}
	var c Config
	// Promoted fields of embedded structs (Screening) count as Config's own.
	var fields []reflect.StructField
	for _, f := range reflect.VisibleFields(reflect.TypeOf(c)) {
		if !f.Anonymous && f.Name != "File" {
			fields = append(fields, f)
		}
	}
	for _, k := range Keys() {
		def := lookupKey(k.Name)
		ptr := reflect.ValueOf(def.field(&c)).Pointer()
		found := ""
		for _, f := range fields {
			if reflect.ValueOf(&c).Elem().FieldByIndex(f.Index).Addr().Pointer() == ptr {
				found = f.Name
			}
		}
		if found == "" {
			t.Errorf("key %s: field not in Config", k.Name)
		}
		if prev, dup := seen[found]; dup {
			t.Errorf("keys %s and %s share field %s", prev, k.Name, found)
		}
		seen[found] = k.Name
		if k.Help == "" || k.Default == "" || k.BaseDefault == "" || k.Kind == "" {
			t.Errorf("key %s: incomplete documentation: %+v", k.Name, k)
		}
	}
	if got, want := len(seen), len(fields); got != want {
		t.Errorf("%d fields have keys, want %d", got, want)
	}
}

func TestKeysDefaults(t *testing.T) {
	want := map[string][2]string{ // name → dev default, base default
		"mode":            {`"dev"`, `"dev"`},
		"listen":          {`["127.0.0.1:2525"]`, `[":25"]`},
		"receive_timeout": {"5m0s", "8s"},
		"max_data_size":   {"26214400", "2097152"},
		"max_smtp_errors": {"4", "4"},
		"hostname":        {"system host name", "system host name"},
		"store_path":      {`"$TMPDIR/fakesmtp"`, `"$TMPDIR/fakesmtp"`},
		"log_path":        {`""`, `""`},
		"rbl_providers":   {"[]", "[]"},
	}
	for _, k := range Keys() {
		if w, ok := want[k.Name]; ok && (k.Default != w[0] || k.BaseDefault != w[1]) {
			t.Errorf("%s: Default %s, BaseDefault %s; want %s, %s", k.Name, k.Default, k.BaseDefault, w[0], w[1])
		}
	}
}

// TestParseDurationDays covers the day unit, which time.ParseDuration
// lacks. Day counts past what a time.Duration holds used to wrap
// silently (213504d became about 8h20m).
func TestParseDurationDays(t *testing.T) {
	maxDays := time.Duration(maxDurationDays) * 24 * time.Hour
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"0d", 0},
		{"36d", 36 * 24 * time.Hour},
		{"106751d", maxDays}, // the most that fits: about 292 years
	} {
		if got, err := parseDuration(tt.in); err != nil || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if maxDays <= 0 || maxDays+24*time.Hour > 0 {
		t.Errorf("maxDurationDays = %d is not the last whole day before overflow", maxDurationDays)
	}
	for _, in := range []string{"106752d", "213504d", "9223372036854775807d"} {
		got, err := parseDuration(in)
		if err == nil {
			t.Errorf("parseDuration(%q) = %v, nil; want an error", in, got)
		} else if want := fmt.Sprintf("%q is too long: at most 106751d", in); err.Error() != want {
			t.Errorf("parseDuration(%q) error %q, want %q", in, err, want)
		}
	}
}
