// Package audit is the hub's append-only audit log: who logged in (or
// failed to), who recorded a correction, who exported a month or a child's
// data, who looked at a child's history — when, from where, and what.
//
// Append-only twice over: the table refuses UPDATE and DELETE (SQLite
// triggers), and each entry carries the SHA-256 of the previous entry's
// hash and its own fields, so an entry changed or removed behind the hub's
// back (with the triggers dropped) breaks the chain, which Verify finds
// (`pointage-hub audit --verify`).
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"pointage/hub/db"
)

// Actions.
const (
	Login        = "login"        // a dashboard login
	LoginFailed  = "login_failed" // a refused dashboard login or API credentials
	Logout       = "logout"
	Correction   = "correction"    // a correction recorded (Target: its id)
	Export       = "export"        // a month's export (Target: kind/month/site)
	ViewChild    = "view_child"    // a child's history looked at (Target: person id)
	ExportChild  = "export_child"  // one child's data exported (access request)
	Purge        = "purge"         // raw check-ins purged by the retention
	UserAdded    = "user_added"    // a user added (Target: its name)
	UserChanged  = "user_changed"  // a user's password, state, role or site changed (Detail: what, never the password)
	UserRemoved  = "user_removed"  // a user removed
	RosterImport = "roster_import" // a roster imported from the dashboard or the API (Target: the from day)
	SiteNamed    = "site_named"    // a site's display name set or removed (Target: the site; Detail: the name)
	// Devices (Target: the device id; Detail: its site, never a password or code).
	DeviceAdded    = "device_added"    // a device registered, its password and enrolment code generated
	DevicePassword = "device_password" // a device given a new password and enrolment code
	DeviceRemoved  = "device_removed"  // a device unregistered
	// DeviceConfig is a device's reader list set on the devices page
	// (docs/DESIGN.md §14); DeviceEnrolled an enrolment code redeemed by
	// pointage-agent enrol (user "-"), DeviceEnrolRefused one refused.
	DeviceConfig       = "device_config"
	DeviceEnrolled     = "device_enrolled"
	DeviceEnrolRefused = "device_enrol_refused"
)

// Actions on the closed days entered in the dashboard.
const (
	ClosedDayAdded   = "closed_day_added"   // Target: its id; Detail: days, sites, reason
	ClosedDayRemoved = "closed_day_removed" // Target: its id; Detail: what it was
)

// Entry is one line of the log.
type Entry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	User   string    `json:"user"`
	Role   string    `json:"role,omitempty"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"` // what was acted on: a person id, an export, a correction id
	Detail string    `json:"detail,omitempty"` // free text: reason, period, error
	Addr   string    `json:"addr,omitempty"`   // client address, "cli" for the command line
	Hash   string    `json:"hash"`
}

// schema is version 1 of the audit log in hub.db (hub/db: a released
// step never changes; a change is a new step). Its triggers refuse every
// UPDATE and DELETE.
const schema = `
CREATE TABLE IF NOT EXISTS audit_log (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL, -- Unix milliseconds
	user   TEXT NOT NULL,
	role   TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	detail TEXT NOT NULL,
	addr   TEXT NOT NULL,
	hash   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`

// Log is the audit log in hub.db. Safe for concurrent use.
type Log struct {
	db  *sql.DB
	now func() time.Time
	mu  sync.Mutex // one writer: the chain needs the previous hash
}

func init() {
	db.Register(db.Migration{Package: "audit", Steps: []db.Step{{Version: 1, SQL: schema}}})
}

// New is the audit log on hub.db, migrated (hub/db).
func New(ctx context.Context, db *sql.DB, now func() time.Time) (*Log, error) {
	if now == nil {
		now = time.Now
	}
	return &Log{db: db, now: now}, nil
}

