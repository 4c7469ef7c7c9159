package users

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pointage/hub/auth"
	"pointage/hub/credcache"
	"pointage/hub/db"
	"pointage/internal/wire"
)

// schema is version 1 of the users' tables in hub.db (hub/db: a released
// step never changes; a change is a new step).
const schema = `
CREATE TABLE IF NOT EXISTS users (
	name        TEXT PRIMARY KEY COLLATE NOCASE, -- login; unique whatever the ASCII case
	role        TEXT NOT NULL CHECK (role IN ('office', 'school', 'kitchen')),
	site        TEXT NOT NULL DEFAULT '',        -- '' = every site (office, kitchen)
	bcrypt_hash TEXT NOT NULL,
	created_at  TEXT NOT NULL                    -- RFC 3339, UTC
) STRICT;
CREATE TABLE IF NOT EXISTS sessions (
	token_hash BLOB PRIMARY KEY,                 -- SHA-256 of the cookie's token, never the token
	name       TEXT NOT NULL COLLATE NOCASE REFERENCES users (name) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	created_at INTEGER NOT NULL,                 -- Unix milliseconds
	expires_at INTEGER NOT NULL                  -- Unix milliseconds
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);
`

// Limits and defaults.
const (
	MinPasswordLen    = credcache.MinPasswordLen   // characters
	MaxPasswordBytes  = credcache.MaxPasswordBytes // bcrypt ignores the rest
	MaxNameLen        = auth.MaxNameLen
	DefaultBcryptCost = 10
	DefaultCacheTTL   = 5 * time.Minute
	DefaultCacheSize  = 1000 // entries, at most one per user

	// DemoName and DemoPassword are the demo mode's login (AddDemo).
	DemoName     = "demo"
	DemoPassword = "demo"

	anyRecheck = time.Second // how long "no user yet" is believed
)

// User is a dashboard / API user as stored: who it is (auth.User: site
// required for school, optional for kitchen, none for office) and when it
// was added.
type User struct {
	auth.User
	CreatedAt time.Time
	Disabled  bool      // cannot log in; its sessions ended
	LastLogin time.Time // the last login on the dashboard; zero: never
}

// Store holds the users and dashboard sessions in the hub's SQLite
// database. Its methods are safe for concurrent use.
type Store struct {
	db     *sql.DB
	log    *slog.Logger
	now    func() time.Time
	bcrypt credcache.Bcrypt // hashes and compares; counts comparisons (tests)

	anyYes     atomic.Bool // once a user exists it stays (there is no delete)
	anyMu      sync.Mutex
	anyCheckAt time.Time // when "no user" was last read from the database

	cache *credcache.Cache[auth.User] // by lower-case name; AddDemo's reset invalidates
}

func init() {
	db.Register(db.Migration{Package: "users", Steps: []db.Step{{Version: 1, SQL: schema}, {Version: 2, SQL: schemaV2}}})
}

