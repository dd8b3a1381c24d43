package config

import (
	"bytes"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	opts := baseOpts()
	opts.File = writeFile(t, "f.toml", "rbl_providers                     = [\"a.example\", \"b.example*2\"]\n")
	opts.Env = []string{"FAKESMTP_MAX_SMTP_ERRORS=6"}
	opts.Flags = []Flag{{"hostname", "mx.example.org"}}
	c, p := mustLoad(t, opts)

	var buf bytes.Buffer
	Describe(&buf, c, p)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")

	if want := len(Keys()) + 1; len(lines) != want {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), want, buf.String())
	}
	wantHeader := `# fakesmtp configuration: mode "dev" (default), file "` + opts.File + `"`
	if lines[0] != wantHeader {
		t.Errorf("header = %q, want %q", lines[0], wantHeader)
	}
	// Lines follow Keys order; "=" and the source column line up.
	eq, src := -1, -1
	for i, k := range Keys() {
		line := lines[i+1]
		if !strings.HasPrefix(line, k.Name+" ") {
			t.Errorf("line %d = %q, want key %s", i+1, line, k.Name)
		}
		e, s := strings.Index(line, "= "), strings.LastIndex(line, " (")
		if eq == -1 {
			eq, src = e, s
		}
		if e != eq || s != src {
			t.Errorf("line %q not aligned (= at %d, source at %d; want %d, %d)", line, e, s, eq, src)
		}
	}
	for _, want := range []string{
		`hostname                          = "mx.example.org"`,
		`listen                            = ["127.0.0.1:2525"]`,
		`receive_timeout                   = 5m0s`,
		`max_smtp_errors                   = 6`,
		`rbl_providers                     = ["a.example", "b.example*2"]`,
		`rwl_providers                     = []`,
		`fsync                             = true`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
	for key, want := range map[string]string{
		"hostname": "(flag)", "listen": "(mode)", "max_smtp_errors": "(env)",
		"rbl_providers": "(file)", "fsync": "(default)",
	} {
		for _, line := range lines {
			if strings.HasPrefix(line, key+" ") && !strings.HasSuffix(line, want) {
				t.Errorf("line %q should end in %s", line, want)
			}
		}
	}
}

func TestDescribeNoFileAndMissingSource(t *testing.T) {
	c := validConfig()
	var buf bytes.Buffer
	Describe(&buf, c, Provenance{"mode": SourceFlag})
	out := buf.String()
	if !strings.HasPrefix(out, `# fakesmtp configuration: mode "collector" (flag), file none`+"\n") {
		t.Errorf("header wrong:\n%s", out)
	}
	if !strings.Contains(out, "(?)") {
		t.Errorf("missing provenance not shown as (?):\n%s", out)
	}
}
