package smtpd_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
)

// The pregreet test needs a real banner delay: the client must be able
// to talk while the server is still silent.
const bannerDelay = 300 * time.Millisecond

func bannerDelayConfig(earlyTalk bool) smtpd.Config {
	cfg := devConfig()
	cfg.BannerDelay = bannerDelay
	cfg.DoEarlyTalk = earlyTalk
	return cfg
}

// Postscreen's pregreet test: a client that talks before the banner is
// refused with 554 5.5.1 and never sees a 220.
func TestEarlyTalkBeforeBanner(t *testing.T) {
	e := start(t, bannerDelayConfig(true), realSleep)
	c := smtptest.Dial(t, e.addr)
	c.Send("EHLO x\r\n")
	wantReply(t, "early talker", c.Read(), 554, "5.5.1")
	c.ExpectClosed()
	logs := e.logs.String()
	// The bytes are logged escaped: bytes="EHLO x\r\n" on one line.
	if want := "bytes=" + strconv.Quote("EHLO x\r\n"); !hasLine(logs, want) {
		t.Fatalf("log lacks %s:\n%s", want, logs)
	}
	if strings.Contains(logs, "\r") {
		t.Fatalf("raw CR in the log:\n%q", logs)
	}
	if !hasLine(logs, "early_talk=true") {
		t.Fatalf("summary lacks early_talk=true:\n%s", logs)
	}
}

// A client that waits for the banner passes the pregreet test.
func TestEarlyTalkClientWaits(t *testing.T) {
	e := start(t, bannerDelayConfig(true), realSleep)
	c := e.dial() // reads the 220 before sending anything
	cmd(t, c, "EHLO client.example", 250, "")
	cmd(t, c, "QUIT", 221, "2.0.0")
	c.ExpectClosed()
	if !hasLine(e.logs.String(), "early_talk=false") {
		t.Fatalf("summary lacks early_talk=false:\n%s", e.logs)
	}
}

// Without do_early_talk the early bytes are simply kept and answered
// after the banner.
func TestEarlyTalkOffKeepsBytes(t *testing.T) {
	e := start(t, bannerDelayConfig(false), realSleep)
	c := smtptest.Dial(t, e.addr)
	c.Send("EHLO x\r\n")
	wantReply(t, "banner", c.Read(), 220, "")
	wantReply(t, "early EHLO", c.Read(), 250, "")
	cmd(t, c, "QUIT", 221, "2.0.0")
}

// pipelined is input sent in one write, and the replies it must get.
type pipelined struct {
	name  string
	setup []string // commands sent one by one first
	input string   // then this, in a single write
	want  []string // "code enhanced" of each reply, in order
}

var pipelineCases = []struct {
	pipelined
	earlyTalkWant []string // replies when do_early_talk is on
	earlyTalkEnds bool
}{
	{
		pipelined: pipelined{
			name:  "MAIL RCPT DATA after EHLO",
			setup: []string{"EHLO client.example"},
			input: "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
			want:  []string{"250 2.1.0", "250 2.1.5", "354 "},
		},
		// RFC 2920 3.1: MAIL and RCPT may be grouped, DATA ends the group.
		earlyTalkWant: []string{"250 2.1.0", "250 2.1.5", "354 "},
	},
	{
		pipelined: pipelined{
			name:  "EHLO then MAIL",
			input: "EHLO x\r\nMAIL FROM:<a@b.example>\r\n",
			want:  []string{"250 ", "250 2.1.0"},
		},
		// EHLO must end a group: the MAIL behind it is early talk.
		earlyTalkWant: []string{"554 5.5.1"},
		earlyTalkEnds: true,
	},
	{
		pipelined: pipelined{
			name:  "MAIL RCPT after HELO",
			setup: []string{"HELO client.example"},
			input: "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n",
			want:  []string{"250 2.1.0", "250 2.1.5"},
		},
		// No PIPELINING after HELO: every command waits for its reply.
		earlyTalkWant: []string{"554 5.5.1"},
		earlyTalkEnds: true,
	},
	{
		pipelined: pipelined{
			name:  "content behind DATA",
			setup: []string{"EHLO client.example", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>"},
			input: "DATA\r\nSubject: x\r\n",
			want:  []string{"354 "},
		},
		// Content before the 354.
		earlyTalkWant: []string{"554 5.5.1"},
		earlyTalkEnds: true,
	},
}

func TestPipelining(t *testing.T) {
	for _, earlyTalk := range []bool{true, false} {
		cfg := devConfig()
		cfg.DoEarlyTalk = earlyTalk
		cfg.MaxErrors = 100
		e := start(t, cfg)
		for _, tc := range pipelineCases {
			want, ends := tc.want, false
			if earlyTalk {
				want, ends = tc.earlyTalkWant, tc.earlyTalkEnds
			}
			t.Run(tc.name+"/early_talk="+strconv.FormatBool(earlyTalk), func(t *testing.T) {
				c := connect(t, e.addr)
				for _, line := range tc.setup {
					if r := c.Cmd(line); r.Code != 250 {
						t.Fatalf("setup %q: %v", line, r)
					}
				}
				c.Send(tc.input)
				for i, w := range want {
					code, _ := strconv.Atoi(w[:3])
					wantReply(t, "reply "+strconv.Itoa(i), c.Read(), code, strings.TrimSpace(w[4:]))
				}
				if ends {
					c.ExpectClosed()
					return
				}
				// The session is in step: finish whatever was started.
				if want[len(want)-1] == "354 " {
					c.Send("\r\nbody\r\n.\r\n")
					wantReply(t, "end of data", c.Read(), 250, "2.0.0")
				}
				cmd(t, c, "QUIT", 221, "2.0.0")
			})
		}
	}
}