// New is the user store on hub.db, migrated (hub/db).
func New(ctx context.Context, db *sql.DB, logger *slog.Logger) (*Store, error) {
	if db == nil {
		return nil, errors.New("users: no database")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Store{
		db:     db,
		log:    logger.With("component", "users"),
		now:    time.Now,
		bcrypt: credcache.Bcrypt{Cost: DefaultBcryptCost},
	}
	s.cache = credcache.New[auth.User](DefaultCacheTTL, DefaultCacheSize, func() time.Time { return s.now() })
	return s, nil
}

// FastBcryptForTest lowers the bcrypt cost of hashes made from now on to
// bcrypt's minimum, for tests (of this or other packages) run under the
// race detector. Never call it outside tests.
func FastBcryptForTest(s *Store) { s.bcrypt.Cost = bcrypt.MinCost }

// GeneratePassword returns a random password (26 base32 characters, 128
// bits) for "users add" without --password-stdin to print once.
func GeneratePassword() string { return rand.Text() }

func checkUser(name string, role auth.Role, site string) error {
	if !auth.ValidName(name) {
		return fmt.Errorf("name %q: %w: 1 to %d letters, digits or . _ - @", name, ErrInvalidName, MaxNameLen)
	}
	switch role {
	case auth.RoleSchool:
		if site == "" {
			return fmt.Errorf("site: %w: a school user needs one", ErrInvalidSite)
		}
	case auth.RoleKitchen:
	case auth.RoleOffice:
		if site != "" {
			return fmt.Errorf("site %q: %w: an office user sees every site", site, ErrInvalidSite)
		}
	default:
		return fmt.Errorf("role %q: %w: office, school or kitchen", role, ErrInvalidRole)
	}
	if site != "" && !wire.ValidSiteOrDevice(site) {
		return fmt.Errorf("site %q: %w: want ^[a-z0-9][a-z0-9-]{0,62}$", site, ErrInvalidSite)
	}
	return nil
}

func checkPassword(p string) error {
	if problem := credcache.PasswordProblem(p); problem != "" {
		return fmt.Errorf("password: %w: %s", ErrBadPassword, problem)
	}
	return nil
}

// Add creates a user. The password must pass the rules of ErrBadPassword;
// a name already taken, in any ASCII case, is refused with ErrExists.
func (s *Store) Add(ctx context.Context, name string, role auth.Role, site, password string) (User, error) {
	if err := checkUser(name, role, site); err != nil {
		return User{}, fmt.Errorf("add user: %w", err)
	}
	if err := checkPassword(password); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	hash, err := s.bcrypt.Hash(password)
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	now := s.now().UTC().Truncate(time.Second)
	res, err := s.db.ExecContext(ctx, `INSERT INTO users (name, role, site, bcrypt_hash, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, role, site, string(hash), now.Format(time.RFC3339))
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	} else if n == 0 {
		return User{}, fmt.Errorf("add user %q: %w", name, ErrExists)
	}
	s.anyYes.Store(true)
	s.log.Info("user added", "user", name, "role", role, "site", site)
	return User{User: auth.User{Name: name, Role: role, Site: site}, CreatedAt: now}, nil
}

// AddDemo creates the user "demo" (password "demo", role office), or resets
// it to that if it exists. It is the only way to get a password shorter
// than MinPasswordLen, and exists for "pointage-hub demo" alone: a hub
// that ran the demo has a well-known login until that user is removed.
func (s *Store) AddDemo(ctx context.Context) error {
	hash, err := s.bcrypt.Hash(DemoPassword)
	if err != nil {
		return fmt.Errorf("add demo user: %w", err)
	}
	now := s.now().UTC().Truncate(time.Second)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO users (name, role, site, bcrypt_hash, created_at)
		VALUES (?, ?, '', ?, ?) ON CONFLICT (name) DO UPDATE SET
		role = excluded.role, site = '', bcrypt_hash = excluded.bcrypt_hash`,
		DemoName, auth.RoleOffice, string(hash), now.Format(time.RFC3339)); err != nil {
		return fmt.Errorf("add demo user: %w", err)
	}
	s.cache.Invalidate(DemoName)
	s.anyYes.Store(true)
	s.log.Warn("demo user ready: anyone can log in as demo/demo", "user", DemoName)
	return nil
}

// keyOf is a user's key in the credentials cache: names are compared
// without regard to ASCII case.
func keyOf(name string) string { return strings.ToLower(name) }

const (
	userColumns = `name, role, site, created_at, disabled, last_login_at`
	selectUser  = `SELECT ` + userColumns + ` FROM users`
)

func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var role, created, lastLogin string
	if err := row.Scan(append([]any{&u.Name, &role, &u.Site, &created, &u.Disabled, &lastLogin}, extra...)...); err != nil {
		return User{}, err
	}
	var err error
	if u.Role, err = auth.ParseRole(role); err != nil {
		return User{}, fmt.Errorf("user %q: %w", u.Name, err)
	}
	if u.CreatedAt, err = time.Parse(time.RFC3339, created); err != nil {
		return User{}, fmt.Errorf("user %q: %w", u.Name, err)
	}
	if lastLogin != "" {
		if u.LastLogin, err = time.Parse(time.RFC3339, lastLogin); err != nil {
			return User{}, fmt.Errorf("user %q: %w", u.Name, err)
		}
	}
	return u, nil
}

// List returns every user, by name.
func (s *Store) List(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, selectUser+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// Any reports whether at least one user exists. Once true it stays true
// without a query; "no user yet" is read again at most once a second, so a
// user added by "pointage-hub users add" while the hub runs is seen. A
// database error is logged and counts as "a user exists" (the API then
// asks for credentials instead of opening to loopback).
func (s *Store) Any(ctx context.Context) bool {
	if s.anyYes.Load() {
		return true
	}
	s.anyMu.Lock()
	defer s.anyMu.Unlock()
	if s.anyYes.Load() {
		return true
	}
	now := s.now()
	if !s.anyCheckAt.IsZero() && now.Sub(s.anyCheckAt) < anyRecheck && !now.Before(s.anyCheckAt) {
		return false
	}
	var yes bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&yes); err != nil {
		s.log.Error("are there users", "error", err)
		return true
	}
	if yes {
		s.anyYes.Store(true)
		return true
	}
	s.anyCheckAt = now
	return false
}

// Check verifies a name and password (HTTP Basic). A success is remembered
// for five minutes, keyed by the user and an HMAC-SHA-256 of name and
// password under a per-process random key, compared in constant time, so
// a dashboard polling with Basic auth does not cost a bcrypt (50-100 ms)
// per request; failures are never remembered. An unknown name costs a
// bcrypt too, so timing does not tell which names exist. A database error
// is logged and counts as a failure.
func (s *Store) Check(ctx context.Context, name, password string) (auth.User, bool) {
	if !auth.ValidName(name) || password == "" || len(password) > MaxPasswordBytes {
		return auth.User{}, false
	}
	key := keyOf(name)
	gen := s.cache.Gen()
	if u, ok := s.cache.Get(key, password); ok {
		return u, true
	}

	var hash string
	u, err := scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+`, bcrypt_hash FROM users WHERE name = ?`, name), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		s.bcrypt.Compare(nil, password) // same cost as a known name
		return auth.User{}, false
	} else if err != nil {
		s.log.Error("check user password", "user", name, "error", err)
		return auth.User{}, false
	}
	if !s.bcrypt.Compare([]byte(hash), password) || u.Disabled {
		return auth.User{}, false
	}
	s.cache.Put(key, password, u.User, gen) // not if the password changed meanwhile
	return u.User, true
}
