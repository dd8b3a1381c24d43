package smtpd_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"fakesmtp/internal/policy/ratelimit"
	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
)

func proxyConfig(trusted ...string) smtpd.Config {
	cfg := devConfig()
	cfg.ProxyProtocol = true
	for _, p := range trusted {
		cfg.ProxyTrusted = append(cfg.ProxyTrusted, netip.MustParsePrefix(p))
	}
	return cfg
}

func TestProxyV1(t *testing.T) {
	e := start(t, proxyConfig("127.0.0.0/8"))
	c := smtptest.Dial(t, e.addr)
	c.Send("PROXY TCP4 192.0.2.7 127.0.0.1 40123 25\r\n")
	if r := c.Read(); r.Code != 220 {
		t.Fatal(r)
	}
	c.Expect("EHLO client.example", 250)
	if r := sendMessage(t, c, "a@b.example", "c@d.example", "x\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	m := e.messages()[0]
	if m.env.ClientIP.String() != "192.0.2.7" || m.env.ClientPort != 40123 {
		t.Fatalf("stored client %s:%d, want the proxied 192.0.2.7:40123", m.env.ClientIP, m.env.ClientPort)
	}
	waitFor(t, "connect log", func() bool { return hasLine(e.logs.String(), "client=192.0.2.7:40123") })
}

func TestProxyV2(t *testing.T) {
	e := start(t, proxyConfig("127.0.0.1/32"))
	c := smtptest.Dial(t, e.addr)
	h := proxyproto.HeaderProxyFromAddrs(2,
		&net.TCPAddr{IP: net.ParseIP("2001:db8::25"), Port: 50000},
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 25})
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	c.Send(string(b))
	if r := c.Read(); r.Code != 220 {
		t.Fatal(r)
	}
	c.Expect("EHLO client.example", 250)
	if r := sendMessage(t, c, "a@b.example", "c@d.example", "x\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
	if m := e.messages()[0]; m.env.ClientIP.String() != "2001:db8::25" {
		t.Fatalf("stored client %s", m.env.ClientIP)
	}
}

func TestProxyRefusals(t *testing.T) {
	t.Run("untrusted source", func(t *testing.T) {
		e := start(t, proxyConfig("10.0.0.0/8"))
		c := smtptest.Dial(t, e.addr)
		c.Send("PROXY TCP4 192.0.2.7 127.0.0.1 40123 25\r\n")
		c.ExpectClosed()
		waitFor(t, "log", func() bool { return hasLine(e.logs.String(), "not in proxy_trusted") })
		if e.srv.Counters().ProxyRefused.Load() != 1 {
			t.Fatal("not counted")
		}
	})
	t.Run("no header", func(t *testing.T) {
		e := start(t, proxyConfig("127.0.0.0/8"))
		c := smtptest.Dial(t, e.addr)
		c.Send("EHLO client.example\r\n")
		c.ExpectClosed()
		waitFor(t, "log", func() bool { return hasLine(e.logs.String(), "malformed PROXY header") })
	})
	t.Run("malformed header", func(t *testing.T) {
		e := start(t, proxyConfig("127.0.0.0/8"))
		c := smtptest.Dial(t, e.addr)
		c.Send("PROXY TCP4 not-an-ip 127.0.0.1 1 25\r\n")
		c.ExpectClosed()
	})
}

func TestMaxSessionsPerIP(t *testing.T) {
	e := start(t, devConfig(), func(d *smtpd.Deps) { d.Limits = ratelimit.New(2, 0, nil) })
	a1 := smtptest.DialFrom(t, "127.0.0.5", e.addr)
	a2 := smtptest.DialFrom(t, "127.0.0.5", e.addr)
	for _, c := range []*smtptest.Client{a1, a2} {
		if r := c.Read(); r.Code != 220 {
			t.Fatal(r)
		}
	}
	a3 := smtptest.DialFrom(t, "127.0.0.5", e.addr)
	r := a3.Read()
	if r.Code != 421 || !strings.HasPrefix(r.Lines[0], "4.7.0 ") || !strings.Contains(r.Lines[0], "too many connections") {
		t.Fatalf("third session from one address: %v", r)
	}
	a3.ExpectClosed()
	// Another address is not affected.
	if r := smtptest.DialFrom(t, "127.0.0.6", e.addr).Read(); r.Code != 220 {
		t.Fatal(r)
	}
	// A session ending frees its slot.
	a1.Expect("QUIT", 221)
	waitFor(t, "release", func() bool { return e.srv.ActiveSessions() == 2 })
	if r := smtptest.DialFrom(t, "127.0.0.5", e.addr).Read(); r.Code != 220 {
		t.Fatalf("after QUIT: %v", r)
	}
}

func TestMaxConnectionsPerMinutePerIP(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := start(t, devConfig(), func(d *smtpd.Deps) { d.Limits = ratelimit.New(0, 3, func() time.Time { return now }) })
	for i := 0; i < 3; i++ {
		c := smtptest.DialFrom(t, "127.0.0.7", e.addr)
		if r := c.Read(); r.Code != 220 {
			t.Fatalf("connection %d: %v", i, r)
		}
		c.Expect("QUIT", 221)
	}
	r := smtptest.DialFrom(t, "127.0.0.7", e.addr).Read()
	if r.Code != 421 || !strings.Contains(r.Lines[0], "per minute") {
		t.Fatalf("fourth connection in a minute: %v", r)
	}
	if e.srv.Counters().PerIPRefused.Load() != 1 {
		t.Fatal("not counted")
	}
}

func TestNonSMTPInput(t *testing.T) {
	cases := map[string]string{
		"http GET":      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"http POST":     "POST /wp-login.php HTTP/1.0\r\n",
		"proxy CONNECT": "CONNECT mail.example.com:25 HTTP/1.0\r\n",
		"header":        "Subject: hello\r\n",
		"tls hello":     "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	}
	e := start(t, devConfig())
	for name, input := range cases {
		t.Run(name, func(t *testing.T) {
			c := e.dial()
			c.Send(input)
			r := c.Read()
			if r.Code != 554 || !strings.HasPrefix(r.Lines[0], "5.7.0 ") {
				t.Fatalf("got %v", r)
			}
			c.ExpectClosed()
		})
	}
	waitFor(t, "count", func() bool { return e.srv.Counters().NonSMTP.Load() == int64(len(cases)) })
	// An ordinary unknown command is only an error.
	c := e.dial()
	c.Expect("XYZZY", 500)
	c.Expect("NOOP", 250)
}

func TestEarlyTalkEnforce(t *testing.T) {
	cfg := devConfig()
	cfg.DoEarlyTalk = true
	cfg.EarlyTalkEnforce = true
	cfg.BannerDelay = 300 * time.Millisecond
	cfg.MaxErrors = 10
	e := start(t, cfg, realSleep)
	c := smtptest.Dial(t, e.addr)
	c.Send("EHLO bot.example\r\n")
	if r := c.Read(); r.Code != 220 {
		t.Fatalf("enforce: banner %v", r)
	}
	if r := c.Read(); r.Code != 250 {
		t.Fatalf("enforce: EHLO %v", r)
	}
	c.Expect("MAIL FROM:<spammer@bot.example>", 250)
	r := c.Cmd("RCPT TO:<victim@d.example>")
	if r.Code != 550 || !strings.HasPrefix(r.Lines[0], "5.5.1 ") {
		t.Fatalf("enforce: RCPT %v", r)
	}
	c.Expect("DATA", 503)
	waitFor(t, "log", func() bool {
		l := e.logs.String()
		return hasLine(l, "action=enforce") && hasLine(l, "rcpt=victim@d.example")
	})
}

func TestBannerTeaser(t *testing.T) {
	cfg := devConfig()
	cfg.DoEarlyTalk = true
	cfg.BannerTeaser = true
	cfg.BannerDelay = 300 * time.Millisecond
	e := start(t, cfg, realSleep)
	// A patient client reads a two-line 220.
	c := smtptest.Dial(t, e.addr)
	r := c.Read()
	if r.Code != 220 || len(r.Lines) != 2 || !strings.HasPrefix(r.Lines[0], "mx.fakesmtp.test") {
		t.Fatalf("teaser banner %v", r)
	}
	c.Expect("EHLO ok.example", 250)
	// A bot that answers the first line is an early talker.
	b := smtptest.Dial(t, e.addr)
	line, err := b.R.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220-") {
		t.Fatalf("teaser line %q %v", line, err)
	}
	b.Send("EHLO bot.example\r\n")
	line, _ = b.R.ReadString('\n')
	if !strings.HasPrefix(line, "554 5.5.1") {
		t.Fatalf("bot after teaser got %q", line)
	}
}
