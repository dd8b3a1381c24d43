package e2e

import (
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fakesmtp/internal/config"
)

// describeRE matches one setting line of check-config.
var describeRE = regexp.MustCompile(`^([a-z_]+)\s+= (.*?)\s+\(([a-z?]+)\)$`)

// setting is one line of check-config's output.
type setting struct{ value, source string }

// checkConfig runs "fakesmtp check-config args..." and returns its settings
// by key; it fails the test unless it exits 0 and lists every key once
// with a known source.
func checkConfig(t *testing.T, env []string, args ...string) (map[string]setting, string) {
	t.Helper()
	r := runCLI(t, env, append([]string{"check-config"}, args...)...)
	if r.Code != 0 || !strings.HasSuffix(r.Stdout, "# configuration OK\n") {
		t.Fatalf("check-config %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	header := lines[0]
	got := map[string]setting{}
	for _, line := range lines[1 : len(lines)-1] {
		m := describeRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("check-config: unexpected line %q\n%s", line, r.Stdout)
		}
		if _, dup := got[m[1]]; dup {
			t.Errorf("check-config lists %s twice", m[1])
		}
		got[m[1]] = setting{value: m[2], source: m[3]}
	}
	sources := map[string]bool{"default": true, "mode": true, "file": true, "env": true, "flag": true}
	for _, k := range config.Keys() {
		s, ok := got[k.Name]
		switch {
		case !ok:
			t.Errorf("check-config does not list %s", k.Name)
		case !sources[s.source]:
			t.Errorf("check-config: %s has source %q", k.Name, s.source)
		}
	}
	if len(got) != len(config.Keys()) {
		t.Errorf("check-config lists %d keys, want %d", len(got), len(config.Keys()))
	}
	return got, header
}

// wantSettings compares some of check-config's settings.
func wantSettings(t *testing.T, got map[string]setting, want map[string]setting) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("check-config: %s = %s (%s), want %s (%s)", k, g.value, g.source, w.value, w.source)
		}
	}
}

func TestCheckConfigSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "fakesmtp.toml", []byte("max_smtp_rcpt = 50\nmax_smtp_noop = 1\n"))
	env := []string{"FAKESMTP_MAX_MESSAGES=3", "FAKESMTP_MAX_SMTP_NOOP=2"}
	got, header := checkConfig(t, env, "--config", file,
		"--store-path", filepath.Join(dir, "store"), "--max-smtp-vrfy", "2", "--max-smtp-noop", "3")
	if want := `# fakesmtp configuration: mode "dev" (default), file "` + file + `"`; header != want {
		t.Errorf("header %q, want %q", header, want)
	}
	wantSettings(t, got, map[string]setting{
		"max_smtp_errors": {"4", "default"}, // no layer sets it
		"max_sessions":    {"100", "mode"},  // the dev preset changes it
		"max_smtp_rcpt":   {"50", "file"},   // only the file sets it
		"max_messages":    {"3", "env"},     // only the environment sets it
		"max_smtp_vrfy":   {"2", "flag"},    // only a flag sets it
		"max_smtp_noop":   {"3", "flag"},    // file < env < flag
		"mode":            {`"dev"`, "default"},
	})
}

func TestCheckConfigBadTOML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "bad.toml", []byte(
		"max_smtp_erors = 3\n"+ // unknown key, a typo of max_smtp_errors
			"banner_delay = \"soon\"\n"+ // not a duration
			"max_sessions = \"many\"\n")) // not an integer
	want := []string{
		file + `:1: unknown key "max_smtp_erors" (did you mean "max_smtp_errors"?)`,
		file + `:2: banner_delay: want a duration`,
		file + `:3: max_sessions: want an integer`,
	}
	for _, cmd := range []string{"check-config", "serve"} {
		t.Run(cmd, func(t *testing.T) {
			r := runCLI(t, nil, cmd, "--config", file, "--listen", freeAddr(t), "--store-path", filepath.Join(dir, "store"))
			if r.Code == 0 {
				t.Fatalf("exit 0 with a bad file\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
			}
			if !strings.Contains(r.Stderr, "fakesmtp: 3 problem(s) in the settings:\n") {
				t.Errorf("stderr does not announce 3 problems:\n%s", r.Stderr)
			}
			for _, w := range want {
				if !strings.Contains(r.Stderr, "  - "+w) {
					t.Errorf("stderr lacks the problem %q:\n%s", w, r.Stderr)
				}
			}
			if strings.Contains(r.Stdout, "listening") {
				t.Errorf("serve started with a bad file:\n%s", r.Stdout)
			}
		})
	}
}

