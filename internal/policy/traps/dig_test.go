package traps

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDig queries the DNS list server with the real dig (Debian package
// dnsutils), the tool an operator checks a DNS list with, as the
// standard A and TXT queries postscreen and reject_rbl_client send. CI
// installs dnsutils, so a missing dig is a failure, not a skip.
func TestDig(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Fatal("dig not found: install dnsutils (apt-get install -y dnsutils)")
	}
	tr := newTraps(t, Config{}, newClock())
	mustRecord(t, tr, "192.0.2.1", "trap@example.test", ReasonMailbox)
	addr, _ := startDNS(t, tr)
	_, port, _ := net.SplitHostPort(addr)

	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		args = append([]string{"@127.0.0.1", "-p", port, "+time=5", "+tries=1"}, args...)
		out, err := exec.CommandContext(ctx, dig, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"2.0.0.127." + testZone, "A", "+short"}, "127.0.0.2"},
		{[]string{"1.2.0.192." + testZone, "A", "+short"}, "127.0.0.2"},
		{[]string{"1.2.0.192." + testZone, "TXT", "+short"}, `"Trapped by fakesmtp: 192.0.2.1 sent mail to a spam trap (trap mailbox)"`},
		{[]string{"1.0.0.127." + testZone, "A", "+short"}, ""},
		{[]string{"+tcp", "2.0.0.127." + testZone, "A", "+short"}, "127.0.0.2"},
	}
	for _, tc := range tests {
		if got := run(tc.args...); got != tc.want {
			t.Errorf("dig %s = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	// The full answer of a negative: NXDOMAIN, authoritative, with the SOA.
	out := run("1.0.0.127."+testZone, "A", "+norecurse")
	for _, want := range []string{"status: NXDOMAIN", " aa", "AUTHORITY: 1", "IN\tSOA\tmx.example.test. hostmaster.trap.example.test."} {
		if !strings.Contains(out, want) {
			t.Errorf("dig output lacks %q:\n%s", want, out)
		}
	}
}
