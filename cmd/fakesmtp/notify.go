package main

import (
	"net"
	"os"
	"strings"
)

// sdNotify tells systemd about the service's state (sd_notify(3)): with
// Type=notify in the unit, "READY=1" once every listener is open, so that
// units ordered after fakesmtp start only when it accepts mail, and
// "STOPPING=1" when a graceful stop begins. Without $NOTIFY_SOCKET (not
// under systemd) it does nothing.
func sdNotify(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:] // Linux abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}
