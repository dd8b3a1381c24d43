package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// transaction is one attempt to hand a message to the smarthost.
type transaction struct {
	from  string   // reverse-path without brackets; "" is the null path
	rcpts []string // forward-paths still pending
	data  []byte   // the content as it goes upstream (Received line + message)
}

// result is the outcome of an attempt: each recipient's reply.
type result map[string]Reply

// all gives every recipient of tx the same reply.
func all(tx transaction, r Reply) result {
	res := make(result, len(tx.rcpts))
	for _, rc := range tx.rcpts {
		res[rc] = r
	}
	return res
}

// send makes one attempt: connect, greet, secure, authenticate, and run
// one mail transaction (RFC 5321 3.3). It never fails as a whole: every
// failure becomes the recipients' reply, temporary or permanent.
func (q *Queue) send(ctx context.Context, tx transaction) result {
	addr := net.JoinHostPort(q.cfg.Host, strconv.Itoa(q.cfg.Port))
	d := net.Dialer{Timeout: q.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return all(tx, localFailure("connect to %s: %v", addr, err))
	}
	// Closing the connection is how a cancelled context (shutdown) ends
	// a blocked read or write.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	c := newClient(conn, q.cfg.Timeout)
	if q.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, q.tlsConfig(true))
		hctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return all(tx, localFailure("TLS handshake with %s: %v", addr, err))
		}
		c = newClient(tc, q.cfg.Timeout)
		c.tls = true
	}
	res := q.converse(ctx, c, tx)
	// QUIT politely; its reply does not change the outcome.
	c.cmd("QUIT")
	return res
}

// converse runs the dialogue on an open connection.
func (q *Queue) converse(ctx context.Context, c *client, tx transaction) result {
	greet, err := c.readReply()
	if err != nil {
		return all(tx, asReply(err))
	}
	if greet.Code != 220 {
		return all(tx, notDelivered("greeting", greet))
	}
	if err := c.hello(q.cfg.Hostname); err != nil {
		return all(tx, asReply(err))
	}
	if !c.tls && (q.cfg.TLS == TLSStartTLS || q.cfg.TLS == TLSStartTLSRequired) {
		if _, ok := c.ext["STARTTLS"]; ok {
			err := c.startTLS(ctx, q.tlsConfig(q.cfg.TLS == TLSStartTLSRequired), q.cfg.Hostname)
			var refused errReply
			switch {
			case err == nil:
			case !c.tls && errors.As(err, &refused) && q.cfg.TLS == TLSStartTLS:
				// STARTTLS refused, the session still plain (RFC 3207
				// 4): like Postfix's "may" level, go on without TLS.
				q.logger.Warn("relay: the smarthost refused STARTTLS; sending without TLS", "reply", refused.r.String())
			case !c.tls && errors.As(err, &refused):
				// Required: try again later, as Postfix's "encrypt"
				// level does; the refusal is no verdict on the message.
				return all(tx, localFailure("smarthost refused STARTTLS (%s), and relay_tls is starttls-required", refused.r))
			default:
				return all(tx, asReply(err))
			}
		} else if q.cfg.TLS == TLSStartTLSRequired {
			return all(tx, localFailure("smarthost does not offer STARTTLS, and relay_tls is starttls-required"))
		}
	}
	if q.cfg.User != "" {
		if !c.tls && q.cfg.TLS != TLSNone {
			return all(tx, localFailure("no TLS with the smarthost: credentials not sent in clear (set relay_tls = \"none\" to allow it)"))
		}
		if err := c.auth(q.cfg.User, q.cfg.Password); err != nil {
			return all(tx, asReply(err))
		}
	}
	mail := "MAIL FROM:<" + tx.from + ">"
	if _, ok := c.ext["SIZE"]; ok {
		mail += " SIZE=" + strconv.Itoa(len(tx.data))
	}
	if _, ok := c.ext["8BITMIME"]; ok && !isASCII(tx.data) {
		mail += " BODY=8BITMIME"
	}
	if needsUTF8(tx) {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			// RFC 6531 3.4: without the extension the message cannot be
			// relayed; no later attempt will change that.
			return all(tx, permanentLocal("5.6.7 smarthost does not offer SMTPUTF8, needed for a non-ASCII address"))
		}
		mail += " SMTPUTF8"
	}
	r, err := c.cmd(mail)
	if err != nil {
		return all(tx, asReply(err))
	}
	if !r.OK() {
		return all(tx, r)
	}
	// A 2xx to RCPT only says the recipient would be accepted (RFC 5321
	// 4.1.1.3); the message is delivered by the reply to its content
	// (4.1.1.4). So res holds only refusals until then: an accepted
	// recipient gets the reply that ends the transaction, the one after
	// the content or whatever ended it earlier, and attempt never takes
	// a RCPT 250 for a delivery.
	res := make(result, len(tx.rcpts))
	var accepted []string
	for _, rc := range tx.rcpts {
		r, err := c.cmd("RCPT TO:<" + rc + ">")
		if err != nil {
			// The connection is gone before the content: no one got the
			// message, those already accepted no more than the rest, so
			// all but the refused ones are retried.
			for _, rest := range tx.rcpts {
				if _, refused := res[rest]; !refused {
					res[rest] = asReply(err)
				}
			}
			return res
		}
		if r.OK() {
			accepted = append(accepted, rc)
			continue
		}
		res[rc] = r
	}
	if len(accepted) == 0 {
		c.cmd("RSET")
		return res
	}
	setAccepted := func(r Reply) {
		for _, rc := range accepted {
			res[rc] = r
		}
	}
	r, err = c.cmd("DATA")
	if err != nil {
		setAccepted(asReply(err))
		return res
	}
	if r.Code != 354 {
		setAccepted(notDelivered("DATA", r))
		return res
	}
	r, err = c.writeData(tx.data)
	if err != nil {
		// No final reply: the upstream may or may not have the message.
		// Retrying may duplicate it, never lose it (RFC 5321 6.1).
		setAccepted(asReply(err))
		return res
	}
	// The only place a 2xx becomes a recipient's result.
	setAccepted(r)
	return res
}

