package smtpd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fakesmtp/internal/smtp"
	"fakesmtp/internal/smtpd"
)

// panicky is a recipient check with a bug: it panics on <boom@...>.
type panicky struct{}

func (panicky) LocalDomain(string) bool { return true }

func (panicky) CheckRecipient(p smtp.Path) smtp.Reply {
	if p.Local == "boom" {
		panic("recipient check exploded")
	}
	return smtp.Reply{}
}

// A panic in one session is that session's 421 4.3.0, a logged stack,
// and nothing more: the server goes on serving.
func TestPanicRecovered(t *testing.T) {
	appLogs := &syncBuffer{}
	e := start(t, devConfig(), withAppLog(appLogs), func(d *smtpd.Deps) { d.Recipients = panicky{} })
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	cmd(t, c, "MAIL FROM:<a@b.example>", 250, "2.1.0")
	cmd(t, c, "RCPT TO:<boom@d.example>", 421, "4.3.0")
	c.ExpectClosed()

	logs := appLogs.String()
	for _, want := range []string{
		"msg=\"session panic\"",
		"panic=\"recipient check exploded\"",
		"stack=\"goroutine ",
		"panicky.CheckRecipient",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("app log lacks %s:\n%s", want, logs)
		}
	}

	waitFor(t, "the session to end", func() bool { return e.srv.ActiveSessions() == 0 })
	c2 := e.dial()
	cmd(t, c2, "EHLO client.example", 250, "")
	r := sendMessage(t, c2, "a@b.example", "c@d.example", "Subject: after\r\n\r\nx\r\n.\r\n")
	wantReply(t, "message after panic", r, 250, "2.0.0")
}

// A store that cannot write: the content is still read to its end, then
// refused with 451 4.3.0 (RFC 5321 4.2.2 "local error in processing").
func TestStoreFailure(t *testing.T) {
	appLogs := &syncBuffer{}
	e := start(t, devConfig(), withAppLog(appLogs))
	tmp := filepath.Join(e.store.Path(), ".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	cmd(t, c, "EHLO client.example", 250, "")
	r := sendMessage(t, c, "a@b.example", "c@d.example", "Subject: lost\r\n\r\nNOOP\r\nx\r\n.\r\n")
	wantReply(t, "end of data", r, 451, "4.3.0")
	// In step: the content's NOOP line was not taken as a command.
	cmd(t, c, "RSET", 250, "2.0.0")
	if n := len(e.messages()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	if !strings.Contains(appLogs.String(), `msg="message not stored"`) {
		t.Fatalf("failure not in the app log:\n%s", appLogs)
	}
}
