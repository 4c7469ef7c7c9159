package roster

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"pointage/hub/db"
	"pointage/internal/civil"
	"slices"
	"strings"
	"sync"
	"time"
)

// The roster's tables in the hub's SQLite database. A version row is one
// state of one person, valid from valid_from to valid_to inclusive (days
// as YYYY-MM-DD; 0001-01-01 = the beginning of time, 9999-12-31 = still
// current). A person's versions never overlap. This is version 1 of them
// (hub/db: a released step never changes; a change is a new step).
const schema = `
CREATE TABLE IF NOT EXISTS roster_imports (
	id          INTEGER PRIMARY KEY,
	imported_at TEXT    NOT NULL, -- RFC 3339, UTC
	from_day    TEXT    NOT NULL, -- the import's --from
	added       INTEGER NOT NULL DEFAULT 0,
	changed     INTEGER NOT NULL DEFAULT 0,
	unchanged   INTEGER NOT NULL DEFAULT 0,
	removed     INTEGER NOT NULL DEFAULT 0,
	kept        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS roster_versions (
	id           INTEGER PRIMARY KEY,
	person_id    TEXT    NOT NULL,
	valid_from   TEXT    NOT NULL,
	valid_to     TEXT    NOT NULL,
	import_id    INTEGER NOT NULL REFERENCES roster_imports(id),
	badge        TEXT    NOT NULL, -- canonical hex, or the low bits (match_bits)
	match_bits   INTEGER NOT NULL, -- 0 exact, 32 or 24 low bits
	card_number  TEXT    NOT NULL,
	role         TEXT    NOT NULL,
	last_name    TEXT    NOT NULL,
	first_name   TEXT    NOT NULL,
	site         TEXT    NOT NULL,
	class        TEXT    NOT NULL,
	regime       TEXT    NOT NULL,
	canteen_days TEXT    NOT NULL, -- "lu ma je ve"
	garderie     TEXT    NOT NULL, -- "", matin, soir, matin+soir
	family_id    TEXT    NOT NULL,
	CHECK (valid_from <= valid_to),
	UNIQUE (person_id, valid_from)
);
CREATE INDEX IF NOT EXISTS roster_versions_valid_to ON roster_versions(valid_to);
CREATE INDEX IF NOT EXISTS roster_versions_site ON roster_versions(site);
`

const versionCols = `id, person_id, valid_from, valid_to, import_id, badge, match_bits, card_number,
	role, last_name, first_name, site, class, regime, canteen_days, garderie, family_id`

// Roster is the versioned roster stored in the hub's database. It is safe
// for concurrent use, and several processes may share the database (the
// `roster import` command while the hub runs): AsOf notices their imports.
type Roster struct {
	db  *sql.DB
	now func() time.Time

	mu        sync.Mutex
	snapshots map[civil.Date]*Snapshot
	// spans are the snapshots loaded, each with the days it holds for (no
	// version begins or ends inside): the days of a span share its people.
	spans     []span
	cacheGen  int64     // the latest import id the cached snapshots reflect
	checkedAt time.Time // when cacheGen was last read from the database
	epoch     int64     // bumped by each import through this Roster
}

const (
	// maxCachedDays bounds the snapshot cache (today and a few days looked at).
	maxCachedDays = 8
	// freshFor is how long AsOf trusts its cache before checking the
	// database for an import by another process.
	freshFor = time.Second
)

func init() {
	db.Register(db.Migration{Package: "roster", Steps: []db.Step{{Version: 1, SQL: schema}}})
}

// New is the roster on hub.db, migrated (hub/db).
func New(ctx context.Context, db *sql.DB) (*Roster, error) {
	return &Roster{db: db, now: time.Now, snapshots: map[civil.Date]*Snapshot{}}, nil
}

