package hub

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"

	"pointage/internal/certfile"
)

// httpTLSConfig loads --tls-cert and --tls-key, and serves a renewed pair
// without a restart (internal/certfile); nil when HTTPS is off.
func (c Config) httpTLSConfig(log *slog.Logger) (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	r, err := certfile.New(c.TLSCert, c.TLSKey, log.With("listener", "https"))
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return r.Config(), nil
}

// proxiedTLS marks every request as received over TLS, for a hub behind a
// reverse proxy that terminates TLS (--behind-tls-proxy): the handlers
// then set Secure cookies, as they do when the hub serves HTTPS itself.
// It trusts no header: the flag says every client reaches the hub
// through HTTPS, so it is the operator's promise, not the client's.
func proxiedTLS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			r2 := r.Clone(r.Context())
			r2.TLS = &tls.ConnectionState{HandshakeComplete: true}
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}
