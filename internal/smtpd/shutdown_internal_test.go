package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A connection that Accept returned just as Shutdown closed the listener
// must not start a session: Shutdown may already be waiting for the
// sessions to end (or have returned), and a session registered then is a
// WaitGroup Add racing its Wait. The connection is told 421 4.3.2.
func TestAcceptedDuringShutdown(t *testing.T) {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	srv, err := New(Config{
		Hostname:       "mx.fakesmtp.test",
		ReceiveTimeout: time.Hour,
		MaxRcpt:        1,
		MaxSessions:    1,
		MaxDataSize:    1 << 20,
	}, Deps{Logger: logger, SessionLog: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// What Serve does with a connection Accept returned.
	srv.handle(conn, false)

	if strings.Contains(logs.String(), "msg=connect") {
		t.Fatalf("a session started after Shutdown returned:\n%s", logs)
	}
	if n := srv.ActiveSessions(); n != 0 {
		t.Fatalf("%d active sessions after Shutdown", n)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(client)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421 4.3.2 ") {
		t.Fatalf("first line %q, %v; want 421 4.3.2", line, err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the 421: %q, %v; want close", rest, err)
	}
}

// hookConn runs hook inside the first SetReadDeadline call, before the
// deadline is applied.
type hookConn struct {
	net.Conn
	once sync.Once
	hook func()
}

func (c *hookConn) SetReadDeadline(t time.Time) error {
	c.once.Do(c.hook)
	return c.Conn.SetReadDeadline(t)
}

// The end of the grace period (session.wake) may land while a DATA read
// is between its stopped check and the renewal of its idle deadline; the
// renewal must not undo the wake, or the session waits out a whole
// receive_timeout before it hears of the shutdown.
func TestWakeDuringDataRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	dc := &deadlineConn{}
	dc.Conn = &hookConn{Conn: conn, hook: func() {
		// What session.wake does, at the worst moment.
		dc.stopped.Store(true)
		conn.SetReadDeadline(time.Now())
	}}
	dc.idle.Store(int64(time.Hour)) // reading DATA content
	errc := make(chan error, 1)
	go func() {
		_, err := dc.Read(make([]byte, 16))
		errc <- err
	}()
	select {
	case err := <-errc:
		if !isTimeout(err) {
			t.Fatalf("Read: %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still blocked after the wake")
	}
}
