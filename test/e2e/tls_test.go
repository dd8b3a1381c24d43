package e2e

import (
	"strings"
	"testing"
)

// swaks over STARTTLS and over implicit TLS (SMTPS, RFC 8314) against the
// dev mode's self-signed certificate; the stored message says how it came.
func TestSwaksTLS(t *testing.T) {
	t.Parallel()
	tlsAddr := freeAddr(t)
	srv := startDev(t, "--tls-listen", tlsAddr)
	if !strings.Contains(srv.Stderr.String(), "self-signed certificate (dev mode)") {
		t.Fatalf("no self-signed certificate logged:\n%s", srv.Stderr)
	}
	for name, args := range map[string][]string{
		"STARTTLS": {"--server", srv.Addr, "--tls"},
		"SMTPS":    {"--server", tlsAddr, "--tls-on-connect"},
	} {
		t.Run(name, func(t *testing.T) {
			out := swaks(t, append(args, "--from", "a@example.org", "--to", "b@example.net", "--body", "over TLS")...)
			if !strings.Contains(out, "TLS started") {
				t.Fatalf("swaks did not start TLS:\n%s", out)
			}
			env, body := readMessage(t, srv.StorePath, queuedID(t, out))
			if len(env.Extra) != 1 || !strings.HasPrefix(env.Extra[0], "X-FakeSMTP-TLS: TLS 1.") {
				t.Fatalf("annotations %q", env.Extra)
			}
			if !strings.Contains(string(body), "over TLS") {
				t.Fatalf("body %q", body)
			}
		})
	}
}
