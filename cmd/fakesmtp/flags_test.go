package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// result is what run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

func runArgs(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// README: check-config lists every problem and names an unknown key with
// the nearest known one. A misspelt flag is an unknown key like any other:
// not the first and only problem, with 393 lines of flags after it.
func TestCheckConfigUnknownFlag(t *testing.T) {
	store := t.TempDir()
	for _, args := range [][]string{
		{"--max-smtp-error", "4", "--listen", "bogus"},
		{"--max-smtp-error=4", "--listen=bogus"},
		{"-max-smtp-error", "4", "-listen", "bogus"},
		{"--listen", "bogus", "--max_smtp_error=4"},
	} {
		r := runArgs(t, append([]string{"check-config", "--store-path", store}, args...)...)
		if r.code != 1 {
			t.Errorf("%q: exit %d, want 1 like every other bad setting", args, r.code)
		}
		if !strings.Contains(r.stderr, `unknown key (did you mean "max_smtp_errors"?)`) {
			t.Errorf("%q: no suggestion for the misspelt flag:\n%s", args, r.stderr)
		}
		if !strings.Contains(r.stderr, `"bogus"`) {
			t.Errorf("%q: the bad listen value is not reported:\n%s", args, r.stderr)
		}
		if n := strings.Count(r.stderr, "\n"); n > 5 {
			t.Errorf("%q: %d lines on stderr:\n%s", args, n, r.stderr)
		}
	}
}

// An unknown flag without a value (a misspelt bool) does not take the
// next flag as its value.
func TestUnknownBoolFlag(t *testing.T) {
	r := runArgs(t, "check-config", "--store-path", t.TempDir(), "--store-dat", "--listen", "bogus")
	if r.code != 1 || !strings.Contains(r.stderr, `flag store-dat: unknown key (did you mean "store_data"?)`) ||
		!strings.Contains(r.stderr, `"bogus"`) {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
}

// serve stops on a misspelt flag with the nearest key, not the flag list.
func TestServeUnknownFlag(t *testing.T) {
	r := runArgs(t, "serve", "--store-path", t.TempDir(), "--listen", "127.0.0.1:0", "--max-sesions", "5")
	if r.code == 0 {
		t.Errorf("exit 0")
	}
	if !strings.Contains(r.stderr, `flag max-sesions: unknown key (did you mean "max_sessions"?)`) {
		t.Errorf("no suggestion:\n%s", r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n > 5 {
		t.Errorf("%d lines on stderr:\n%s", n, r.stderr)
	}
}

// -h still lists every setting's flag, and is not an error.
func TestSettingsHelp(t *testing.T) {
	for _, h := range []string{"-h", "--help", "-help"} {
		for _, cmd := range []string{"serve", "check-config"} {
			r := runArgs(t, cmd, h)
			if r.code != 0 || !strings.Contains(r.stderr, "Usage of fakesmtp "+cmd) ||
				!strings.Contains(r.stderr, "-max-smtp-errors") {
				t.Errorf("%s %s: exit %d:\n%.300s", cmd, h, r.code, r.stderr)
			}
		}
	}
}

func TestSplitFlag(t *testing.T) {
	tests := []struct {
		in, name, value string
		hasValue        bool
	}{
		{"--to", "to", "", false},
		{"-to", "to", "", false},
		{"--to=a=b", "to", "a=b", true},
		{"-since=1h", "since", "1h", true},
		{"--to=", "to", "", true},
		{"to", "", "", false},
	}
	for _, tt := range tests {
		name, value, hasValue := splitFlag(tt.in)
		if name != tt.name || value != tt.value || hasValue != tt.hasValue {
			t.Errorf("splitFlag(%q) = %q, %q, %v", tt.in, name, value, hasValue)
		}
	}
}

// export takes its own flags as --name=value too, before or after the
// settings flags.
func TestExportFlagForms(t *testing.T) {
	store := t.TempDir()
	for _, args := range [][]string{
		{"--format=mbox", "--to=OUT", "--since=1h", "--store-path=" + store},
		{"--store-path", store, "-format", "mbox", "-to=OUT", "--since", "1h"},
	} {
		out := filepath.Join(t.TempDir(), "out.mbox")
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "OUT", out)
		}
		r := runArgs(t, append([]string{"export"}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "exported 0 message(s) to "+out+" (mbox)") {
			t.Errorf("%q: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if _, err := os.Stat(out); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
	// --since= is read as export's, not the settings'.
	r := runArgs(t, "export", "--format=mbox", "--to", filepath.Join(store, "x"), "--since=soon", "--store-path", store)
	if r.code != 2 || !strings.Contains(r.stderr, `fakesmtp export: --since "soon"`) {
		t.Errorf("--since=soon: exit %d\n%s", r.code, r.stderr)
	}
	if r := runArgs(t, "export", "--format=mbox", "--to"); r.code != 2 || !strings.Contains(r.stderr, "--to needs a value") {
		t.Errorf("--to without a value: exit %d\n%s", r.code, r.stderr)
	}
}

// queue's --all is accepted as --all=true and after the settings flags.
func TestQueueAllFlag(t *testing.T) {
	store := t.TempDir()
	for _, args := range [][]string{
		{"delete", "--all=true", "--store-path=" + store},
		{"retry", "--store-path", store, "--all"},
		{"retry", "-all", "--store-path", store},
	} {
		if r := runArgs(t, append([]string{"queue"}, args...)...); r.code != 0 {
			t.Errorf("%q: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"retry", "--all=false", "--store-path", store}, // neither IDs nor --all
		{"retry", "--all=maybe", "--store-path", store},
	} {
		if r := runArgs(t, append([]string{"queue"}, args...)...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}
