package outputs

import (
	"bufio"
	"bytes"
	"io"
	"time"

	"fakesmtp/internal/store"
)

// WriteMbox appends one message to an mbox in the "mboxrd" form, which
// tools such as sa-learn --mbox read: a "From " separator line with the
// envelope sender and the time received, the message with CRLF turned
// into LF and every line matching /^>*From / given one more ">", and an
// empty line.
func WriteMbox(w io.Writer, env *store.Envelope, body []byte) error {
	bw := bufio.NewWriter(w)
	from := env.MailFrom
	if from == "" {
		from = "MAILER-DAEMON"
	}
	bw.WriteString("From " + store.Sanitize(from) + " " + env.ReceivedAt.UTC().Format(time.ANSIC) + "\n")
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i+1], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			bw.WriteByte('>')
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	bw.WriteByte('\n')
	return bw.Flush()
}
