package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session and login-throttling settings.
const (
	SessionTTL        = 12 * time.Hour
	MaxLoginFailures  = 10          // failures per (address, name) within LoginWindow...
	LoginWindow       = time.Minute // ...after which Login refuses for LoginBlock
	LoginBlock        = time.Minute
	maxThrottleStates = 10000
)

// Session is a dashboard session. Token goes in the session cookie, CSRF in
// the page (and back in a header or form field of every state-changing
// request); both are 32 random bytes in unpadded base64url.
type Session struct {
	Token   string
	CSRF    string
	Expires time.Time
}

type throttleKey struct{ ip, name string }

type throttleState struct {
	fails        int
	windowStart  time.Time
	blockedUntil time.Time
}

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
// session of SessionTTL. After MaxLoginFailures failures from remoteIP for
// that name within LoginWindow, it refuses with ErrThrottled for LoginBlock
// without checking anything; wrong credentials give ErrBadCredentials.
// Only a SHA-256 of the token is stored: a copy of the database opens no
// session.
func (s *Store) Login(ctx context.Context, name, password, remoteIP string) (Session, User, error) {
	u, err := s.CheckFrom(ctx, name, password, remoteIP)
	if err != nil {
		return Session{}, User{}, err
	}
	sess, err := s.newSession(ctx, u)
	if err != nil {
		return Session{}, User{}, err
	}
	s.log.Info("dashboard login", "user", u.Name, "remote_ip", remoteIP)
	return sess, u, nil
}

// CheckFrom is Check with Login's throttle: after MaxLoginFailures failures
// from remoteIP for that name within LoginWindow it refuses with
// ErrThrottled for LoginBlock without checking; wrong credentials give
// ErrBadCredentials. The API's Basic authentication uses it, so guessing
// passwords through the API is as slow as through the login form.
func (s *Store) CheckFrom(ctx context.Context, name, password, remoteIP string) (User, error) {
	if !validName(name) { // nothing to throttle: no such user can exist
		return User{}, ErrBadCredentials
	}
	key := throttleKey{ip: remoteIP, name: strings.ToLower(name)}
	now := s.now()
	s.throttleMu.Lock()
	if st := s.throttle[key]; st != nil && now.Before(st.blockedUntil) {
		s.throttleMu.Unlock()
		return User{}, ErrThrottled
	}
	s.throttleMu.Unlock()

	u, ok := s.Check(ctx, name, password)
	if !ok {
		s.loginFailed(key, s.now())
		return User{}, ErrBadCredentials
	}
	s.throttleMu.Lock()
	delete(s.throttle, key)
	s.throttleMu.Unlock()
	return u, nil
}

func (s *Store) loginFailed(key throttleKey, now time.Time) {
	s.throttleMu.Lock()
	defer s.throttleMu.Unlock()
	st := s.throttle[key]
	if st == nil {
		if len(s.throttle) >= maxThrottleStates {
			s.pruneThrottleLocked(now)
		}
		st = &throttleState{windowStart: now}
		s.throttle[key] = st
	}
	if now.Sub(st.windowStart) >= LoginWindow || now.Before(st.windowStart) {
		st.fails, st.windowStart = 0, now
	}
	st.fails++
	if st.fails >= MaxLoginFailures {
		st.fails, st.windowStart, st.blockedUntil = 0, now, now.Add(LoginBlock)
		s.log.Warn("dashboard login blocked for a minute", "user", key.name, "remote_ip", key.ip)
	}
}

// pruneThrottleLocked keeps the throttle table bounded: states that no
// longer matter go first, then any (map order is random).
func (s *Store) pruneThrottleLocked(now time.Time) {
	for k, st := range s.throttle {
		if !now.Before(st.blockedUntil) && now.Sub(st.windowStart) >= LoginWindow {
			delete(s.throttle, k)
		}
	}
	for k := range s.throttle {
		if len(s.throttle) < maxThrottleStates {
			return
		}
		delete(s.throttle, k)
	}
}

func (s *Store) newSession(ctx context.Context, u User) (Session, error) {
	token, err := randomToken()
	if err != nil {
		return Session{}, fmt.Errorf("new session: %w", err)
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, fmt.Errorf("new session: %w", err)
	}
	now := s.now()
	expires := time.UnixMilli(now.Add(SessionTTL).UnixMilli()).UTC()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli()); err != nil {
		return Session{}, fmt.Errorf("new session: drop expired: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, name, csrf, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, tokenHash(token), u.Name, csrf, now.UnixMilli(), expires.UnixMilli()); err != nil {
		return Session{}, fmt.Errorf("new session: %w", err)
	}
	return Session{Token: token, CSRF: csrf, Expires: expires}, nil
}

// Session returns the user and session of a session token, or false if the
// token is unknown, logged out or expired (sessions do not slide: they end
// SessionTTL after Login). Sessions live in SQLite and survive a restart.
// A database error is logged and counts as no session.
func (s *Store) Session(ctx context.Context, token string) (User, Session, bool) {
	if token == "" {
		return User{}, Session{}, false
	}
	var csrf string
	var expires int64
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT u.name, u.role, u.site, u.created_at, s.csrf, s.expires_at
		FROM sessions s JOIN users u ON u.name = s.name WHERE s.token_hash = ?`, tokenHash(token)), &csrf, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, Session{}, false
	} else if err != nil {
		s.log.Error("read session", "error", err)
		return User{}, Session{}, false
	}
	if s.now().UnixMilli() >= expires {
		return User{}, Session{}, false
	}
	return u, Session{Token: token, CSRF: csrf, Expires: time.UnixMilli(expires).UTC()}, true
}

// Logout ends a session. An unknown token is not an error.
func (s *Store) Logout(ctx context.Context, token string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token)); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// CheckCSRF reports, in constant time, whether got is the session's CSRF
// token. An empty token never matches.
func CheckCSRF(sess Session, got string) bool {
	if sess.CSRF == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(got)) == 1
}
