package e2e

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Under systemd (Type=notify) fakesmtp sends READY=1 once it listens, and
// STOPPING=1 when it stops (sd_notify(3) over $NOTIFY_SOCKET).
func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "notify")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	storePath := filepath.Join(t.TempDir(), "store")
	srv := start(t, func(addr string) ([]string, []string) {
		return []string{"serve", "--listen", addr, "--store-path", storePath}, []string{"NOTIFY_SOCKET=" + sock}
	})
	read := func() string {
		buf := make([]byte, 256)
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := pc.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
	if got := read(); got != "READY=1" {
		t.Fatalf("first notification %q", got)
	}
	srv.stop(t)
	if got := read(); !strings.HasPrefix(got, "STOPPING=1") {
		t.Fatalf("on stop: %q", got)
	}
}
