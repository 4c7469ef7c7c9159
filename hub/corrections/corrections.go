// Package corrections keeps the office's and schools' corrections (docs/DESIGN.md
// §5): scans added by hand (a forgotten badge, a roll-call), scans voided,
// absences declared for a day, forgotten staff clock-outs closed, sequence
// gaps declared lost. A correction is an event of its own, attributed to a
// user with a reason; nothing is ever rewritten or deleted.
package corrections

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/oklog/ulid/v2"

	"pointage/hub/db"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// Kinds of correction.
const (
	AddScan       = "add_scan"       // a scan that did not happen on a reader
	VoidScan      = "void_scan"      // a wrong scan: listed, never counted
	Absence       = "absence"        // a child declared absent for a day (lowers expected)
	CloseClockOut = "close_clockout" // a staff clock-out that was forgotten
	DeclareLost   = "declare_lost"   // a sequence gap the agent cannot resend
)

// ErrInvalid wraps every validation error.
var ErrInvalid = errors.New("invalid correction")

// ErrClientIDReused is returned by Add when the user already recorded
// another correction under the same client_id.
var ErrClientIDReused = errors.New("client_id already used by this user for another correction")

// Correction is one correction. Which fields matter depends on Kind.
type Correction struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Site string `json:"site"`
	// Day is the local day the correction applies to (YYYY-MM-DD).
	Day string `json:"day"`
	// add_scan, absence, close_clockout: the person (roster person_id).
	PersonID string `json:"person_id,omitempty"`
	// add_scan: service and direction; add_scan and close_clockout: time.
	Service wire.Service `json:"service,omitempty"`
	Dir     wire.Dir     `json:"dir,omitempty"`
	At      *time.Time   `json:"at,omitempty"`
	// void_scan: the event's id.
	EventID string `json:"event_id,omitempty"`
	// declare_lost: the device, epoch and seq range.
	Device  string `json:"device,omitempty"`
	Epoch   string `json:"epoch,omitempty"`
	FromSeq uint64 `json:"from_seq,omitempty"`
	ToSeq   uint64 `json:"to_seq,omitempty"`

	User      string    `json:"user"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`

	// ClientID, optional, is a key the client gives the correction (at
	// most 64 letters, digits, '-' or '_'). The same key from the same user
	// again returns the correction already recorded, with Replay set,
	// instead of recording a second one: a tablet that sends a tap again
	// because the answer was lost (or it was offline) counts it once.
	ClientID string `json:"client_id,omitempty"`
	Replay   bool   `json:"replay,omitempty"`
}