// ImportResult is what an import did, person by person: the counts, and
// who is behind them, the first MaxListed of each kind (a preview shows
// them; a list of 10,000 would help nobody).
type ImportResult struct {
	Counts
	// AddedPeople are the people added, as the import has them (Line:
	// their row), in the import's order.
	AddedPeople []Person
	// ChangedPeople are the people changed, in the import's order.
	ChangedPeople []Change
	// RemovedPeople are the people removed, as they were, by person id.
	RemovedPeople []Person
}

// MaxListed is how many people of each kind an ImportResult names.
const MaxListed = 200

// Change is one person changed by an import.
type Change struct {
	Old, New Person // the current version; the import's (Line: its row)
	Fields   []FieldChange
}

// FieldChange is one field that an import changes, with the values as
// the roster file writes them.
type FieldChange struct {
	Field    string // a column of the roster file: badge, role, last_name, class, regime…
	Old, New string
}

// Counts counts what an import did, person by person.
type Counts struct {
	Added     int // new to the roster, or back after leaving it
	Changed   int // known and current, with some field changed: a new version from the import date
	Unchanged int // known and current, same data: nothing written
	Removed   int // current but missing from the import: no longer valid from the import date
	// Kept counts current people missing from the import only because their
	// row was rejected (ImportParsed): they stay as they were.
	Kept int
}

// Import replaces the current roster by people, from the day from
// (docs/DESIGN.md §7), in one transaction:
//
//   - a person new to the roster is valid on every day, past ones included;
//   - a change to a current person (any field) ends their version on the
//     day before from and starts a new one on from; past days keep what was
//     valid then;
//   - a current person missing from people stays valid until the day
//     before from;
//   - a person who had left the roster and is back is valid again from
//     from (unknown on the days between);
//   - unchanged people get no new version, so importing the same people
//     twice changes nothing (each import is still logged in
//     roster_imports, with its counts).
//
// Importing again with the same from (a corrected file the same day)
// replaces that day's versions instead of stacking new ones; a change
// undone that way leaves the roster as before. A from earlier than the
// start of a version it would end or replace (or than the day after a
// returning person left) is refused with ErrBackdated, naming the person
// and the earliest from that works: history is not rewritten. people must
// pass Validate and have distinct person ids and cards (else
// ErrInvalidPerson). progress, if not nil, is called as people are
// processed. A failed import changes nothing.
func (r *Roster) Import(ctx context.Context, people []Person, from civil.Date, progress func(done, total int)) (ImportResult, error) {
	return r.importPeople(ctx, people, nil, from, false, progress)
}

// version is one stored version of a person.
type version struct {
	id       int64
	from, to civil.Date
	importID int64
	p        Person
}

type opKind int

const (
	opInsert  opKind = iota // new version [from, to] with p
	opSetTo                 // version id now ends on to
	opDelete                // version id removed
	opReplace               // version id gets p's data
)

type op struct {
	kind     opKind
	id       int64
	p        *Person
	from, to civil.Date
}

// backdate records an import date that is too early for one person.
type backdate struct {
	personID string
	need     civil.Date // the earliest from that works for them
	since    civil.Date // their version's start, or the day they left
	left     bool
}

