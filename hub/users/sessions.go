package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"pointage/hub/auth"
)

// SessionTTL is how long a dashboard session lasts (not sliding).
const SessionTTL = 12 * time.Hour

// The store is the auth package's user and session store.
var (
	_ auth.Users    = (*Store)(nil)
	_ auth.Sessions = (*Store)(nil)
)

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Login checks name and password (as Check, cache included) and opens a
// session of SessionTTL; wrong credentials give auth.ErrBadCredentials.
// It is not throttled: auth.Auth.Login is, and is what the dashboard
// calls. Only a SHA-256 of the token is stored: a copy of the database
// opens no session.
func (s *Store) Login(ctx context.Context, name, password string) (auth.Session, auth.User, error) {
	u, ok := s.Check(ctx, name, password)
	if !ok {
		return auth.Session{}, auth.User{}, auth.ErrBadCredentials
	}
	sess, err := s.newSession(ctx, u)
	if err != nil {
		return auth.Session{}, auth.User{}, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE name = ?`,
		s.now().UTC().Truncate(time.Second).Format(time.RFC3339), u.Name); err != nil {
		s.log.Warn("could not record the last login", "user", u.Name, "err", err) // the login stands
	}
	return sess, u, nil
}

func (s *Store) newSession(ctx context.Context, u auth.User) (auth.Session, error) {
	token, err := randomToken()
	if err != nil {
		return auth.Session{}, fmt.Errorf("new session: %w", err)
	}
	csrf, err := randomToken()
	if err != nil {
		return auth.Session{}, fmt.Errorf("new session: %w", err)
	}
	now := s.now()
	expires := time.UnixMilli(now.Add(SessionTTL).UnixMilli()).UTC()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli()); err != nil {
		return auth.Session{}, fmt.Errorf("new session: drop expired: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, name, csrf, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, tokenHash(token), u.Name, csrf, now.UnixMilli(), expires.UnixMilli()); err != nil {
		return auth.Session{}, fmt.Errorf("new session: %w", err)
	}
	return auth.Session{Token: token, CSRF: csrf, Expires: expires}, nil
}

// Session returns the user and session of a session token, or false if the
// token is unknown, logged out or expired (sessions do not slide: they end
// SessionTTL after Login). Sessions live in SQLite and survive a restart.
// A database error is logged and counts as no session.
func (s *Store) Session(ctx context.Context, token string) (auth.User, auth.Session, bool) {
	if token == "" {
		return auth.User{}, auth.Session{}, false
	}
	var csrf string
	var expires int64
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT u.name, u.role, u.site, u.created_at, u.disabled, u.last_login_at, s.csrf, s.expires_at
		FROM sessions s JOIN users u ON u.name = s.name WHERE s.token_hash = ? AND u.disabled = 0`, tokenHash(token)), &csrf, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, auth.Session{}, false
	} else if err != nil {
		s.log.Error("read session", "error", err)
		return auth.User{}, auth.Session{}, false
	}
	if s.now().UnixMilli() >= expires {
		return auth.User{}, auth.Session{}, false
	}
	return u.User, auth.Session{Token: token, CSRF: csrf, Expires: time.UnixMilli(expires).UTC()}, true
}

// Logout ends a session. An unknown token is not an error.
func (s *Store) Logout(ctx context.Context, token string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token)); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