// The days a correction may be for: a day outside them is a typing
// error (or a fuzzer), never a school day.
const minYear, maxYear = 2000, 2099

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// Validate checks the fields the correction's kind needs.
func (c Correction) Validate() error {
	if !wire.ValidSiteOrDevice(c.Site) {
		return invalid("site", "%q is not a site id", c.Site)
	}
	if d, err := civil.ParseDate(c.Day); err != nil {
		return invalid("day", "want YYYY-MM-DD")
	} else if y := d.Time().Year(); y < minYear || y > maxYear {
		return invalid("day", "%s is not a school day of this century (%d to %d)", c.Day, minYear, maxYear)
	}
	for _, f := range []struct{ name, v string }{{"person_id", c.PersonID}, {"event_id", c.EventID}, {"epoch", c.Epoch}, {"user", c.User}} {
		if strings.IndexFunc(f.v, unicode.IsControl) >= 0 {
			return invalid(f.name, "contains a line break or control character")
		}
	}
	if strings.IndexFunc(c.Reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		return invalid("reason", "contains a control character")
	}
	if strings.TrimSpace(c.User) == "" {
		return invalid("user", "required: who makes the correction")
	}
	if strings.TrimSpace(c.Reason) == "" || len(c.Reason) > 500 {
		return invalid("reason", "required, at most 500 characters: why the correction is made")
	}
	if !validClientID(c.ClientID) {
		return invalid("client_id", "at most 64 letters, digits, '-' or '_'")
	}
	needPerson := func() error {
		if strings.TrimSpace(c.PersonID) == "" || len(c.PersonID) > 64 {
			return invalid("person_id", "required for %s", c.Kind)
		}
		return nil
	}
	switch c.Kind {
	case AddScan:
		if err := needPerson(); err != nil {
			return err
		}
		if !c.Service.Valid() {
			return invalid("service", "want canteen, garderie or staff")
		}
		if c.Dir == "" {
			return invalid("dir", "want in, out or auto")
		}
		if !c.Dir.Valid() {
			return invalid("dir", "want in, out or auto")
		}
		if c.At == nil {
			return invalid("at", "required: when the scan should have happened")
		}
	case VoidScan:
		if c.EventID == "" || len(c.EventID) > 64 {
			return invalid("event_id", "required: the id of the scan to void")
		}
	case Absence:
		return needPerson()
	case CloseClockOut:
		if err := needPerson(); err != nil {
			return err
		}
		if c.At == nil {
			return invalid("at", "required: the clock-out time")
		}
	case DeclareLost:
		if !wire.ValidSiteOrDevice(c.Device) {
			return invalid("device", "%q is not a device id", c.Device)
		}
		if c.FromSeq == 0 || c.ToSeq < c.FromSeq {
			return invalid("to_seq", "need 1 <= from_seq <= to_seq")
		}
	default:
		return invalid("kind", "%q: want add_scan, void_scan, absence, close_clockout or declare_lost", c.Kind)
	}
	return nil
}

func validClientID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '-', b == '_':
		default:
			return false
		}
	}
	return true
}

// Store keeps corrections in the hub's state database.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// schema, addClientID and clientIndex are version 1 of the corrections
// table in hub.db (hub/db: a released step never changes; a change is a
// new step).
const schema = `CREATE TABLE IF NOT EXISTS corrections (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	site TEXT NOT NULL,
	day TEXT NOT NULL,
	person_id TEXT NOT NULL DEFAULT '',
	service TEXT NOT NULL DEFAULT '',
	dir TEXT NOT NULL DEFAULT '',
	at TEXT NOT NULL DEFAULT '',
	event_id TEXT NOT NULL DEFAULT '',
	device TEXT NOT NULL DEFAULT '',
	epoch TEXT NOT NULL DEFAULT '',
	from_seq INTEGER NOT NULL DEFAULT 0,
	to_seq INTEGER NOT NULL DEFAULT 0,
	user TEXT NOT NULL,
	reason TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	client_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS corrections_day ON corrections (site, day);`

// clientIndex makes a client_id unique per user (created after the column
// is added to a table made by an older hub).
const clientIndex = `CREATE UNIQUE INDEX IF NOT EXISTS corrections_client ON corrections (user, client_id) WHERE client_id != ''`

func init() {
	db.Register(db.Migration{Package: "corrections", Steps: []db.Step{
		{Version: 1, SQL: schema},
		{Version: 1, Func: addClientID},
		{Version: 1, SQL: clientIndex},
	}})
}