func (r *Roster) importPeople(ctx context.Context, people []Person, keep []string, from civil.Date, dryRun bool, progress func(done, total int)) (res ImportResult, err error) {
	if !from.Valid() || !from.After(civil.MinDate) || !from.Before(civil.MaxDate) {
		return res, fmt.Errorf("import roster: from date %s is not a valid day", from)
	}
	if err := checkPeople(people); err != nil {
		return res, fmt.Errorf("import roster: %w", err)
	}
	dayBefore := from.AddDays(-1)

	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("import roster: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()

	// The versions an import can touch: those still valid on the day before
	// from (current ones, ones that end just before from, and ones in the
	// way), by person, oldest first.
	recent := map[string][]version{}
	rows, err := tx.QueryContext(ctx, `SELECT `+versionCols+` FROM roster_versions WHERE valid_to >= ? ORDER BY person_id, valid_from`, dayBefore.String())
	if err != nil {
		return res, fmt.Errorf("import roster: read current roster: %w", err)
	}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			rows.Close()
			return res, fmt.Errorf("import roster: read current roster: %w", err)
		}
		recent[v.p.PersonID] = append(recent[v.p.PersonID], v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("import roster: read current roster: %w", err)
	}
	known, err := knownPeople(ctx, tx)
	if err != nil {
		return res, fmt.Errorf("import roster: %w", err)
	}

	// Decide, person by person, before writing anything.
	var ops []op
	var late []backdate
	var removed []Person
	added := func(p *Person) {
		res.Added++
		if len(res.AddedPeople) < MaxListed {
			res.AddedPeople = append(res.AddedPeople, *p)
		}
	}
	changed := func(old Person, p *Person) {
		res.Changed++
		if len(res.ChangedPeople) < MaxListed {
			res.ChangedPeople = append(res.ChangedPeople, Change{Old: old, New: *p, Fields: diff(old, *p)})
		}
	}
	inFile := make(map[string]bool, len(people))
	for i := range people {
		p := &people[i]
		inFile[p.PersonID] = true
		vs := recent[p.PersonID]
		var last, prev *version // latest version; the one ending on dayBefore
		for j := range vs {
			if vs[j].to == dayBefore {
				prev = &vs[j]
			}
		}
		if len(vs) > 0 {
			last = &vs[len(vs)-1]
		}
		switch {
		case last == nil && !known[p.PersonID]:
			ops = append(ops, op{kind: opInsert, p: p, from: civil.MinDate, to: civil.MaxDate})
			added(p)
		case last == nil: // left the roster before dayBefore
			ops = append(ops, op{kind: opInsert, p: p, from: from, to: civil.MaxDate})
			added(p)
		case last.to != civil.MaxDate && last.to.Before(from): // left on dayBefore+1 exactly
			if last.p.sameAs(*p) {
				ops = append(ops, op{kind: opSetTo, id: last.id, to: civil.MaxDate})
			} else {
				ops = append(ops, op{kind: opInsert, p: p, from: from, to: civil.MaxDate})
			}
			added(p)
		case last.to != civil.MaxDate:
			late = append(late, backdate{p.PersonID, last.to.AddDays(1), last.to.AddDays(1), true})
		case last.p.sameAs(*p):
			res.Unchanged++
		case last.from.Before(from):
			ops = append(ops, op{kind: opSetTo, id: last.id, to: dayBefore}, op{kind: opInsert, p: p, from: from, to: civil.MaxDate})
			changed(last.p, p)
		case last.from == from && prev != nil && prev.p.sameAs(*p): // a change of the same day, undone
			ops = append(ops, op{kind: opDelete, id: last.id}, op{kind: opSetTo, id: prev.id, to: civil.MaxDate})
			changed(last.p, p)
		case last.from == from:
			ops = append(ops, op{kind: opReplace, id: last.id, p: p})
			changed(last.p, p)
		default:
			late = append(late, backdate{p.PersonID, last.from, last.from, false})
		}
	}
	keepSet := make(map[string]bool, len(keep))
	for _, id := range keep {
		keepSet[id] = true
	}
	for id, vs := range recent {
		last := vs[len(vs)-1]
		if inFile[id] || last.to != civil.MaxDate {
			continue
		}
		switch {
		case keepSet[id]:
			res.Kept++
		case last.from.Before(from):
			ops = append(ops, op{kind: opSetTo, id: last.id, to: dayBefore})
			removed = append(removed, last.p)
		case last.from == from:
			ops = append(ops, op{kind: opDelete, id: last.id})
			removed = append(removed, last.p)
		default:
			late = append(late, backdate{id, last.from, last.from, false})
		}
	}
	if len(late) > 0 {
		return ImportResult{}, backdatedError(late, from)
	}
	res.Removed = len(removed)
	slices.SortFunc(removed, func(a, b Person) int { return strings.Compare(a.PersonID, b.PersonID) })
	res.RemovedPeople = slices.Clone(removed[:min(len(removed), MaxListed)])
	if dryRun { // the figures an import would give, decided by the same code; nothing written
		tx.Rollback()
		return res, nil
	}

	imp, err := tx.ExecContext(ctx, `INSERT INTO roster_imports (imported_at, from_day) VALUES (?, ?)`,
		r.now().UTC().Format(time.RFC3339), from.String())
	if err != nil {
		return res, fmt.Errorf("import roster: %w", err)
	}
	importID, err := imp.LastInsertId()
	if err != nil {
		return res, fmt.Errorf("import roster: %w", err)
	}
	if err := applyOps(ctx, tx, ops, importID, len(people), progress); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// Cancelled: database/sql rolls the transaction back and closes
			// its statements, so the write fails with "statement is
			// closed"; the cause is the cancellation.
			err = cerr
		}
		return res, fmt.Errorf("import roster: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE roster_imports SET added = ?, changed = ?, unchanged = ?, removed = ?, kept = ? WHERE id = ?`,
		res.Added, res.Changed, res.Unchanged, res.Removed, res.Kept, importID); err != nil {
		return res, fmt.Errorf("import roster: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("import roster: commit: %w", err)
	}
	r.mu.Lock()
	r.epoch++
	clear(r.snapshots)
	r.spans = nil
	r.checkedAt = time.Time{}
	r.mu.Unlock()
	return res, nil
}

