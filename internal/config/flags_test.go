package config

import (
	"bytes"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseFlags binds a fresh FlagSet and parses args.
func parseFlags(t *testing.T, args ...string) (*FlagValues, error) {
	t.Helper()
	fs := flag.NewFlagSet("fakesmtp", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	v := BindFlags(fs)
	return v, fs.Parse(args)
}

func TestBindFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantFile  string
		wantMode  string
		wantFlags []Flag
	}{
		{"nothing", nil, "", "", nil},
		{"config and mode", []string{"--config", "/etc/f.toml", "-mode=fakemx"}, "/etc/f.toml", "fakemx", nil},
		{"dashed spelling", []string{"--max-smtp-errors", "3"}, "", "", []Flag{{"max_smtp_errors", "3"}}},
		{"underscore spelling", []string{"--max_smtp_errors=5"}, "", "", []Flag{{"max_smtp_errors", "5"}}},
		{"bool alone", []string{"--store-data"}, "", "", []Flag{{"store_data", "true"}}},
		{"bool false", []string{"--store_data=false"}, "", "", []Flag{{"store_data", "false"}}},
		{"single-word key", []string{"-fsync=0", "--listen", ":2525,[::1]:2525"}, "", "", []Flag{{"fsync", "0"}, {"listen", ":2525,[::1]:2525"}}},
		{"set", []string{"--set", "max_sessions=4", "--set=banner_delay=1s=x"}, "", "", []Flag{{"max_sessions", "4"}, {"banner_delay", "1s=x"}}},
		{"order kept across kinds", []string{"--set", "max_sessions=4", "--max-sessions", "5", "--set", "max-sessions=6"}, "", "", []Flag{
			{"max_sessions", "4"}, {"max_sessions", "5"}, {"max-sessions", "6"}}},
		{"positional stop", []string{"--fsync", "false"}, "", "", []Flag{{"fsync", "true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parseFlags(t, tt.args...)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if v.File() != tt.wantFile || v.Mode() != tt.wantMode || !reflect.DeepEqual(v.Flags(), tt.wantFlags) {
				t.Errorf("got file %q mode %q flags %v; want %q %q %v", v.File(), v.Mode(), v.Flags(), tt.wantFile, tt.wantMode, tt.wantFlags)
			}
		})
	}
}

func TestBindFlagsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--set", "max_sessions"},
		{"--set", "=3"},
		{"--no-such-flag"},
	} {
		if _, err := parseFlags(t, args...); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", args)
		}
	}
}

func TestBindFlagsEveryKey(t *testing.T) {
	fs := flag.NewFlagSet("fakesmtp", flag.ContinueOnError)
	BindFlags(fs)
	for _, k := range Keys() {
		if k.Name == "mode" {
			continue
		}
		for _, name := range []string{k.Name, strings.ReplaceAll(k.Name, "_", "-")} {
			if fs.Lookup(name) == nil {
				t.Errorf("no flag --%s", name)
			}
		}
	}
	// The usage text must print without touching a zero FlagValues.
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.PrintDefaults()
	if !strings.Contains(out.String(), "-max-smtp-errors") || !strings.Contains(out.String(), "dev: 5m0s") {
		t.Errorf("usage lacks flags or defaults:\n%s", out.String())
	}
}

func TestFlagsThroughLoad(t *testing.T) {
	v, err := parseFlags(t, "--mode", "collector", "--store-data=false", "--set", "max_smtp_errors=2", "--receive-timeout", "30s", "--verbose_logging")
	if err != nil {
		t.Fatal(err)
	}
	opts := baseOpts()
	opts.File, opts.Mode, opts.Flags = v.File(), v.Mode(), v.Flags()
	c, p := mustLoad(t, opts)
	if c.Mode != ModeCollector || c.StoreData || c.MaxSMTPErrors != 2 || c.ReceiveTimeout != 30*time.Second || !c.VerboseLogging {
		t.Errorf("wrong config: %+v", c)
	}
	for _, k := range []string{"mode", "store_data", "max_smtp_errors", "receive_timeout", "verbose_logging"} {
		if p[k] != SourceFlag {
			t.Errorf("provenance[%s] = %s, want flag", k, p[k])
		}
	}
}

func TestFlagProblems(t *testing.T) {
	opts := baseOpts()
	opts.Flags = []Flag{{"max-smtp-eror", "1"}, {"MaxSessions", "2"}, {"banner_delay", "2"}}
	_, _, err := Load(opts)
	containsAll(t, problemsOf(t, err),
		`flag max-smtp-eror: unknown key (did you mean "max_smtp_errors"?)`,
		`flag MaxSessions: unknown key (did you mean "max_sessions"?)`,
		`flag banner_delay: want a duration with a unit`)
}

// TestFlagsServeWouldRefuse loads, as check-config does, settings that
// only serve used to refuse (in dnsbl.ParseEntry and greylist.New), so
// check-config said OK for a receiver that would not start.
func TestFlagsServeWouldRefuse(t *testing.T) {
	tests := []struct {
		name  string
		flags []Flag
		want  string
	}{
		{"blocklist filter", []Flag{{"rbl_providers", "zen.spamhaus.org=127.0.0.[2..11*3"}}, `bad octet "[2..11"`},
		{"allowlist weight", []Flag{{"rwl_providers", "list.dnswl.org*minus3"}}, `bad weight "minus3"`},
		{"greylist delay past the default expire", []Flag{{"greylist", "true"}, {"greylist_delay", "5h"}},
			"greylist_delay = 5h0m0s, from flag greylist_delay: not shorter than greylist_expire = 4h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts()
			opts.Flags = tt.flags
			_, _, err := Load(opts)
			if err == nil {
				t.Fatalf("Load(%v) reports no problem; serve refuses it", tt.flags)
			}
			containsAll(t, problemsOf(t, err), tt.want)
		})
	}
}
