package smtpd

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"

	"fakesmtp/internal/diagnose"
	"fakesmtp/internal/smtp"
	"fakesmtp/internal/store"
)

var (
	replyBDATSyntax  = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Syntax: BDAT chunk-size [LAST]"}, Close: true}
	replyDataAndBDAT = smtp.Reply{Code: 503, Enhanced: smtp.EnhancedCode{5, 5, 1}, Lines: []string{"Error: DATA cannot follow BDAT, nor carry BODY=BINARYMIME"}}
)

// bdatState is a message being received in BDAT chunks (RFC 3030).
type bdatState struct {
	env      *store.Envelope
	sw       *store.Writer
	storeErr error
	size     int64
	tooBig   bool
	// head holds the message's first headerPeek bytes, across chunks,
	// until the header checks have run on them (startBDAT): their findings
	// go into the file's annotation headers, as for DATA.
	head    bytes.Buffer
	started bool
}

// abort drops the message being received.
func (b *bdatState) abort() {
	if b != nil && b.sw != nil {
		b.sw.Abort()
	}
}

// parseBDAT parses "chunk-size [LAST]" (RFC 3030 section 2).
func parseBDAT(arg string) (size int64, last, ok bool) {
	f := strings.Fields(arg)
	if len(f) < 1 || len(f) > 2 || f[0] == "" || strings.TrimLeft(f[0], "0123456789") != "" {
		return 0, false, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, false, false
	}
	if len(f) == 2 {
		if !strings.EqualFold(f[1], "LAST") {
			return 0, false, false
		}
		last = true
	}
	return n, last, true
}

// bdatCmd reads one BDAT chunk. The chunk's octets follow the command
// without waiting for a reply (RFC 3030 section 4.2), so they are always
// read — also when the command is refused — or the session would take
// message bytes for commands. A command whose size cannot be parsed
// leaves no way to find the next command: it is refused and the session
// closed.
func (s *session) bdatCmd(ctx context.Context, cmd smtp.Command) smtp.Reply {
	size, last, ok := parseBDAT(cmd.Arg)
	if !ok {
		s.reason = "bad BDAT syntax"
		return replyBDATSyntax
	}
	refusal := smtp.Reply{}
	switch {
	case !s.cfg.Chunking:
		refusal = replyNotImplemented
	case s.state != stateRcpt:
		refusal = sequence[smtp.VerbData][s.state]
	}
	if refusal.IsZero() && s.bdat == nil {
		s.bdat = &bdatState{env: s.envelope()}
	}
	// The chunk goes to the store unless the message is refused; a write
	// error is kept for the end (the reply comes after the last chunk),
	// and the chunk is still read to its end.
	sink := &chunkSink{}
	if b := s.bdat; refusal.IsZero() && !b.tooBig && b.storeErr == nil {
		if size > s.cfg.MaxDataSize-b.size { // (no overflow: both are <= MaxDataSize)
			b.tooBig = true
		} else {
			sink.w = bdatWriter{ctx: ctx, s: s, b: b}
		}
	}
	s.dc.idle.Store(int64(s.timeout()))
	_, err := io.CopyN(sink, s.reader(), size)
	s.dc.idle.Store(0)
	if sink.err != nil && s.bdat != nil {
		s.bdat.storeErr = sink.err
	}
	if err != nil {
		s.bdat.abort()
		s.bdat = nil
		return s.contentReadFailed(err, "BDAT")
	}
	if !refusal.IsZero() {
		return refusal
	}
	b := s.bdat
	if size > s.cfg.MaxDataSize-b.size {
		b.tooBig = true
		b.size = s.cfg.MaxDataSize + 1 // stays over the limit, never wraps
	} else {
		b.size += size
	}
	if !last {
		return smtp.NewReply(250, smtp.EnhancedCode{2, 0, 0}, "Ok: %d octets received", size)
	}
	s.bdat = nil
	defer s.reset()
	defer b.abort()
	if !b.started && !b.tooBig {
		s.startBDAT(ctx, b, true) // a message shorter than headerPeek
	}
	return s.finishMessage(ctx, b.env, b.sw, b.storeErr, b.tooBig, smtp.DataStats{Bytes: b.size})
}

// startBDAT runs the header checks on the first bytes of a BDAT message
// (all of it when whole) and creates its file with them, its annotations
// complete.
func (s *session) startBDAT(ctx context.Context, b *bdatState, whole bool) {
	b.started = true
	check := diagnose.Head
	if whole {
		check = diagnose.Message
	}
	msg := check(b.head.Bytes(), s.tx.smtputf8)
	s.messageFindings(msg)
	b.env.Extra = append(b.env.Extra, s.findingHeaders(msg)...)
	if s.cfg.StoreData {
		b.sw, b.storeErr = s.srv.deps.Store.CreateWith(ctx, b.env, b.head.Bytes())
	}
	b.head = bytes.Buffer{}
}

// bdatWriter takes a BDAT message's octets: into bdatState.head until
// headerPeek bytes are there, then into the file (none when store_data
// is off).
type bdatWriter struct {
	ctx context.Context
	s   *session
	b   *bdatState
}

func (w bdatWriter) Write(p []byte) (int, error) {
	b := w.b
	if !b.started {
		b.head.Write(p)
		if b.head.Len() >= headerPeek {
			w.s.startBDAT(w.ctx, b, false)
		}
		return len(p), nil
	}
	if b.sw == nil || b.storeErr != nil {
		return len(p), nil
	}
	return b.sw.Write(p)
}

// chunkSink passes chunk octets to w (nil: drops them) and remembers the
// first write error instead of returning it, so that a failing disk never
// stops the chunk from being read to its end.
type chunkSink struct {
	w   io.Writer
	err error
}

func (c *chunkSink) Write(p []byte) (int, error) {
	if c.w != nil && c.err == nil {
		_, c.err = c.w.Write(p)
	}
	return len(p), nil
}