// notDelivered is the result of a transaction that ended at step, before
// the content was sent, with reply r. A refusal stands as it is; a
// positive reply there (a broken server: a 250 greeting, a 250 to DATA
// instead of 354) cannot mean delivery, as only the reply to the
// content does (RFC 5321 4.1.1.4), so it becomes a local failure, which
// is temporary.
func notDelivered(step string, r Reply) Reply {
	if r.Code >= 400 {
		return r
	}
	return localFailure("%s: unexpected reply %s; nothing was delivered", step, r)
}

// tlsConfig returns the client TLS settings; verify is false for
// opportunistic STARTTLS, which (like Postfix's "may" level) encrypts
// without authenticating the server.
func (q *Queue) tlsConfig(verify bool) *tls.Config {
	cfg := &tls.Config{ServerName: q.cfg.Host, RootCAs: q.roots, MinVersion: tls.VersionTLS12}
	if !verify || q.cfg.Insecure {
		cfg.InsecureSkipVerify = true
	}
	return cfg
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// needsUTF8 reports whether an address of tx is not ASCII (RFC 6531).
func needsUTF8(tx transaction) bool {
	if !isASCII([]byte(tx.from)) {
		return true
	}
	for _, r := range tx.rcpts {
		if !isASCII([]byte(r)) {
			return true
		}
	}
	return false
}

// describe renders a result for logs and reason files, one recipient a
// line.
func (res result) describe(order []string) string {
	var b strings.Builder
	for _, rc := range order {
		if r, ok := res[rc]; ok {
			fmt.Fprintf(&b, "<%s>: %s\n", rc, r)
		}
	}
	return b.String()
}
