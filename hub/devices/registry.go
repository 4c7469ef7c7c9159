package devices

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"pointage/hub/credcache"
	"pointage/hub/db"
	"pointage/internal/wire"
)

// schema is version 1 of the registry's tables in hub.db (hub/db: a
// released step never changes; a change is a new step).
const schema = `
CREATE TABLE IF NOT EXISTS devices (
	device              TEXT PRIMARY KEY,  -- the MQTT username, unique across sites
	site                TEXT NOT NULL,
	bcrypt_hash         TEXT NOT NULL,     -- checked by the hub (embedded broker)
	mosquitto_hash      TEXT NOT NULL,     -- $7$ PBKDF2-SHA512, for broker-config mosquitto
	created_at          TEXT NOT NULL,     -- RFC 3339, UTC
	password_changed_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS devices_site ON devices (site, device);
-- Credential changes (password set, device removed), by any process: a
-- running hub reads them to forget cached checks and close the sessions
-- opened with the old credentials.
CREATE TABLE IF NOT EXISTS device_revocations (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	device TEXT NOT NULL,
	at     TEXT NOT NULL
) STRICT;
`

// Defaults of the Verify cache and of bcrypt.
const (
	DefaultBcryptCost = 10 // 50-100 ms a check on the machines this runs on
	DefaultCacheTTL   = 5 * time.Minute
	DefaultCacheSize  = 10000 // entries (one per device); ~100 bytes each
)

// Device is a registered device. Its ID is also its MQTT username.
type Device struct {
	Site              string
	ID                string
	CreatedAt         time.Time
	PasswordChangedAt time.Time
}

// Registry is the hub's device registry: sites, device ids and password
// hashes, in the hub's SQLite database. Its methods are safe for concurrent
// use.
type Registry struct {
	db     *sql.DB
	log    *slog.Logger
	now    func() time.Time
	bcrypt credcache.Bcrypt // hashes and compares; counts comparisons (tests)

	cache *credcache.Cache[Device] // by device; SetPassword invalidates
}

func init() {
	db.Register(db.Migration{Package: "devices", Steps: []db.Step{{Version: 1, SQL: schema}, {Version: 3, SQL: schemaV3}, {Version: 4, SQL: schemaV4}}})
}

