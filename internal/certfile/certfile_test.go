package certfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"pointage/internal/testenv"
	"strings"
	"testing"
	"time"
)

// pair is a self-signed certificate for cn, valid for validFor, in PEM.
func pair(t *testing.T, cn string, validFor time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validFor),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// write replaces a file and moves its modification time on, as a renewal
// a second later would.
func write(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// served is the common name of the certificate a real TLS handshake with
// a server using r gets.
func served(t *testing.T, r *Reloader) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", r.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // the name is what is checked
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// A renewed pair is served without a restart once the files change; a pair
// that does not load is logged and the previous certificate kept until the
// files change again; the files are looked at no more often than every
// CheckEvery.
func TestRenewedCertificateIsServed(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	t0 := time.Now().Add(-time.Hour)
	c1, k1 := pair(t, "first", 90*24*time.Hour)
	write(t, certPath, c1, t0)
	write(t, keyPath, k1, t0)
	var logs testenv.SyncBuffer
	r, err := New(certPath, keyPath, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	r.now = func() time.Time { return clock }
	if cn := served(t, r); cn != "first" {
		t.Fatalf("served %q, want first", cn)
	}

	c2, k2 := pair(t, "renewed", 90*24*time.Hour)
	write(t, certPath, c2, t0.Add(time.Minute))
	write(t, keyPath, k2, t0.Add(time.Minute))
	if cn := served(t, r); cn != "first" {
		t.Fatalf("served %q before CheckEvery passed, want first (the files are not read on every handshake)", cn)
	}
	clock = clock.Add(CheckEvery)
	if cn := served(t, r); cn != "renewed" {
		t.Fatalf("served %q after the renewal, want renewed", cn)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Fatalf("no log of the reload: %s", logs.String())
	}

	// Half a renewal: the new certificate, the old key.
	c3, _ := pair(t, "third", 90*24*time.Hour)
	write(t, certPath, c3, t0.Add(2*time.Minute))
	clock = clock.Add(CheckEvery)
	if cn := served(t, r); cn != "renewed" {
		t.Fatalf("served %q with a mismatched pair on disk, want the previous (renewed)", cn)
	}
	if !strings.Contains(logs.String(), "do not load") {
		t.Fatalf("the pair that does not load was not logged: %s", logs.String())
	}
	// The key follows: the pair loads.
	c4, k4 := pair(t, "third", 90*24*time.Hour)
	write(t, certPath, c4, t0.Add(3*time.Minute))
	write(t, keyPath, k4, t0.Add(3*time.Minute))
	clock = clock.Add(CheckEvery)
	if cn := served(t, r); cn != "third" {
		t.Fatalf("served %q once the pair was whole, want third", cn)
	}
}

// At start, missing or mismatched files are an error (the hub does not
// start without its certificate); one close to its expiry is logged.
func TestNewChecksTheFiles(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	if _, err := New(certPath, keyPath, nil); err == nil {
		t.Fatal("New with no files: no error")
	}
	c1, _ := pair(t, "a", 90*24*time.Hour)
	_, k2 := pair(t, "b", 90*24*time.Hour)
	write(t, certPath, c1, time.Now())
	write(t, keyPath, k2, time.Now())
	if _, err := New(certPath, keyPath, nil); err == nil {
		t.Fatal("New with a key that does not match: no error")
	}
	c3, k3 := pair(t, "soon", 3*24*time.Hour)
	write(t, certPath, c3, time.Now())
	write(t, keyPath, k3, time.Now())
	var logs testenv.SyncBuffer
	if _, err := New(certPath, keyPath, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "expires soon") {
		t.Fatalf("a certificate 3 days from expiry was not warned about: %s", logs.String())
	}
}
