package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fakesmtp/internal/smtptest"
)

// freeUDPAddr returns a 127.0.0.1 address whose UDP and TCP ports were
// both free a moment ago, for the built-in DNS list server.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	for i := 0; i < 20; i++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		pc.Close()
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free UDP+TCP port")
	return ""
}

// dig queries the DNS server at addr with the real dig and returns its
// +short answer.
func dig(t *testing.T, addr, name, qtype string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	return strings.TrimSpace(runTool(t, tool(t, "dig", "apt-get install dnsutils"),
		"@"+host, "-p", port, name, qtype, "+short", "+time=2", "+tries=1"))
}

// The whole trap chain, as the README describes it for a fake MX in front
// of a real MX: a bot writes to a trap address (swaks from 127.0.0.9), the
// client is published in the rbldnsd/cidr files and by the built-in DNS
// list server (queried with dig), and a second receiver that uses that
// list as rbl_providers refuses the bot at connect while serving others.
func TestTrapToDNSList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trapsFile := filepath.Join(dir, "traps")
	os.WriteFile(trapsFile, []byte("# trap addresses\nspamtrap@trap.example\n"), 0o644)
	listFile := filepath.Join(dir, "trapped")
	const zone = "trap.fakesmtp.test"
	// A fresh DNS port on each start attempt: start retries when a port
	// was taken in the meantime.
	var dnsAddr string
	storePath := filepath.Join(dir, "store")
	trap := start(t, func(addr string) ([]string, []string) {
		dnsAddr = freeUDPAddr(t)
		return []string{"serve", "--listen", addr, "--store-path", storePath, "--trap-mailboxes", trapsFile,
			"--trap-list-file", listFile, "--dnsbl-serve", dnsAddr, "--dnsbl-zone", zone}, nil
	})
	trap.StorePath = storePath

	// The RFC 5782 section 5 test entries are there before any hit.
	if got := dig(t, dnsAddr, "2.0.0.127."+zone, "A"); got != "127.0.0.2" {
		t.Fatalf("test entry: %q", got)
	}
	if got := dig(t, dnsAddr, "1.0.0.127."+zone, "A"); got != "" {
		t.Fatalf("127.0.0.1 listed: %q", got)
	}

	out := swaks(t, "--server", trap.Addr, "--local-interface", "127.0.0.9",
		"--from", "bot@spam.example", "--to", "spamtrap@trap.example", "--body", "cheap pills")
	id := queuedID(t, out)
	env, _ := readMessage(t, trap.StorePath, id)
	if strings.Join(env.Extra, "\n") != "X-FakeSMTP-Trap: trap mailbox <spamtrap@trap.example>" {
		t.Fatalf("stored annotations %q", env.Extra)
	}

	if got := dig(t, dnsAddr, "9.0.0.127."+zone, "A"); got != "127.0.0.2" {
		t.Fatalf("trapped client: A %q", got)
	}
	if got := dig(t, dnsAddr, "9.0.0.127."+zone, "TXT"); !strings.Contains(got, "spam trap") {
		t.Fatalf("trapped client: TXT %q", got)
	}
	for name, want := range map[string]string{listFile: "127.0.0.9 ", listFile + ".cidr": "127.0.0.9/32 REJECT"} {
		data, err := os.ReadFile(name)
		if err != nil || !strings.Contains(string(data), want) {
			t.Fatalf("%s lacks %q: %s %v", name, want, data, err)
		}
	}

	// A second receiver (store off, as a fake MX) uses the list.
	fakemx := startDev(t, "--store-data=false", "--rbl-providers", zone, "--dns-resolver", dnsAddr,
		"--dns-check-private", "--banner-delay", "700ms", "--do-early-talk=true")
	bot := smtptest.DialFrom(t, "127.0.0.9", fakemx.Addr)
	wantReply(t, "trapped client at connect", bot.Read(), 421, "4.7.1")
	bot.ExpectClosed()
	other := smtptest.DialFrom(t, "127.0.0.8", fakemx.Addr)
	if r := other.Read(); r.Code != 220 {
		t.Fatalf("unlisted client got %v", r)
	}

	// The CLI lists the client and removes it; the running server's DNS
	// answers follow within a second or two.
	r := runCLI(t, nil, "traps", "list", "--store-path", trap.StorePath)
	if r.Code != 0 || !strings.Contains(r.Stdout, "127.0.0.9") || !strings.Contains(r.Stdout, "spamtrap@trap.example") {
		t.Fatalf("traps list: %+v", r)
	}
	r = runCLI(t, nil, "traps", "remove", "127.0.0.9", "--store-path", trap.StorePath)
	if r.Code != 0 {
		t.Fatalf("traps remove: %+v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for dig(t, dnsAddr, "9.0.0.127."+zone, "A") != "" {
		if time.Now().After(deadline) {
			t.Fatal("removed client still listed by the running server")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