// checkPeople validates each person and refuses duplicate ids and cards.
func checkPeople(people []Person) error {
	ids := make(map[string]bool, len(people))
	cards := newCardSet[string]()
	for _, p := range people {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidPerson, err)
		}
		if ids[p.PersonID] {
			return fmt.Errorf("%w: person %q appears twice", ErrInvalidPerson, p.PersonID)
		}
		if other, dup := cards.find(p.Match); dup {
			return fmt.Errorf("%w: persons %q and %q have the same card (%s)", ErrInvalidPerson, other, p.PersonID, p.Match)
		}
		ids[p.PersonID] = true
		cards.add(p.Match, p.PersonID)
	}
	return nil
}

// diff lists the fields that differ from old to p, in the roster file's
// column order, with the values as the file writes them.
func diff(old, p Person) []FieldChange {
	var out []FieldChange
	for _, f := range []struct{ field, old, new string }{
		{ColBadge, old.Match.String(), p.Match.String()},
		{ColRole, string(old.Role), string(p.Role)},
		{ColLastName, old.LastName, p.LastName},
		{ColFirstName, old.FirstName, p.FirstName},
		{ColSite, old.Site, p.Site},
		{ColClass, old.Class, p.Class},
		{ColRegime, old.Regime, p.Regime},
		{ColCanteenDays, old.CanteenDays.String(), p.CanteenDays.String()},
		{ColGarderie, old.Garderie.String(), p.Garderie.String()},
		{ColCardNumber, old.CardNumber, p.CardNumber},
		{ColFamilyID, old.FamilyID, p.FamilyID},
	} {
		if f.old != f.new {
			out = append(out, FieldChange{Field: f.field, Old: f.old, New: f.new})
		}
	}
	return out
}

func backdatedError(late []backdate, from civil.Date) error {
	slices.SortFunc(late, func(a, b backdate) int {
		if c := b.need.Compare(a.need); c != 0 {
			return c // latest first: the date that works for everyone
		}
		return strings.Compare(a.personID, b.personID)
	})
	return fmt.Errorf("import roster: %w", &BackdatedError{PersonID: late[0].personID, Since: late[0].since, Left: late[0].left,
		From: from, Others: len(late) - 1, Earliest: late[0].need})
}

