package calendar

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"pointage/hub/db"
	"pointage/internal/civil"
)

// schemaV3 is the closed days entered in the dashboard (docs/DESIGN.md §12),
// version 3 of hub.db (hub/db: a released step never changes). A removed
// entry stays, with who removed it and when.
const schemaV3 = `
CREATE TABLE closed_days (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	from_day   TEXT NOT NULL,    -- YYYY-MM-DD, a local day, included
	to_day     TEXT NOT NULL,    -- YYYY-MM-DD, included
	sites      TEXT NOT NULL,    -- site ids separated by spaces; '' = every site
	reason     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL, -- Unix milliseconds
	removed_by TEXT NOT NULL DEFAULT '',
	removed_at INTEGER           -- Unix milliseconds; NULL while in force
) STRICT;
`

func init() {
	db.Register(db.Migration{Package: "calendar", Steps: []db.Step{{Version: 3, SQL: schemaV3}}})
}

// Source says where a closed day comes from.
type Source string

// Sources.
const (
	FromConfig    Source = "config"    // the --calendar file: read-only here
	FromDashboard Source = "dashboard" // hub.db: added and removed in the dashboard
)

// Entry is one entry of the effective calendar.
type Entry struct {
	Closure
	Source Source
	// ID names the entry: hub.db's id ("12") for a dashboard entry,
	// "config-N" for the file's Nth entry.
	ID        string
	CreatedBy string    // dashboard entries
	CreatedAt time.Time // dashboard entries
}

// Addition is a closed day to add: the body of POST /api/v1/closed-days.
type Addition struct {
	From   string   `json:"from"` // YYYY-MM-DD
	To     string   `json:"to"`   // YYYY-MM-DD; "" = From
	Sites  []string `json:"sites"`
	Reason string   `json:"reason"`
}

// Errors of the closed days' administration (besides ErrInvalid, which a
// refused Addition or id wraps: its message names the field).
var (
	// ErrNotFound: no closed day in force has that id.
	ErrNotFound = errors.New("no such closed day")
	// ErrReadOnly: the entry is the calendar file's.
	ErrReadOnly = errors.New("closed day from the calendar file")
)

// invalid is a refused Addition or id: its message names the field, and
// it is ErrInvalid.
type invalid struct{ msg string }

func (e invalid) Error() string        { return e.msg }
func (e invalid) Is(target error) bool { return target == ErrInvalid }

// Check validates a and returns the closure it adds.
func (a Addition) Check() (Closure, error) {
	e := closure{From: a.From, To: cmp.Or(a.To, a.From), Sites: a.Sites, Reason: a.Reason}
	if a.From == "" {
		return Closure{}, invalid{"from: required (the first closed day, YYYY-MM-DD)"}
	}
	cl, err := e.check()
	if err != nil {
		return Closure{}, invalid{err.Error()}
	}
	for _, f := range []struct {
		name string
		day  civil.Date
	}{{"from", cl.From}, {"to", cl.To}} {
		if f.day.Year < 2000 || f.day.Year > 2099 {
			return Closure{}, invalid{fmt.Sprintf("%s: %s is not a day of this century; is the year right?", f.name, f.day)}
		}
	}
	if cl.Reason == "" {
		return Closure{}, invalid{"reason: required (why the schools are closed, e.g. Grève)"}
	}
	return cl, nil
}

// Store is the effective calendar: the configuration's file (read-only)
// and the closed days of hub.db, which the dashboard adds and removes
// while the hub runs. A nil Store closes nothing. Safe for concurrent use.
//
// hub.db's entries are read once, by Open; Add and Remove change them and
// the memory together. Only the running hub changes them (the API); a
// command opening the state (an offline export) reads them as they are.
type Store struct {
	db      *sql.DB
	file    *Calendar
	now     func() time.Time
	changed func()

	mu      sync.RWMutex
	entries []Entry // hub.db's in force, by id
}

// Options wire a Store.
type Options struct {
	DB      *sql.DB          // hub.db, migrated (hub/db)
	File    *Calendar        // the --calendar file (nil: none)
	Now     func() time.Time // nil: time.Now
	Changed func()           // called after an entry is added or removed (nil: nothing)
}

