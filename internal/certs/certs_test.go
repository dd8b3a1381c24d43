package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// handshake returns the leaf certificate a client sees.
func handshake(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go tls.Server(c1, cfg).Handshake()
	cl := tls.Client(c2, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.test"})
	if err := cl.Handshake(); err != nil {
		t.Fatal(err)
	}
	st := cl.ConnectionState()
	if st.Version < tls.VersionTLS12 {
		t.Fatalf("version %x", st.Version)
	}
	return st.PeerCertificates[0]
}

func TestSelfSigned(t *testing.T) {
	s, err := SelfSigned("mx.example.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf := handshake(t, s.Config())
	if err := leaf.VerifyHostname("mx.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if len(s.Fingerprint()) != 64 {
		t.Fatal("fingerprint")
	}
}

// A host name that is an address literal, as the hostname setting
// allows, names that address in the certificate.
func TestSelfSignedAddressLiteral(t *testing.T) {
	for host, addr := range map[string]string{"[192.0.2.1]": "192.0.2.1", "[IPv6:2001:db8::1]": "2001:db8::1", "192.0.2.7": "192.0.2.7"} {
		s, err := SelfSigned(host, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := s.Config().GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := leaf.Leaf.VerifyHostname(addr); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

func TestTLS11Refused(t *testing.T) {
	s, _ := SelfSigned("mx.example.test", time.Now())
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go tls.Server(c1, s.Config()).Handshake()
	cl := tls.Client(c2, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err := cl.Handshake(); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
}

// writePair writes a self-signed pair for name as PEM files.
func writePair(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	s, err := SelfSigned(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := s.cur.Load()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return cert, key
}

func TestLoadAndReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "one.example.test")
	s, err := Load(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config()
	if cn := handshake(t, cfg).Subject.CommonName; cn != "one.example.test" {
		t.Fatalf("CN %q", cn)
	}
	writePair(t, dir, "two.example.test")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if cn := handshake(t, cfg).Subject.CommonName; cn != "two.example.test" {
		t.Fatalf("after reload CN %q", cn)
	}
	os.WriteFile(cert, []byte("garbage"), 0o644)
	if err := s.Reload(); err == nil {
		t.Fatal("garbage reloaded")
	}
	if cn := handshake(t, cfg).Subject.CommonName; cn != "two.example.test" {
		t.Fatalf("failed reload changed the certificate: %q", cn)
	}
	if _, err := Load(filepath.Join(dir, "missing"), key); err == nil {
		t.Fatal("missing file loaded")
	}
}
