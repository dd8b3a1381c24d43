package smtpd_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"fakesmtp/internal/smtpd"
	"fakesmtp/internal/smtptest"
)

// shutdownConfig never times a client out by itself within a test: a 421
// 4.3.2 that arrives before smtptest.Timeout can only come from Shutdown
// waking the session, which is what "promptly" means here.
func shutdownConfig() smtpd.Config {
	cfg := devConfig()
	cfg.ReceiveTimeout = time.Hour
	return cfg
}

// shutdownAsync starts Shutdown and returns its result channel.
func shutdownAsync(srv *smtpd.Server, ctx context.Context) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Shutdown(ctx) }()
	return errc
}

// A session between transactions is told 421 4.3.2 at once.
func TestShutdownIdleSession(t *testing.T) {
	s := serve(t, shutdownConfig())
	c := connect(t, s.addr)
	cmd(t, c, "EHLO client.example", 250, "")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := shutdownAsync(s.srv, ctx)
	wantReply(t, "idle session", c.Read(), 421, "4.3.2")
	c.ExpectClosed()
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	<-s.done
	if !errors.Is(s.serveErr, smtpd.ErrServerClosed) {
		t.Fatalf("Serve returned %v", s.serveErr)
	}
	if n := s.srv.ActiveSessions(); n != 0 {
		t.Fatalf("%d sessions after Shutdown", n)
	}
	if !hasLine(s.logs.String(), `reason="server shutdown"`) {
		t.Fatalf("summary without shutdown reason:\n%s", s.logs)
	}

	// A second Shutdown (the harness's cleanup does one) is harmless, and
	// a stopped server serves nothing more.
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Serve(ln); !errors.Is(err, smtpd.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("Serve after Shutdown left its listener open")
	}
}

// A session inside a transaction may finish it during the grace period;
// its next command is then answered 421 4.3.2.
func TestShutdownLetsTransactionFinish(t *testing.T) {
	s := serve(t, shutdownConfig())
	idle := connect(t, s.addr)
	cmd(t, idle, "EHLO client.example", 250, "")
	busy := connect(t, s.addr)
	startTx(t, busy)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := shutdownAsync(s.srv, ctx)
	// The idle session's 421 shows Shutdown has begun.
	wantReply(t, "idle session", idle.Read(), 421, "4.3.2")

	cmd(t, busy, "DATA", 354, "")
	busy.Send("Subject: in grace\r\n\r\nbody\r\n.\r\n")
	wantReply(t, "end of data", busy.Read(), 250, "2.0.0")
	cmd(t, busy, "NOOP", 421, "4.3.2")
	busy.ExpectClosed()
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(s.messages()); n != 1 {
		t.Fatalf("%d messages stored, want the one finished in grace", n)
	}
}

// A session stalled in DATA when the grace period ends is told 421 4.3.2
// and closed; its message is dropped and Shutdown reports ctx.Err().
func TestShutdownGraceExpires(t *testing.T) {
	s := serve(t, shutdownConfig())
	idle := connect(t, s.addr)
	cmd(t, idle, "EHLO client.example", 250, "")
	busy := connect(t, s.addr)
	startTx(t, busy)
	cmd(t, busy, "DATA", 354, "")
	// More than headerPeek, so that the file exists before the stall.
	busy.Send("Subject: cut short\r\n\r\n" + strings.Repeat("partial line\r\n", 6000))
	waitFor(t, "temporary file", func() bool { return len(s.tmpFiles()) == 1 })

	// The grace period ends when ctx does; cancelling it is the same
	// event as its deadline passing, without a timing race in the test.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := shutdownAsync(s.srv, ctx)
	wantReply(t, "idle session", idle.Read(), 421, "4.3.2")
	cancel()

	wantReply(t, "stalled DATA", busy.Read(), 421, "4.3.2")
	busy.ExpectClosed()
	if err := <-errc; err == nil || err != ctx.Err() {
		t.Fatalf("Shutdown returned %v, want %v", err, ctx.Err())
	}
	if n := len(s.messages()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	if tmp := s.tmpFiles(); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

// Connections arriving while Shutdown runs are either served to their
// end or refused; none is left open, and Shutdown returns once all are
// done. A stress test: the exact interleaving (a connection accepted
// just as the listener closes) is pinned down by the internal
// TestAcceptedDuringShutdown.
func TestShutdownWhileConnecting(t *testing.T) {
	s := serve(t, shutdownConfig())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.Dial("tcp", s.addr)
				if err != nil {
					continue // the listener is closed: keep trying until stop
				}
				// Whatever it gets (220 then 421, or only 421), the
				// server must close it.
				c.SetDeadline(time.Now().Add(smtptest.Timeout))
				var buf [512]byte
				for {
					if _, err := c.Read(buf[:]); err != nil {
						var ne net.Error
						if errors.As(err, &ne) && ne.Timeout() {
							t.Error("connection left open after Shutdown")
						}
						break
					}
				}
				c.Close()
			}
		}()
	}
	waitFor(t, "sessions", func() bool { return s.srv.ActiveSessions() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	close(stop)
	wg.Wait()
}

// A session blocked writing replies to a client that does not read them
// is freed when the grace period ends: Shutdown waits rejectWriteTimeout
// for it at most, not receive_timeout.
func TestShutdownFreesBlockedWriter(t *testing.T) {
	cfg := shutdownConfig()
	cfg.ReceiveTimeout = 20 * time.Second
	s := serve(t, cfg)
	c := connect(t, s.addr)
	cmd(t, c, "EHLO client.example", 250, "")
	c.Conn.(*net.TCPConn).SetReadBuffer(4096)
	// HELP has no limit and a ~100-byte reply: flood it, never read.
	go func() {
		chunk := []byte(strings.Repeat("HELP\r\n", 10000))
		c.Conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		for i := 0; i < 200; i++ {
			if _, err := c.Conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	time.Sleep(2 * time.Second) // let the server's send buffer fill
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := s.srv.Shutdown(ctx)
	took := time.Since(began)
	t.Logf("Shutdown returned %v after %v", err, took)
	if took > cfg.ReceiveTimeout/2 {
		t.Fatalf("Shutdown took %v with a 200ms grace period and receive_timeout %v", took, cfg.ReceiveTimeout)
	}
}

// During the grace period, receive_timeout still applies to a session in
// a transaction: a line cut by it ends the session, and its second half
// is never read as a command of its own.
func TestGraceKeepsReceiveTimeout(t *testing.T) {
	cfg := shutdownConfig()
	cfg.ReceiveTimeout = 300 * time.Millisecond
	cfg.MaxErrors = 100
	s := serve(t, cfg)
	busy := connect(t, s.addr)
	startTx(t, busy)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errc := shutdownAsync(s.srv, ctx)
	time.Sleep(50 * time.Millisecond)
	busy.Send("RCPT TO:<second")
	time.Sleep(500 * time.Millisecond)
	busy.Send("@d.example>\r\n")
	if r := busy.Read(); r.Code != 421 {
		t.Errorf("a line cut by receive_timeout in the grace period: %v, want 421 (timeout)", r)
	}
	busy.Conn.Close()
	<-errc
}