func knownPeople(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT person_id FROM roster_versions`)
	if err != nil {
		return nil, fmt.Errorf("read known people: %w", err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read known people: %w", err)
		}
		known[id] = true
	}
	return known, rows.Err()
}

func applyOps(ctx context.Context, tx *sql.Tx, ops []op, importID int64, total int, progress func(done, total int)) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO roster_versions (person_id, valid_from, valid_to, import_id,
		badge, match_bits, card_number, role, last_name, first_name, site, class, regime, canteen_days, garderie, family_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	setTo, err := tx.PrepareContext(ctx, `UPDATE roster_versions SET valid_to = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	defer setTo.Close()
	del, err := tx.PrepareContext(ctx, `DELETE FROM roster_versions WHERE id = ?`)
	if err != nil {
		return err
	}
	defer del.Close()
	repl, err := tx.PrepareContext(ctx, `UPDATE roster_versions SET import_id = ?,
		badge = ?, match_bits = ?, card_number = ?, role = ?, last_name = ?, first_name = ?, site = ?,
		class = ?, regime = ?, canteen_days = ?, garderie = ?, family_id = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	defer repl.Close()

	// Deletes and shortened versions first, so no two versions of a person
	// ever overlap, even inside the transaction.
	slices.SortStableFunc(ops, func(a, b op) int {
		rank := func(o op) int {
			switch o.kind {
			case opDelete:
				return 0
			case opSetTo:
				if o.to != civil.MaxDate {
					return 1
				}
			}
			return 2
		}
		return rank(a) - rank(b)
	})
	for i, o := range ops {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var err error
		switch o.kind {
		case opInsert:
			p := o.p
			_, err = ins.ExecContext(ctx, p.PersonID, o.from.String(), o.to.String(), importID,
				p.Match.Badge, p.Match.Bits, p.CardNumber, string(p.Role), p.LastName, p.FirstName,
				p.Site, p.Class, p.Regime, p.CanteenDays.String(), p.Garderie.String(), p.FamilyID)
		case opSetTo:
			_, err = setTo.ExecContext(ctx, o.to.String(), o.id)
		case opDelete:
			_, err = del.ExecContext(ctx, o.id)
		case opReplace:
			p := o.p
			_, err = repl.ExecContext(ctx, importID, p.Match.Badge, p.Match.Bits, p.CardNumber, string(p.Role),
				p.LastName, p.FirstName, p.Site, p.Class, p.Regime, p.CanteenDays.String(), p.Garderie.String(), p.FamilyID, o.id)
		}
		if err != nil {
			who := ""
			if o.p != nil {
				who = fmt.Sprintf(" (person %q)", o.p.PersonID)
			}
			return fmt.Errorf("write version%s: %w", who, err)
		}
		if progress != nil && total > 0 {
			progress(min(total, (i+1)*total/len(ops)), total)
		}
	}
	if progress != nil && (len(ops) == 0 || total == 0) {
		progress(total, total)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanVersion(s scanner) (version, error) {
	var v version
	var from, to, role, days, garderie string
	err := s.Scan(&v.id, &v.p.PersonID, &from, &to, &v.importID, &v.p.Match.Badge, &v.p.Match.Bits,
		&v.p.CardNumber, &role, &v.p.LastName, &v.p.FirstName, &v.p.Site, &v.p.Class, &v.p.Regime,
		&days, &garderie, &v.p.FamilyID)
	if err != nil {
		return v, err
	}
	v.p.Role = Role(role)
	if v.from, err = civil.ParseDate(from); err != nil {
		return v, fmt.Errorf("version %d: %w", v.id, err)
	}
	if v.to, err = civil.ParseDate(to); err != nil {
		return v, fmt.Errorf("version %d: %w", v.id, err)
	}
	if v.p.CanteenDays, err = ParseWeekdays(days); err != nil {
		return v, fmt.Errorf("version %d: %w", v.id, err)
	}
	if v.p.Garderie, err = ParseGarderie(garderie); err != nil {
		return v, fmt.Errorf("version %d: %w", v.id, err)
	}
	return v, nil
}

// Snapshot is the roster as it was valid on one day. It is shared (AsOf
// caches it): read it, never modify what it returns.
type Snapshot struct {
	day    civil.Date
	people []Person // by person id
	byID   map[string]*Person
	index  *Index
	sites  []string
}

// Day returns the day the snapshot is valid for.
func (s *Snapshot) Day() civil.Date { return s.day }

// People returns everyone valid on the day, ordered by person id. The
// slice is shared: do not modify it.
func (s *Snapshot) People() []Person { return s.people }

// Person returns the person with this id, if valid on the day.
func (s *Snapshot) Person(personID string) (*Person, bool) {
	p, ok := s.byID[personID]
	return p, ok
}

// Lookup returns the person a scanned badge belongs to (Index.Lookup).
// Where two people valid that day would match the same scan (a badge given
// to a new child who is, as every new person, known on past days too), the
// one from the earlier import wins: the roster that was in force then.
func (s *Snapshot) Lookup(badge string) (*Person, bool) { return s.index.Lookup(badge) }

// Sites returns the sites of the people valid on the day, sorted.
func (s *Snapshot) Sites() []string { return s.sites }

// AsOf returns the roster valid on day. Snapshots are cached: an import
// through this Roster shows at once; an import by another process (the
// `roster import` command while the hub runs) within freshFor, when AsOf
// next checks the latest import in the database.
func (r *Roster) AsOf(ctx context.Context, day civil.Date) (*Snapshot, error) {
	if !day.Valid() {
		return nil, fmt.Errorf("roster as of %s: not a valid day", day)
	}
	r.mu.Lock()
	if s, ok := r.snapshots[day]; ok && time.Since(r.checkedAt) < freshFor {
		r.mu.Unlock()
		return s, nil
	}
	epoch := r.epoch
	r.mu.Unlock()

	gen, err := r.latestImport(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.epoch == epoch && gen >= r.cacheGen {
		if gen > r.cacheGen {
			clear(r.snapshots)
			r.spans = nil
			r.cacheGen = gen
		}
		r.checkedAt = time.Now()
		if s, ok := r.snapshots[day]; ok {
			r.mu.Unlock()
			return s, nil
		}
	}
	r.mu.Unlock()

	// A day inside the span of a snapshot already loaded shares its people
	// (a month's export reads 21 days of the same roster).
	sp, err := r.spanOf(ctx, day)
	if err != nil {
		return nil, err
	}
	if after, err := r.latestImport(ctx); err == nil && after == gen {
		r.mu.Lock()
		if r.epoch == epoch && r.cacheGen == gen {
			for _, x := range r.spans {
				if x.from == sp.from && x.to == sp.to {
					s := x.snap.on(day)
					r.cacheDay(day, s)
					r.mu.Unlock()
					return s, nil
				}
			}
		}
		r.mu.Unlock()
	}

	s, err := r.load(ctx, day)
	if err != nil {
		return nil, err
	}
	// Cache the snapshot only if it is known to reflect gen: no import
	// committed while it loaded (each adds a roster_imports row) and none
	// through this Roster since the check.
	after, err := r.latestImport(ctx)
	if err != nil {
		return s, nil
	}
	r.mu.Lock()
	if after == gen && r.epoch == epoch && r.cacheGen == gen {
		r.cacheDay(day, s)
		if len(r.spans) >= maxCachedDays {
			r.spans = r.spans[1:]
		}
		sp.snap = s
		r.spans = append(r.spans, sp)
	}
	r.mu.Unlock()
	return s, nil
}

// cacheDay keeps day's snapshot (r.mu held).
func (r *Roster) cacheDay(day civil.Date, s *Snapshot) {
	if len(r.snapshots) >= maxCachedDays {
		clear(r.snapshots)
	}
	r.snapshots[day] = s
}

// span is the days [from, to) over which no roster version begins or ends
// ("" for no bound), and the snapshot loaded for one of them.
type span struct {
	from, to string
	snap     *Snapshot
}

// spanOf returns the span of days around day with the same versions valid:
// from the latest version start or end before it to the next one after.
func (r *Roster) spanOf(ctx context.Context, day civil.Date) (span, error) {
	var from, to sql.NullString
	d := day.String()
	err := r.db.QueryRowContext(ctx, `SELECT
		(SELECT max(b) FROM (SELECT valid_from AS b FROM roster_versions WHERE valid_from <= ?1
			UNION ALL SELECT date(valid_to, '+1 day') FROM roster_versions WHERE valid_to < ?1)),
		(SELECT min(b) FROM (SELECT valid_from AS b FROM roster_versions WHERE valid_from > ?1
			UNION ALL SELECT date(valid_to, '+1 day') FROM roster_versions WHERE valid_to >= ?1))`, d).Scan(&from, &to)
	if err != nil {
		return span{}, fmt.Errorf("roster as of %s: %w", day, err)
	}
	return span{from: from.String, to: to.String}, nil
}

// on is s for another day of its span: the same people, index and sites.
func (s *Snapshot) on(day civil.Date) *Snapshot {
	c := *s
	c.day = day
	return &c
}

func (r *Roster) latestImport(ctx context.Context) (int64, error) {
	var id int64
	if err := r.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM roster_imports`).Scan(&id); err != nil {
		return 0, fmt.Errorf("roster: %w", err)
	}
	return id, nil
}