// New is the device registry on hub.db, migrated (hub/db).
func New(ctx context.Context, db *sql.DB, logger *slog.Logger) (*Registry, error) {
	if db == nil {
		return nil, errors.New("devices: no database")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Registry{
		db:     db,
		log:    logger.With("component", "devices"),
		now:    time.Now,
		bcrypt: credcache.Bcrypt{Cost: DefaultBcryptCost},
	}
	r.cache = credcache.New[Device](DefaultCacheTTL, DefaultCacheSize, func() time.Time { return r.now() })
	return r, nil
}

func checkIDs(site, device string) error {
	if !wire.ValidSiteOrDevice(site) {
		return fmt.Errorf("site %q: %w", site, ErrInvalidID)
	}
	if !wire.ValidSiteOrDevice(device) {
		return fmt.Errorf("device %q: %w", device, ErrInvalidID)
	}
	return nil
}

// hashes returns the bcrypt and mosquitto hashes of password, generating
// the password first when it is empty.
func (r *Registry) hashes(password string) (pw, bcryptHash, mosqHash string, err error) {
	if password == "" {
		password = generatePassword()
	} else if err := checkPassword(password); err != nil {
		return "", "", "", err
	}
	b, err := r.bcrypt.Hash(password)
	if err != nil {
		return "", "", "", err
	}
	m, err := mosquittoHash(password)
	if err != nil {
		return "", "", "", err
	}
	return password, string(b), m, nil
}

// Add registers device at site. An empty password means "generate one": the
// generated password is returned, to be shown once (only hashes are kept).
// A given password must pass the rules of ErrBadPassword. A device id that is
// already registered, at any site, is refused with ErrExists. Enrol also
// issues the device's enrolment code.
func (r *Registry) Add(ctx context.Context, site, device, password string) (Device, string, error) {
	if err := checkIDs(site, device); err != nil {
		return Device{}, "", err
	}
	pw, bh, mh, err := r.hashes(password)
	if err != nil {
		return Device{}, "", fmt.Errorf("add device %q: %w", device, err)
	}
	d, err := r.insert(ctx, r.db, site, device, bh, mh)
	if err != nil {
		return Device{}, "", err
	}
	r.log.Info("device registered", "site", site, "device", device)
	return d, pw, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// insert adds the device's row (Add, Enrol): ErrExists.
func (r *Registry) insert(ctx context.Context, q querier, site, device, bcryptHash, mosqHash string) (Device, error) {
	now := r.now().UTC().Truncate(time.Second)
	res, err := q.ExecContext(ctx, `INSERT INTO devices
		(device, site, bcrypt_hash, mosquitto_hash, created_at, password_changed_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device) DO NOTHING`,
		device, site, bcryptHash, mosqHash, now.Format(time.RFC3339), now.Format(time.RFC3339))
	if err != nil {
		return Device{}, fmt.Errorf("add device %q: %w", device, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Device{}, fmt.Errorf("add device %q: %w", device, err)
	} else if n == 0 {
		var oldSite string
		if err := q.QueryRowContext(ctx, `SELECT site FROM devices WHERE device = ?`, device).Scan(&oldSite); err == nil {
			return Device{}, fmt.Errorf("add device %q: %w at site %q (use a new id, or set its password)", device, ErrExists, oldSite)
		}
		return Device{}, fmt.Errorf("add device %q: %w", device, ErrExists)
	}
	return Device{Site: site, ID: device, CreatedAt: now, PasswordChangedAt: now}, nil
}

// SetPassword replaces a device's password (empty: generate one) and
// returns it. The old password no longer logs in, cached checks included;
// a running hub closes the session opened with it (Revocations). Renew
// also issues a new enrolment code.
func (r *Registry) SetPassword(ctx context.Context, device, password string) (string, error) {
	pw, bh, mh, err := r.hashes(password)
	if err != nil {
		return "", fmt.Errorf("set password of device %q: %w", device, err)
	}
	if err := r.update(ctx, r.db, device, bh, mh); err != nil {
		return "", err
	}
	r.cache.Invalidate(device)
	r.log.Info("device password changed", "device", device)
	return pw, nil
}

// update replaces the device's hashes and journals the revocation
// (SetPassword, Renew): ErrNotFound. The caller forgets the cached checks
// once it is committed (a check made before could cache the old password).
func (r *Registry) update(ctx context.Context, q querier, device, bcryptHash, mosqHash string) error {
	now := r.now().UTC().Truncate(time.Second)
	res, err := q.ExecContext(ctx, `UPDATE devices SET bcrypt_hash = ?, mosquitto_hash = ?,
		password_changed_at = ? WHERE device = ?`, bcryptHash, mosqHash, now.Format(time.RFC3339), device)
	if err != nil {
		return fmt.Errorf("set password of device %q: %w", device, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set password of device %q: %w", device, err)
	} else if n == 0 {
		return fmt.Errorf("set password of device %q: %w", device, ErrNotFound)
	}
	if err := r.revoked(ctx, q, device); err != nil {
		return fmt.Errorf("set password of device %q: %w", device, err)
	}
	return nil
}

// Remove unregisters a device (a stolen or retired box): it can no longer
// log in, and a running hub closes its open session (Revocations). Its
// check-ins stay.
func (r *Registry) Remove(ctx context.Context, device string) error {
	res, err := r.db.ExecContext(ctx, `DELETE FROM devices WHERE device = ?`, device)
	if err != nil {
		return fmt.Errorf("remove device %q: %w", device, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove device %q: %w", device, ErrNotFound)
	}
	r.cache.Invalidate(device)
	if err := r.revoked(ctx, r.db, device); err != nil {
		return fmt.Errorf("remove device %q: %w", device, err)
	}
	r.log.Info("device removed", "device", device)
	return nil
}

// revoked journals a revocation at the wall clock, to the nanosecond (not
// r.now, which the demo accelerates): the hub closes the sessions that
// logged in before it (Revocation.At), not one opened since with the new
// credentials.
func (r *Registry) revoked(ctx context.Context, q querier, device string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO device_revocations (device, at) VALUES (?, ?)`, device, time.Now().UTC().Format(time.RFC3339Nano))
	return err
}

// Revocation is a device whose credentials changed, and when.
type Revocation struct {
	Device string
	At     time.Time
}

// Revocations returns the devices whose credentials changed (password set,
// removed) after the revocation id since, and the latest id. Each one's
// cached checks are forgotten here; the caller closes their sessions.
func (r *Registry) Revocations(ctx context.Context, since int64) ([]Revocation, int64, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT id, device, at FROM device_revocations WHERE id > ? ORDER BY id`, since)
	if err != nil {
		return nil, since, fmt.Errorf("read device revocations: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	last := since
	for rows.Next() {
		var device, at string
		if err := rows.Scan(&last, &device, &at); err != nil {
			return nil, since, fmt.Errorf("read device revocations: %w", err)
		}
		r.cache.Invalidate(device)
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			t = time.Now() // unreadable: close every session of the device
		}
		out = append(out, Revocation{Device: device, At: t})
	}
	return out, last, rows.Err()
}

// LatestRevocation is the id Revocations starts from at start-up.
func (r *Registry) LatestRevocation(ctx context.Context) (int64, error) {
	var id int64
	err := r.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM device_revocations`).Scan(&id)
	return id, err
}

const (
	deviceColumns = `site, device, created_at, password_changed_at`
	selectDevice  = `SELECT ` + deviceColumns + ` FROM devices`
)

func scanDevice(row interface{ Scan(...any) error }, extra ...any) (Device, error) {
	var d Device
	var created, changed string
	if err := row.Scan(append([]any{&d.Site, &d.ID, &created, &changed}, extra...)...); err != nil {
		return Device{}, err
	}
	var err1, err2 error
	d.CreatedAt, err1 = time.Parse(time.RFC3339, created)
	d.PasswordChangedAt, err2 = time.Parse(time.RFC3339, changed)
	if err := errors.Join(err1, err2); err != nil {
		return Device{}, fmt.Errorf("device %q: %w", d.ID, err)
	}
	return d, nil
}

// Get returns one device, or ErrNotFound.
func (r *Registry) Get(ctx context.Context, device string) (Device, error) {
	d, err := scanDevice(r.db.QueryRowContext(ctx, selectDevice+` WHERE device = ?`, device))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, fmt.Errorf("device %q: %w", device, ErrNotFound)
	} else if err != nil {
		return Device{}, fmt.Errorf("get device %q: %w", device, err)
	}
	return d, nil
}

// List returns every device, by site then device id.
func (r *Registry) List(ctx context.Context) ([]Device, error) {
	rows, err := r.db.QueryContext(ctx, selectDevice+` ORDER BY site, device`)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// Verify checks a device's password. A successful check is remembered for
// a few minutes (keyed by the device and a keyed SHA-256 of the password,
// compared in constant time), so a reconnect storm does not cost one bcrypt
// (50-100 ms of CPU) per login; failures are never cached. Unknown devices
// cost a bcrypt too, so timing does not tell which ids exist. A database
// error is logged and counts as a failure.
func (r *Registry) Verify(ctx context.Context, device, password string) (Device, bool) {
	if !wire.ValidSiteOrDevice(device) || password == "" {
		return Device{}, false
	}
	gen := r.cache.Gen()
	if d, ok := r.cache.Get(device, password); ok {
		return d, true
	}

	var hash string
	d, err := scanDevice(r.db.QueryRowContext(ctx,
		`SELECT `+deviceColumns+`, bcrypt_hash FROM devices WHERE device = ?`, device), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		r.bcrypt.Compare(nil, password) // same cost as a known device
		return Device{}, false
	} else if err != nil {
		r.log.Error("verify device password", "device", device, "error", err)
		return Device{}, false
	}
	if !r.bcrypt.Compare([]byte(hash), password) {
		return Device{}, false
	}
	r.cache.Put(device, password, d, gen) // not if the password changed meanwhile
	return d, true
}

// Authenticate is Verify for the embedded broker (broker.Authenticator): it
// returns the device's site.
func (r *Registry) Authenticate(ctx context.Context, username, password string) (site string, ok bool) {
	d, ok := r.Verify(ctx, username, password)
	return d.Site, ok
}
