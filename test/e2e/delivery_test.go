package e2e

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Each test delivers one message with a real client and checks that the
// stored file, read with store.ReadFile, has the envelope and exactly the
// bytes the client sent.

func TestSwaksHeaderAndBody(t *testing.T) {
	t.Parallel()
	srv := startDev(t)
	// swaks turns the two characters \n into CRLF. The dot lines check
	// that swaks' dot-stuffing is undone and nothing else is.
	out := swaks(t, "--server", srv.Addr, "--from", "a@example.org", "--to", "b@example.net",
		"--header", "Subject: e2e",
		"--body", `first line\n.starts with a dot\n..two dots\n.\n last line with a leading space`)
	id := queuedID(t, out)
	env, body := readMessage(t, srv.Store, id)
	checkEnvelope(t, env, "a@example.org", "b@example.net")
	sent := swaksData(t, out)
	checkBody(t, body, sent)
	for _, want := range []string{"Subject: e2e\r\n", "\r\n\r\nfirst line\r\n.starts with a dot\r\n..two dots\r\n.\r\n last line"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("stored body lacks %q:\n%s", want, body)
		}
	}
}

func TestSwaksBinaryAttachment(t *testing.T) {
	t.Parallel()
	srv := startDev(t)
	// Every byte value, and runs of CR, LF and dots, which would be
	// mangled if anything on the way were not 8-bit clean.
	var blob []byte
	for i := range 3000 {
		blob = append(blob, byte(i*7+i/256))
	}
	blob = append(blob, "\r\n.\r\n\r.\n..\x00\xff"...)
	path := writeFile(t, t.TempDir(), "blob.bin", blob)

	out := swaks(t, "--server", srv.Addr, "--from", "a@example.org", "--to", "b@example.net",
		"--header", "Subject: e2e attachment", "--body", "see attachment", "--attach", "@"+path)
	id := queuedID(t, out)
	env, body := readMessage(t, srv.Store, id)
	checkEnvelope(t, env, "a@example.org", "b@example.net")
	checkBody(t, body, swaksData(t, out))
	if got := attachment(t, body, "blob.bin"); !bytes.Equal(got, blob) {
		t.Errorf("attachment decoded from the stored message differs from the file: %d bytes, want %d", len(got), len(blob))
	}
}

// attachment returns the decoded MIME part named filename.
func attachment(t *testing.T, msg []byte, filename string) []byte {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("stored message does not parse: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("stored message is %q (%v), want multipart", mt, err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			t.Fatalf("no part named %q in the stored message", filename)
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.FileName() != filename {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(cte, "base64") {
			t.Fatalf("attachment encoded as %q, want base64", cte)
		}
		dec, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, string(data)))
		if err != nil {
			t.Fatalf("attachment: %v", err)
		}
		return dec
	}
}

func TestSwaksPipeline(t *testing.T) {
	t.Parallel()
	srv := startDev(t)
	out := swaks(t, "--server", srv.Addr, "--pipeline", "--from", "a@example.org",
		"--to", "b@example.net,c@example.net", "--header", "Subject: e2e pipelined", "--body", "pipelined")
	// With PIPELINING, swaks sends MAIL, RCPT and DATA before reading a
	// reply; make sure it did, or this test checks nothing new.
	if !regexp.MustCompile(`(?m)^ -> DATA\r?\n<-  250 2\.1\.0 `).MatchString(out) {
		t.Fatalf("swaks did not pipeline MAIL..DATA:\n%s", out)
	}
	id := queuedID(t, out)
	env, body := readMessage(t, srv.Store, id)
	checkEnvelope(t, env, "a@example.org", "b@example.net", "c@example.net")
	checkBody(t, body, swaksData(t, out))
}

// TestSwaksDataFile sends a whole message given with --data, so the
// expected bytes do not depend on parsing swaks' transcript. swaks (see
// --no-data-fixup in man swaks) still dot-stuffs, and ends the data with
// "\r\n." itself: a file without a final newline arrives with one CRLF
// added, and nothing else changes when the file has no %TOKENS%, uses
// CRLF and does not start with "From ".
func TestSwaksDataFile(t *testing.T) {
	t.Parallel()
	srv := startDev(t)
	msg := "From: a@example.org\r\n" +
		"To: b@example.net\r\n" +
		"Subject: e2e data file\r\n" +
		"Message-ID: <e2e-data-file@example.org>\r\n" +
		"\r\n" +
		".leading dot\r\n" +
		"..two leading dots\r\n" +
		". \r\n" +
		"\ttab, trailing space \r\n" +
		strings.Repeat("long line ", 90) + "\r\n" +
		"\r\n" +
		"last line, no newline"
	path := writeFile(t, t.TempDir(), "msg.eml", []byte(msg))
	out := swaks(t, "--server", srv.Addr, "--from", "a@example.org", "--to", "b@example.net", "--data", "@"+path)
	id := queuedID(t, out)
	env, body := readMessage(t, srv.Store, id)
	checkEnvelope(t, env, "a@example.org", "b@example.net")
	want := []byte(msg + "\r\n")
	checkBody(t, body, want)
	// The transcript parser the other tests rely on agrees.
	if sent := swaksData(t, out); !bytes.Equal(sent, want) {
		t.Errorf("swaksData read %q from the transcript, want %q", sent, want)
	}
}