// Open reads hub.db's closed days in force.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Changed == nil {
		opts.Changed = func() {}
	}
	s := &Store{db: opts.DB, file: opts.File, now: opts.Now, changed: opts.Changed}
	rows, err := s.db.QueryContext(ctx, `SELECT id, from_day, to_day, sites, reason, created_by, created_at FROM closed_days
		WHERE removed_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read the closed days: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, at int64
		var from, to, sites string
		e := Entry{Source: FromDashboard}
		if err := rows.Scan(&id, &from, &to, &sites, &e.Reason, &e.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("read the closed days: %w", err)
		}
		if e.From, err = civil.ParseDate(from); err == nil {
			e.To, err = civil.ParseDate(to)
		}
		if err != nil {
			return nil, fmt.Errorf("closed day %d in hub.db: %w", id, err)
		}
		e.ID, e.Sites, e.CreatedAt = strconv.FormatInt(id, 10), strings.Fields(sites), time.UnixMilli(at).UTC()
		s.entries = append(s.entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the closed days: %w", err)
	}
	return s, nil
}

// File is the configuration's calendar file (nil: none).
func (s *Store) File() *Calendar {
	if s == nil {
		return nil
	}
	return s.file
}

// Closed reports whether site is closed on day, by the file or by
// hub.db, with the reason of the first entry that closes it (the file's
// first).
func (s *Store) Closed(site string, day civil.Date) (bool, string) {
	if s == nil {
		return false, ""
	}
	if closed, reason := s.file.Closed(site, day); closed {
		return true, reason
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.entries {
		if e.Applies(site, day) {
			return true, e.Reason
		}
	}
	return false, ""
}

// Stamp names hub.db's entries in force that cover day, whatever the
// site: it changes when one is added or removed, so figures computed
// under another stamp are stale. (The file's entries are part of the
// configuration's fingerprint, days.Options.ConfigKey.)
func (s *Store) Stamp(day civil.Date) string {
	if s == nil {
		return ""
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var b strings.Builder
	for _, e := range s.entries {
		if !day.Before(e.From) && !day.After(e.To) {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(e.ID)
		}
	}
	return b.String()
}

// List returns the entries of both sources that close a day from..to
// (included), by first day, the file's first on the same day.
func (s *Store) List(from, to civil.Date) []Entry {
	if s == nil {
		return nil
	}
	var out []Entry
	overlaps := func(c Closure) bool { return !c.To.Before(from) && !c.From.After(to) }
	for i, c := range s.file.Closures() {
		if overlaps(c) {
			out = append(out, Entry{Closure: c, Source: FromConfig, ID: "config-" + strconv.Itoa(i+1)})
		}
	}
	s.mu.RLock()
	for _, e := range s.entries {
		if overlaps(e.Closure) {
			e.Sites = slices.Clone(e.Sites)
			out = append(out, e)
		}
	}
	s.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b Entry) int { return a.From.Compare(b.From) })
	return out
}

// Add records a closed day entered by user by: it applies at once.
// ErrInvalid (the message names the field).
func (s *Store) Add(ctx context.Context, a Addition, by string) (Entry, error) {
	cl, err := a.Check()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Closure: cl, Source: FromDashboard, CreatedBy: by, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	// Written first, outside the lock (the figures read Closed meanwhile).
	res, err := s.db.ExecContext(ctx, `INSERT INTO closed_days (from_day, to_day, sites, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		cl.From.String(), cl.To.String(), strings.Join(cl.Sites, " "), cl.Reason, by, e.CreatedAt.UnixMilli())
	var id int64
	if err == nil {
		id, err = res.LastInsertId()
	}
	if err != nil {
		return Entry{}, fmt.Errorf("record a closed day: %w", err)
	}
	e.ID = strconv.FormatInt(id, 10)
	s.mu.Lock()
	s.entries = append(s.entries, e)
	s.mu.Unlock()
	s.changed()
	e.Sites = slices.Clone(e.Sites)
	return e, nil
}

// Remove removes the dashboard entry id, for user by (hub.db keeps it,
// with who removed it and when): it applies at once. ErrReadOnly for an
// entry of the file, ErrNotFound, ErrInvalid for what is no id.
func (s *Store) Remove(ctx context.Context, id, by string) (Entry, error) {
	if n, ok := strings.CutPrefix(id, "config-"); ok {
		i, err := strconv.Atoi(n)
		if c := s.file.Closures(); err == nil && i >= 1 && i <= len(c) {
			return Entry{}, fmt.Errorf("%w (line %d): edit the calendar file (--calendar) and restart the hub to remove it", ErrReadOnly, c[i-1].Line)
		}
		return Entry{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != id {
		return Entry{}, invalid{fmt.Sprintf("id: %q is not a closed day's id (a number, or config-N for the calendar file's)", id)}
	}
	notFound := fmt.Errorf("%w: %s (removed already?)", ErrNotFound, id)
	s.mu.RLock()
	i := slices.IndexFunc(s.entries, func(e Entry) bool { return e.ID == id })
	var e Entry
	if i >= 0 {
		e = s.entries[i]
	}
	s.mu.RUnlock()
	if i < 0 {
		return Entry{}, notFound
	}
	res, err := s.db.ExecContext(ctx, `UPDATE closed_days SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL`,
		by, s.now().UnixMilli(), n)
	var changed int64
	if err == nil {
		changed, err = res.RowsAffected()
	}
	if err != nil {
		return Entry{}, fmt.Errorf("remove closed day %s: %w", id, err)
	}
	if changed == 0 { // removed meanwhile by another request
		return Entry{}, notFound
	}
	s.mu.Lock()
	s.entries = slices.DeleteFunc(s.entries, func(e Entry) bool { return e.ID == id })
	s.mu.Unlock()
	s.changed()
	return e, nil
}