func (r *Roster) load(ctx context.Context, day civil.Date) (*Snapshot, error) {
	d := day.String()
	rows, err := r.db.QueryContext(ctx, `SELECT `+versionCols+` FROM roster_versions
		WHERE valid_from <= ? AND valid_to >= ? ORDER BY person_id`, d, d)
	if err != nil {
		return nil, fmt.Errorf("roster as of %s: %w", day, err)
	}
	defer rows.Close()
	var versions []version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("roster as of %s: %w", day, err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roster as of %s: %w", day, err)
	}

	s := &Snapshot{day: day, people: make([]Person, len(versions)), byID: make(map[string]*Person, len(versions))}
	prio := make([]*Person, len(versions))
	importOf := make(map[*Person]int64, len(versions))
	var sites []string
	for i, v := range versions {
		s.people[i] = v.p
		p := &s.people[i]
		s.byID[p.PersonID] = p
		prio[i] = p
		importOf[p] = v.importID
		sites = append(sites, p.Site)
	}
	slices.SortStableFunc(prio, func(a, b *Person) int { return cmp.Compare(importOf[a], importOf[b]) })
	s.index = newIndex(prio)
	slices.Sort(sites)
	s.sites = slices.Compact(sites)
	return s, nil
}

// Sites returns every site that ever appeared in the roster, sorted.
func (r *Roster) Sites(ctx context.Context) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT DISTINCT site FROM roster_versions ORDER BY site`)
	if err != nil {
		return nil, fmt.Errorf("roster sites: %w", err)
	}
	defer rows.Close()
	var sites []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("roster sites: %w", err)
		}
		sites = append(sites, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roster sites: %w", err)
	}
	return sites, nil
}

// Version is one stored state of a person and the days it is valid.
type Version struct {
	Person
	From, To civil.Date // inclusive; civil.MinDate = every past day, civil.MaxDate = current
}

// History returns the versions of one person, oldest first.
func (r *Roster) History(ctx context.Context, personID string) ([]Version, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+versionCols+` FROM roster_versions WHERE person_id = ? ORDER BY valid_from`, personID)
	if err != nil {
		return nil, fmt.Errorf("roster history of %q: %w", personID, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("roster history of %q: %w", personID, err)
		}
		out = append(out, Version{Person: v.p, From: v.from, To: v.to})
	}
	return out, rows.Err()
}

// Generation returns the id of the latest import (0 before any): it changes
// with every import, by this process or another. Caches of figures
// computed from the roster key on it.
func (r *Roster) Generation(ctx context.Context) (int64, error) { return r.latestImport(ctx) }
