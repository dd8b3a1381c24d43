package smtpd

import "testing"

func TestRedactAuth(t *testing.T) {
	for in, want := range map[string]string{
		"EHLO x\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\n": "EHLO x\r\nAUTH <redacted>",
		"auth login\r\nc2VjcmV0\r\n":                "AUTH <redacted>",
		"EHLO x\r\nMAIL FROM:<a@b>\r\n":             "EHLO x\r\nMAIL FROM:<a@b>\r\n",
		"HELO AUTHOR\r\n":                           "HELO AUTHOR\r\n",
	} {
		if got := redactAuth([]byte(in)); got != want {
			t.Errorf("redactAuth(%q) = %q, want %q", in, got, want)
		}
	}
}