// legacyConfig is a FakeSMTP.exe.config as the C# original's users have
// it: .NET appSettings, original key names, milliseconds, True/False, and
// the UTF-8 byte order mark Visual Studio writes.
const legacyConfig = "\xEF\xBB\xBF" + `<?xml version="1.0" encoding="utf-8" ?>
<configuration>
  <startup>
    <supportedRuntime version="v2.0.50727"/>
  </startup>
  <appSettings>
    <add key="HostName" value="legacy.example"/>
    <add key="ListenAddress" value="{HOST}"/>
    <add key="ListenPort" value="{PORT}"/>
    <add key="ReceiveTimeOut" value="5000"/>
    <add key="MaxSmtpErrors" value="3"/>
    <add key="StoreData" value="True"/>
    <add key="StorePath" value="{STORE}"/>
    <add key="BannerDelay" value="100"/>
    <add key="ErrorDelay" value="0"/>
    <add key="DoTempFail" value="False"/>
    <add key="DoEarlyTalk" value="False"/>
    <add key="RBLproviders" value="a.example,b.example"/>
  </appSettings>
</configuration>
`

func TestLegacyConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	storePath := filepath.Join(dir, "spool")
	file := filepath.Join(dir, "FakeSMTP.exe.config")
	srv := start(t, func(addr string) ([]string, []string) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		var esc strings.Builder
		xml.EscapeText(&esc, []byte(storePath))
		cfg := strings.NewReplacer("{HOST}", host, "{PORT}", port, "{STORE}", esc.String()).Replace(legacyConfig)
		if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{"serve", "--config", file}, nil
	})
	if srv.Store != storePath {
		t.Errorf("storing in %q, want StorePath %q", srv.Store, storePath)
	}

	got, _ := checkConfig(t, nil, "--config", file)
	wantSettings(t, got, map[string]setting{
		"hostname":        {`"legacy.example"`, "file"},
		"listen":          {`["` + srv.Addr + `"]`, "file"},
		"receive_timeout": {"5s", "file"},
		"max_smtp_errors": {"3", "file"},
		"store_data":      {"true", "file"},
		"banner_delay":    {"100ms", "file"},
		"error_delay":     {"0s", "file"},
		"do_temp_fail":    {"false", "file"},
		"do_early_talk":   {"false", "file"},
		"rbl_providers":   {`["a.example", "b.example"]`, "file"},
	})

	out := swaks(t, "--server", srv.Addr, "--from", "a@example.org", "--to", "b@example.net",
		"--header", "Subject: e2e legacy", "--body", "through a FakeSMTP.exe.config")
	if !strings.Contains(out, "<-  220 legacy.example ESMTP") {
		t.Errorf("banner does not use HostName:\n%s", out)
	}
	env, body := readMessage(t, storePath, queuedID(t, out))
	checkEnvelope(t, env, "a@example.org", "b@example.net")
	checkBody(t, body, swaksData(t, out))
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "fakesmtp ") || strings.Count(r.Stdout, "\n") != 1 {
		t.Errorf("version: exit %d, stdout %q, stderr %q; want exit 0 and one line starting with \"fakesmtp \"", r.Code, r.Stdout, r.Stderr)
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	r := runCLI(t, nil, "serve", "--listen", addr, "--store-path", filepath.Join(t.TempDir(), "store"))
	if r.Code == 0 || !strings.Contains(r.Stderr, "cannot listen on "+addr+": ") || !strings.Contains(r.Stderr, "address already in use") {
		t.Errorf("serve on a port in use: exit %d, stderr:\n%s\nwant a non-zero exit naming %s", r.Code, r.Stderr, addr)
	}
	if strings.Contains(r.Stdout, "listening") {
		t.Errorf("claims to listen:\n%s", r.Stdout)
	}
}

func TestLocalDomainsUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, path := range map[string]string{
		"missing":   filepath.Join(dir, "missing-domains.txt"),
		"directory": dir,
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, nil, "serve", "--listen", freeAddr(t), "--store-path", filepath.Join(t.TempDir(), "store"),
				"--local-domains", path)
			if r.Code == 0 || !strings.Contains(r.Stderr, "local_domains: ") || !strings.Contains(r.Stderr, path) {
				t.Errorf("serve with local_domains %s: exit %d, stderr:\n%s\nwant a non-zero exit naming the file", path, r.Code, r.Stderr)
			}
		})
	}
}

func TestStorePathNotWritable(t *testing.T) {
	t.Parallel()
	// Tests may run as root, which permission bits do not stop: a folder
	// under a regular file cannot be created by anyone.
	file := writeFile(t, t.TempDir(), "regular-file", []byte("x"))
	storePath := filepath.Join(file, "store")
	r := runCLI(t, nil, "serve", "--listen", freeAddr(t), "--store-path", storePath)
	// MkdirAll reports the path it failed on, which is the file.
	if r.Code == 0 || !strings.Contains(r.Stderr, "store_path: ") || !strings.Contains(r.Stderr, file) {
		t.Errorf("serve with store_path %s: exit %d, stderr:\n%s\nwant a non-zero exit naming store_path", storePath, r.Code, r.Stderr)
	}
}
