// Package certfile serves a TLS certificate from a PEM certificate file and
// key file, and picks up a renewed pair without a restart: on a handshake,
// at most every CheckEvery, it looks at both files, and loads them again
// when either changed. A pair that does not load (the key written but not
// yet the certificate, a wrong file) is logged and the previous certificate
// is served until the files change again.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CheckEvery is how often, at most, a handshake looks at the files.
const CheckEvery = 10 * time.Second

// ExpiryWarning is how close to its expiry a loaded certificate is logged
// as a warning.
const ExpiryWarning = 14 * 24 * time.Hour

// Reloader holds the current certificate of a certificate and key file.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time
	every             time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	tried   stamp     // of the files last loaded or tried
	checked time.Time // when the files were last looked at
}

// stamp tells whether files changed: their modification times and sizes.
type stamp [4]int64

func stampOf(certFile, keyFile string) (stamp, error) {
	var s stamp
	for i, f := range []string{certFile, keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return s, err
		}
		s[2*i], s[2*i+1] = fi.ModTime().UnixNano(), fi.Size()
	}
	return s, nil
}

// New loads the pair now: an error here is an error at start (a missing
// file, a key that does not match). log may be nil.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, now: time.Now, every: CheckEvery}
	st, err := stampOf(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := load(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cert, r.tried, r.checked = cert, st, r.now()
	r.warnIfExpiring(cert)
	return r, nil
}

// Config returns a server tls.Config (TLS 1.2 at least) that serves the
// current certificate.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12}
}

// GetCertificate is tls.Config's: the current certificate, loaded again
// first if the files changed.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= r.every {
		r.checked = now
		r.reload()
	}
	return r.cert, nil
}

// reload loads the files if they changed since last tried. Called with mu.
func (r *Reloader) reload() {
	st, err := stampOf(r.certFile, r.keyFile)
	if err != nil || st == r.tried {
		return // a file being replaced, or nothing new
	}
	r.tried = st
	cert, err := load(r.certFile, r.keyFile)
	if err != nil {
		r.log.Error("the TLS certificate files changed but do not load; still serving the previous certificate (fix the files: they are read again when they change)",
			"cert", r.certFile, "key", r.keyFile, "expires", r.cert.Leaf.NotAfter.Format(time.RFC3339), "err", err)
		return
	}
	r.cert = cert
	r.log.Info("TLS certificate reloaded", "cert", r.certFile, "subject", cert.Leaf.Subject.String(),
		"expires", cert.Leaf.NotAfter.Format(time.RFC3339))
	r.warnIfExpiring(cert)
}

func (r *Reloader) warnIfExpiring(cert *tls.Certificate) {
	if left := cert.Leaf.NotAfter.Sub(r.now()); left < ExpiryWarning {
		r.log.Warn("the TLS certificate expires soon: renew it (the hub picks up the new files without a restart)",
			"cert", r.certFile, "expires", cert.Leaf.NotAfter.Format(time.RFC3339), "days_left", int(left.Hours()/24))
	}
}

func load(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil { // filled by LoadX509KeyPair since Go 1.23; kept for clarity
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse the certificate: %w", err)
		}
	}
	return &cert, nil
}
