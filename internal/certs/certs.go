// Package certs provides the TLS certificate for STARTTLS and implicit
// TLS: loaded from PEM files and re-read on SIGHUP (so a renewed
// certificate is used without a restart), or made self-signed at start in
// dev mode, where a test client only needs some certificate.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// selfSignedLife is how long a dev certificate is valid: longer than any
// test run, short enough not to pass for a real one.
const selfSignedLife = 365 * 24 * time.Hour

// Source holds the current certificate. Its Config serves it to every new
// handshake, so Reload takes effect at once.
type Source struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// Load reads a certificate and key from PEM files.
func Load(certFile, keyFile string) (*Source, error) {
	s := &Source{certFile: certFile, keyFile: keyFile}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// SelfSigned makes an ECDSA P-256 certificate for hostname (and localhost,
// 127.0.0.1, ::1), valid for a year.
func SelfSigned(hostname string, now time.Time) (*Source, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certs: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"fakesmtp self-signed (dev mode)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLife),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{hostname, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	// An address literal (RFC 5321 4.1.3: "[192.0.2.1]", "[IPv6:2001:db8::1]")
	// names the address itself.
	literal := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(hostname, "["), "]"), "IPv6:")
	if ip := net.ParseIP(literal); ip != nil {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: self-signed: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: self-signed: %w", err)
	}
	s := &Source{}
	s.cur.Store(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf})
	return s, nil
}

// Reload reads the files again; on error the certificate in use stays.
// A self-signed Source has no files and does nothing.
func (s *Source) Reload() error {
	if s.certFile == "" {
		return nil
	}
	c, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("certs: load %s: %w", s.certFile, err)
	}
	s.cur.Store(&c)
	return nil
}

// Fingerprint is the SHA-256 of the current leaf certificate, in hex,
// for the log: a dev user can pin or compare it.
func (s *Source) Fingerprint() string {
	c := s.cur.Load()
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}

// Config returns a server TLS configuration with TLS 1.2 as the minimum
// (RFC 8996 retires 1.0 and 1.1) that always uses the current
// certificate.
func (s *Source) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cur.Load(), nil
		},
	}
}