// addClientID adds client_id to a table made by a hub before it had one
// (the only step of version 1 that looks at what is there: CREATE TABLE IF
// NOT EXISTS leaves such a table as it is).
func addClientID(ctx context.Context, tx *sql.Tx) error {
	var has int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('corrections') WHERE name = 'client_id'`).Scan(&has); err != nil {
		return err
	}
	if has == 0 {
		_, err := tx.ExecContext(ctx, `ALTER TABLE corrections ADD COLUMN client_id TEXT NOT NULL DEFAULT ''`)
		return err
	}
	return nil
}

// New is the corrections store on hub.db, migrated (hub/db).
func New(ctx context.Context, db *sql.DB, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}, nil
}

// Add validates and records a correction; it returns it with its id. With
// a ClientID the user already used, it records nothing and returns the
// correction recorded then, with Replay set, if it is the same one
// (ErrClientIDReused if not).
func (s *Store) Add(ctx context.Context, c Correction) (Correction, error) {
	c.Replay = false
	if err := c.Validate(); err != nil {
		return Correction{}, err
	}
	c.CreatedAt = s.now().Truncate(time.Millisecond)
	c.ID = ulid.MustNew(ulid.Timestamp(c.CreatedAt), rand.Reader).String()
	at := ""
	if c.At != nil {
		at = c.At.Format(wire.AtLayout)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO corrections (id, kind, site, day, person_id, service, dir, at, event_id, device, epoch, from_seq, to_seq, user, reason, created_at, client_id)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (user, client_id) WHERE client_id != '' DO NOTHING`,
		c.ID, c.Kind, c.Site, c.Day, c.PersonID, c.Service, c.Dir, at, c.EventID, c.Device, c.Epoch,
		int64(c.FromSeq), int64(c.ToSeq), c.User, c.Reason, c.CreatedAt.UnixMilli(), c.ClientID)
	if err != nil {
		return Correction{}, fmt.Errorf("record correction: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 || c.ClientID == "" {
		return c, err
	}
	// The user sent this key before: the same correction again (a retry).
	prev, err := s.list(ctx, ` AND user = ? AND client_id = ?`, []any{c.User, c.ClientID})
	if err != nil {
		return Correction{}, err
	}
	if len(prev) != 1 {
		return Correction{}, fmt.Errorf("record correction: client_id %s: %d rows", c.ClientID, len(prev))
	}
	p := prev[0]
	if !sameCorrection(p, c) {
		return Correction{}, fmt.Errorf("%w (%s, recorded as %s)", ErrClientIDReused, c.ClientID, p.ID)
	}
	p.Replay = true
	return p, nil
}

// sameCorrection reports whether a and b record the same thing (their ids,
// creation times and reasons aside).
func sameCorrection(a, b Correction) bool {
	sameAt := (a.At == nil) == (b.At == nil) && (a.At == nil || a.At.Equal(*b.At))
	return sameAt && a.Kind == b.Kind && a.Site == b.Site && a.Day == b.Day && a.PersonID == b.PersonID &&
		a.Service == b.Service && a.Dir == b.Dir && a.EventID == b.EventID && a.Device == b.Device &&
		a.Epoch == b.Epoch && a.FromSeq == b.FromSeq && a.ToSeq == b.ToSeq
}

// Filter selects corrections: Site "" is every site; days inclusive,
// empty = unbounded.
type Filter struct {
	Site     string
	From, To string // YYYY-MM-DD
	Kind     string
	PersonID string
}

// List returns the corrections of f, oldest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Correction, error) {
	q := ""
	var args []any
	if f.Site != "" {
		q += ` AND site = ?`
		args = append(args, f.Site)
	}
	if f.From != "" {
		q += ` AND day >= ?`
		args = append(args, f.From)
	}
	if f.To != "" {
		q += ` AND day <= ?`
		args = append(args, f.To)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.PersonID != "" {
		q += ` AND person_id = ?`
		args = append(args, f.PersonID)
	}
	return s.list(ctx, q, args)
}

// list returns the corrections matching where (SQL conditions, each
// starting with AND), oldest first.
func (s *Store) list(ctx context.Context, where string, args []any) ([]Correction, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, kind, site, day, person_id, service, dir, at, event_id, device, epoch, from_seq, to_seq, user, reason, created_at, client_id
		FROM corrections WHERE 1=1`+where+` ORDER BY created_at, rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Correction{}
	for rows.Next() {
		var c Correction
		var at string
		var from, to, created int64
		if err := rows.Scan(&c.ID, &c.Kind, &c.Site, &c.Day, &c.PersonID, &c.Service, &c.Dir, &at, &c.EventID, &c.Device, &c.Epoch,
			&from, &to, &c.User, &c.Reason, &created, &c.ClientID); err != nil {
			return nil, err
		}
		c.FromSeq, c.ToSeq, c.CreatedAt = uint64(from), uint64(to), time.UnixMilli(created)
		if at != "" {
			t, err := wire.ParseTime(at)
			if err == nil {
				c.At = &t
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