// hash chains an entry to the previous hash.
func hash(prev string, e Entry) string {
	h := sha256.New()
	for _, f := range []string{prev, strconv.FormatInt(e.At.UnixMilli(), 10), e.User, e.Role, e.Action, e.Target, e.Detail, e.Addr} {
		h.Write([]byte(strconv.Itoa(len(f)))) // length-prefixed: no two field lists hash alike
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Record appends an entry (At, ID and Hash are set here). The caller logs
// a failure; an action the audit log could not record is not refused (a
// login must still work when the disk is full), but the failure is loud.
func (l *Log) Record(ctx context.Context, e Entry) (Entry, error) {
	if l == nil {
		return e, errors.New("no audit log")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.At = l.now().UTC().Truncate(time.Millisecond)
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return e, fmt.Errorf("audit log: %w", err)
	}
	defer tx.Rollback()
	var prev string
	switch err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&prev); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return e, fmt.Errorf("audit log: %w", err)
	}
	e.Hash = hash(prev, e)
	res, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, user, role, action, target, detail, addr, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.At.UnixMilli(), e.User, e.Role, e.Action, e.Target, e.Detail, e.Addr, e.Hash)
	if err != nil {
		return e, fmt.Errorf("audit log: %w", err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return e, fmt.Errorf("audit log: %w", err)
	}
	return e, tx.Commit()
}

// Filter selects entries.
type Filter struct {
	From, To time.Time // [From, To); zero: unbounded
	User     string
	Action   string
	Target   string
	Limit    int // 0: 1000
}

// List returns the entries of f, newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	q := `SELECT id, at, user, role, action, target, detail, addr, hash FROM audit_log WHERE 1=1`
	var args []any
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, f.To.UnixMilli())
	}
	for _, c := range []struct{ col, v string }{{"user", f.User}, {"action", f.Action}, {"target", f.Target}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	q += ` ORDER BY id DESC LIMIT ` + strconv.Itoa(f.Limit)
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scan(rows *sql.Rows) (Entry, error) {
	var e Entry
	var at int64
	if err := rows.Scan(&e.ID, &at, &e.User, &e.Role, &e.Action, &e.Target, &e.Detail, &e.Addr, &e.Hash); err != nil {
		return e, fmt.Errorf("read the audit log: %w", err)
	}
	e.At = time.UnixMilli(at).UTC()
	return e, nil
}

// ErrBroken is returned by Verify when the chain does not hold.
var ErrBroken = errors.New("the audit log's chain is broken")

// Verify recomputes the chain from the first entry and returns how many
// entries hold; an error wrapping ErrBroken names the first entry that
// does not (changed, or following removed ones), or the latest entries
// removed.
func (l *Log) Verify(ctx context.Context) (int, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, at, user, role, action, target, detail, addr, hash FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("read the audit log: %w", err)
	}
	defer rows.Close()
	prev, n := "", 0
	var prevID int64
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return n, err
		}
		if want := hash(prev, e); want != e.Hash {
			what := "its fields were changed"
			if e.ID != prevID+1 {
				what = fmt.Sprintf("entries %d to %d are missing", prevID+1, e.ID-1)
			}
			return n, fmt.Errorf("%w at entry %d (%s %s %s): %s", ErrBroken, e.ID, e.At.Format(time.RFC3339), e.User, e.Action, what)
		}
		prev, prevID = e.Hash, e.ID
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	// AUTOINCREMENT remembers the highest id ever given: entries removed
	// at the end show there.
	var last int64
	if err := l.db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'`).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return n, fmt.Errorf("read the audit log: %w", err)
	}
	if last > prevID {
		return n, fmt.Errorf("%w: entries %d to %d, the latest, are missing", ErrBroken, prevID+1, last)
	}
	return n, nil
}

// Addr returns the host of a remote address ("1.2.3.4:5678" -> "1.2.3.4").
func Addr(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i > 0 && !strings.HasSuffix(remote, "]") {
		return strings.Trim(remote[:i], "[]")
	}
	return remote
}