// pySend is a Python smtplib client. It records the bytes smtplib hands to
// DATA (before dot-stuffing) in the file argv[4] and prints the final reply.
// argv[3] selects the API: "send_message" (which adds SMTPUTF8 and
// BODY=8BITMIME itself for non-ASCII addresses), "send_message_smtputf8"
// (the same with SMTPUTF8 also passed by the caller, so it is sent twice)
// or "sendmail" with the options given explicitly.
const pySend = `
import email.policy, smtplib, sys
from email.message import EmailMessage

host, port, api, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

class Recorder(smtplib.SMTP):
    def data(self, msg):
        self.sent = msg
        self.final = super().data(msg)
        return self.final

msg = EmailMessage(policy=email.policy.SMTPUTF8)
msg['From'] = 'Jörg Müller <jörg@exämple.org>'
msg['To'] = 'Zoë <zoë@example.net>'
msg['Subject'] = 'Grüße aus Köln ✉'
msg['Message-ID'] = '<e2e-python@example.org>'
msg.set_content('Grüße! 8-bit body: äöü ß € 日本語\n.a line that starts with a dot\n', cte='8bit')

with Recorder(host, port) as s:
    if api == 'send_message':
        refused = s.send_message(msg)
    elif api == 'starttls_login':
        # STARTTLS (the dev mode's self-signed certificate) and AUTH.
        import ssl
        s.starttls(context=ssl._create_unverified_context())
        s.login('py-user', 'py-pass')
        refused = s.send_message(msg)
    elif api == 'send_message_smtputf8':
        # smtplib adds SMTPUTF8 too: the server sees it twice.
        refused = s.send_message(msg, mail_options=['SMTPUTF8'])
    else:
        refused = s.sendmail('jörg@exämple.org', ['zoë@example.net'], msg.as_bytes(),
                             mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
    if refused:
        sys.exit('refused: %r' % refused)
    code, text = s.final
with open(out, 'wb') as f:
    f.write(s.sent)
print(code, text.decode())
`

func TestPythonSMTPUTF8(t *testing.T) {
	t.Parallel()
	python := tool(t, "python3", "apt-get install python3")
	srv := startDev(t, "--auth", "any")
	host, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range []string{"send_message", "send_message_smtputf8", "sendmail", "starttls_login"} {
		t.Run(api, func(t *testing.T) {
			sentPath := filepath.Join(t.TempDir(), "sent.eml")
			out := runTool(t, python, "-c", pySend, host, port, api, sentPath)
			m := regexp.MustCompile(`^250 2\.0\.0 Ok: queued as (\S+)\n$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("python: %q, want the 250 reply to DATA", out)
			}
			sent, err := os.ReadFile(sentPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(sent, []byte("\r\n")) || !bytes.Contains(sent, []byte("Grüße! 8-bit body")) {
				t.Fatalf("python sent %q: want an 8-bit message ending in CRLF (else smtplib adds bytes after recording)", sent)
			}
			env, body := readMessage(t, srv.Store, m[1])
			checkEnvelope(t, env, "jörg@exämple.org", "zoë@example.net")
			checkBody(t, body, sent)
			raw, err := os.ReadFile(filepath.Join(srv.Store, m[1]+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			with := " with UTF8SMTP id "
			if api == "starttls_login" {
				with = " with UTF8SMTPSA id "
				if !bytes.Contains(raw, []byte("X-FakeSMTP-Auth-User: py-user")) {
					t.Errorf("no auth user:\n%s", raw[:bytes.Index(raw, body)])
				}
			}
			if !bytes.Contains(raw, []byte(with+m[1])) {
				t.Errorf("Received header does not say %s:\n%s", with, raw[:bytes.Index(raw, body)])
			}
		})
	}
}
