package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLegacySample(t *testing.T) {
	opts := baseOpts()
	opts.File = "testdata/FakeSMTP.exe.config"
	opts.Mode = "collector"
	c, p := mustLoad(t, opts)
	want := &Config{
		Mode:           ModeCollector,
		Hostname:       "mx0.example.org",
		Listen:         []string{":2525"},
		ReceiveTimeout: 12 * time.Second,
		MaxSMTPErrors:  3,
		MaxSMTPNoop:    5,
		MaxSMTPVrfy:    2,
		MaxSMTPRcpt:    50,
		MaxMessages:    5,
		MaxSessions:    8,
		StoreData:      true,
		StorePath:      `C:\fakeSMTP\spool`,
		MaxDataSize:    1048576,
		LogPath:        `C:\fakeSMTP\logs`,
		VerboseLogging: false,
		BannerDelay:    2 * time.Second,
		ErrorDelay:     250 * time.Millisecond,
		ErrorDelayMax:  30 * time.Second,
		DoTempFail:     false,
		DoEarlyTalk:    true,
		RWLProviders:   []string{"list.dnswl.org", "swl.spamhaus.org"},
		RBLProviders:   []string{"zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"},
		LocalDomains:   `C:\fakeSMTP\domains.txt`,
		LocalMailboxes: `C:\fakeSMTP\mailboxes.txt`,
		ShutdownGrace:  10 * time.Second,
		Fsync:          true,
		Screening:      defaultScreening(),
		ESMTP:          collectorESMTP(),
		Delivery:       defaultDelivery(),
		Relay:          defaultRelay(),
		Web:            defaultWeb(),
		File:           "testdata/FakeSMTP.exe.config",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", c, want)
	}
	for _, k := range Keys() {
		want := SourceFile
		switch {
		case k.Name == "mode":
			want = SourceFlag
		case k.Name == "chunking":
			want = SourceMode // the collector preset turns it off
		case k.Legacy == "":
			want = SourceDefault
		}
		if p[k.Name] != want {
			t.Errorf("provenance[%s] = %s, want %s", k.Name, p[k.Name], want)
		}
	}
}

// legacyDoc wraps appSettings entries in a configuration document.
func legacyDoc(adds ...string) string {
	return "<?xml version=\"1.0\"?>\n<configuration>\n<appSettings>\n" + strings.Join(adds, "\n") + "\n</appSettings>\n</configuration>\n"
}

func TestLegacyListen(t *testing.T) {
	tests := []struct {
		name string
		adds []string
		want string
	}{
		{"address and port", []string{`<add key="ListenAddress" value="192.0.2.7"/>`, `<add key="ListenPort" value="2525"/>`}, "192.0.2.7:2525"},
		{"any as 0.0.0.0", []string{`<add key="ListenAddress" value="0.0.0.0"/>`, `<add key="ListenPort" value="25"/>`}, ":25"},
		{"any as star", []string{`<add key="ListenAddress" value="*"/>`, `<add key="ListenPort" value="26"/>`}, ":26"},
		{"any as word", []string{`<add key="ListenAddress" value="ANY"/>`, `<add key="ListenPort" value="27"/>`}, ":27"},
		{"empty address", []string{`<add key="ListenAddress" value=""/>`, `<add key="ListenPort" value="28"/>`}, ":28"},
		{"port only", []string{`<add key="listenport" value="2526"/>`}, ":2526"},
		{"address only", []string{`<add key="ListenAddress" value="127.0.0.1"/>`}, "127.0.0.1:25"},
		{"ipv6", []string{`<add key="ListenAddress" value="::1"/>`, `<add key="ListenPort" value="2525"/>`}, "[::1]:2525"},
		{"ipv6 bracketed", []string{`<add key="ListenAddress" value="[2001:db8::1]"/>`, `<add key="ListenPort" value="25"/>`}, "[2001:db8::1]:25"},
		{"port before address", []string{`<add key="ListenPort" value="30"/>`, `<add key="ListenAddress" value="10.0.0.1"/>`}, "10.0.0.1:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts()
			opts.File = writeFile(t, "FakeSMTP.exe.config", legacyDoc(tt.adds...))
			c, p := mustLoad(t, opts)
			if !reflect.DeepEqual(c.Listen, []string{tt.want}) || p["listen"] != SourceFile {
				t.Errorf("listen = %q (%s), want [%q] (file)", c.Listen, p["listen"], tt.want)
			}
		})
	}
}

