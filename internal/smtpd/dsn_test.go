package smtpd_test

import (
	"strings"
	"testing"
)

func TestDSNRecorded(t *testing.T) {
	cfg := devConfig()
	cfg.MaxErrors = 100
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 250)
	for _, bad := range []string{"RET=MAYBE", "ENVID=has=equals", "ENVID=" + strings.Repeat("x", 101), "RET=FULL RET=HDRS"} {
		c.Expect("MAIL FROM:<a@b.example> "+bad, 501)
	}
	c.Expect("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159+2Bx", 250)
	c.Expect("RCPT TO:<c@d.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;c+40d.example", 250)
	c.Expect("RCPT TO:<e@d.example> NOTIFY=NEVER", 250)
	c.Expect("RCPT TO:<f@d.example>", 250)
	c.Expect("DATA", 354)
	c.Send("x\r\n.\r\n")
	if r := c.Read(); r.Code != 250 {
		t.Fatal(r)
	}
	got := strings.Join(e.messages()[0].env.Extra, "\n")
	want := strings.Join([]string{
		"X-FakeSMTP-DSN-Ret: HDRS",
		"X-FakeSMTP-DSN-Envid: QQ314159+2Bx",
		"X-FakeSMTP-DSN-Notify: <c@d.example> SUCCESS,DELAY",
		"X-FakeSMTP-DSN-Orcpt: <c@d.example> rfc822;c+40d.example",
		"X-FakeSMTP-DSN-Notify: <e@d.example> NEVER",
	}, "\n")
	if got != want {
		t.Fatalf("DSN annotations:\n%s\nwant\n%s", got, want)
	}
}

func TestRejectEHLO(t *testing.T) {
	cfg := devConfig()
	cfg.RejectEHLO = true
	e := start(t, cfg)
	c := e.dial()
	c.Expect("EHLO x.example", 502)
	c.Expect("HELO x.example", 250)
	if r := sendMessage(t, c, "a@b.example", "c@d.example", "old client\r\n.\r\n"); r.Code != 250 {
		t.Fatal(r)
	}
}

// After HELO (no ESMTP, RFC 5321 4.1.1.2/4.1.1.3) RCPT takes no
// parameters, as MAIL takes none: DSN was never offered.
func TestRcptParamsAfterHELO(t *testing.T) {
	e := start(t, devConfig())
	c := e.dial()
	c.Expect("HELO x.example", 250)
	c.Expect("MAIL FROM:<a@b.example> SIZE=10", 555)
	c.Expect("MAIL FROM:<a@b.example>", 250)
	r := c.Cmd("RCPT TO:<c@d.example> NOTIFY=NEVER ORCPT=rfc822;c@d.example")
	if r.Code != 555 {
		t.Fatalf("RCPT with DSN params after HELO: %v", r)
	}
}
