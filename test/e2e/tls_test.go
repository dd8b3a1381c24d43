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

// swaks with each AUTH mechanism over STARTTLS, against auth = any (the
// dev receiver that shows what a client sends); the password never
// reaches the log.
func TestSwaksAuth(t *testing.T) {
	t.Parallel()
	srv := startDev(t, "--auth", "any")
	for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
		t.Run(mech, func(t *testing.T) {
			out := swaks(t, "--server", srv.Addr, "--tls", "--auth", mech, "--auth-user", "bob-"+mech,
				"--auth-password", "hunter2-secret", "--from", "a@example.org", "--to", "b@example.net")
			if !strings.Contains(out, "235 2.7.0") {
				t.Fatalf("no 235:\n%s", out)
			}
			env, _ := readMessage(t, srv.StorePath, queuedID(t, out))
			if !strings.Contains(strings.Join(env.Extra, "\n"), "X-FakeSMTP-Auth-User: bob-"+mech) {
				t.Fatalf("annotations %q", env.Extra)
			}
		})
	}
	if strings.Contains(srv.Stderr.String(), "hunter2") {
		t.Fatal("password in the log")
	}
}