func TestLegacyProblems(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"unknown key", legacyDoc(`<add key="MaxSmtpError" value="3"/>`),
			[]string{`:4: unknown key "MaxSmtpError" (did you mean "MaxSmtpErrors"?)`}},
		{"bad port", legacyDoc(`<add key="ListenPort" value="smtp"/>`),
			[]string{`:4: ListenPort: want a port number 0-65535, got "smtp"`}},
		{"port out of range", legacyDoc(`<add key="ListenPort" value="70000"/>`),
			[]string{`ListenPort: want a port number`}},
		{"bad bool", legacyDoc(`<add key="StoreData" value="yes"/>`),
			[]string{`StoreData: want True or False, got "yes"`}},
		{"bad millis", legacyDoc(`<add key="BannerDelay" value="1s"/>`),
			[]string{`BannerDelay: want milliseconds, got "1s"`}},
		{"bad int", legacyDoc(`<add key="MaxSessions" value="many"/>`),
			[]string{`MaxSessions: want an integer`}},
		{"all at once", legacyDoc(`<add key="Foo" value="1"/>`, `<add key="StoreData" value="1"/>`, `<add key="MaxSessions" value="0"/>`),
			[]string{`unknown key "Foo"`, "StoreData: want True or False", "max_sessions = 0, from "}},
		{"wrong root", "<settings><add key=\"a\" value=\"b\"/></settings>", []string{"root element is <settings>"}},
		{"broken xml", "<configuration><appSettings>", []string{"xml:"}},
		{"no elements", "<!-- nothing -->", []string{"no <configuration> element"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOpts()
			opts.File = writeFile(t, "FakeSMTP.exe.config", tt.content)
			_, _, err := Load(opts)
			probs := problemsOf(t, err)
			containsAll(t, probs, tt.want...)
			if len(probs) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(probs), len(tt.want), probs)
			}
		})
	}
}

func TestLegacyEmptyValueKeepsDefault(t *testing.T) {
	opts := baseOpts()
	opts.File = writeFile(t, "FakeSMTP.exe.config", legacyDoc(`<add key="HostName" value=""/>`, `<add key="MaxSessions" value=" "/>`))
	c, p := mustLoad(t, opts)
	if c.Hostname != testHost || p["hostname"] != SourceDefault || c.MaxSessions != 100 {
		t.Errorf("hostname %q (%s), max_sessions %d", c.Hostname, p["hostname"], c.MaxSessions)
	}
}

func TestLegacyIgnoresOtherSections(t *testing.T) {
	// Only <configuration><appSettings><add> counts; an <add> elsewhere
	// (connectionStrings, nested sections) belongs to other .NET features.
	content := `<configuration>
  <connectionStrings><add name="db" connectionString="x"/></connectionStrings>
  <appSettings><add key="MaxSessions" value="7"/></appSettings>
</configuration>`
	opts := baseOpts()
	opts.File = writeFile(t, "FakeSMTP.exe.config", "  \n"+content)
	c, _ := mustLoad(t, opts)
	if c.MaxSessions != 7 {
		t.Errorf("max_sessions = %d, want 7", c.MaxSessions)
	}
}

// collectorESMTP is defaultESMTP with the collector preset applied.
func collectorESMTP() ESMTP {
	e := defaultESMTP()
	e.Chunking = false
	return e
}
