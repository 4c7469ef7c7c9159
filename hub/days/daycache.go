package days

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"pointage/hub/counts"
	"pointage/hub/db"
	"pointage/hub/export"
	"pointage/hub/store"
	"pointage/internal/civil"
)

// The day cache keeps, in hub.db, the export rows of past days (meals,
// garderie, staff, every site), so a month's export reads them instead of
// recounting 30 days from the store. A day's rows are valid under a key
// made of everything they depend on:
//
//   - the cache epoch, bumped at each hub start (an event stored just
//     before a crash, whose day version was not bumped, is never missed);
//   - the day's version, bumped when events of that past day are stored
//     (a device catching up);
//   - the roster's generation (any import, by the hub or the command);
//   - the day's corrections (count and latest);
//   - the configuration (time zone, calendar file, sites: Options.ConfigKey);
//   - the closed days of hub.db that cover the day (Calendar.Stamp: one
//     added or removed in the dashboard).
//
// Today and later days are never cached. The hub fills the cache in the
// background (FillCache) so exports are fast from the first one.
//
// dayCacheSchema is version 1 of the cache's tables in hub.db (hub/db: a
// released step never changes; a change is a new step).
const dayCacheSchema = `
CREATE TABLE IF NOT EXISTS day_rows (
	day      TEXT PRIMARY KEY, -- YYYY-MM-DD
	key      TEXT NOT NULL,
	meals    BLOB NOT NULL,
	garderie BLOB NOT NULL,
	staff    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS day_versions (
	day TEXT PRIMARY KEY,
	v   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS day_cache_epoch (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	v  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_by_day ON corrections (day);
CREATE TABLE IF NOT EXISTS day_counts (
	day  TEXT PRIMARY KEY, -- YYYY-MM-DD
	key  TEXT NOT NULL,
	data BLOB NOT NULL     -- JSON: the sites of GET /api/v1/counts
);
`

func init() {
	db.Register(db.Migration{Package: "days", Steps: []db.Step{{Version: 1, SQL: dayCacheSchema}}})
}

// dayCache is the Service's bookkeeping of the cache (nil DB: no cache).
type dayCache struct {
	// computed counts the days computed for the cache (tests).
	mu       sync.Mutex
	computed int
}

// cacheReady reports whether the Cache has its tables: a hub.db, migrated
// (hub/db).
func (s *Cache) cacheReady(context.Context) bool { return s.opts.DB != nil }

// NewCacheEpoch invalidates every cached day; the hub calls it at start.
func (s *Cache) NewCacheEpoch(ctx context.Context) error {
	if !s.cacheReady(ctx) {
		return nil
	}
	_, err := s.opts.DB.ExecContext(ctx, `INSERT INTO day_cache_epoch (id, v) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = v + 1`)
	return err
}

// bumpDays marks the cached rows of these days stale.
func (s *Cache) bumpDays(ctx context.Context, days map[civil.Date]bool) {
	if len(days) == 0 || !s.cacheReady(ctx) {
		return
	}
	for d := range days {
		if _, err := s.opts.DB.ExecContext(ctx, `INSERT INTO day_versions (day, v) VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET v = v + 1`, d.String()); err != nil {
			// The rows of that day might be served stale: say so loudly; a
			// hub restart (new epoch) clears it.
			s.log.Error("could not mark a day's cached export rows stale; restart the hub before exporting that month", "day", d.String(), "err", err)
		}
	}
}

// dayKey is what a day's rows depend on (see the package comment above).
func (s *Cache) dayKey(ctx context.Context, day civil.Date) (string, error) {
	db := s.opts.DB
	var epoch, version int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE((SELECT v FROM day_cache_epoch WHERE id = 1), 0), COALESCE((SELECT v FROM day_versions WHERE day = ?), 0)`,
		day.String()).Scan(&epoch, &version); err != nil {
		return "", err
	}
	gen, err := s.opts.Roster.Generation(ctx)
	if err != nil {
		return "", err
	}
	var n, latest int64
	if err := db.QueryRowContext(ctx, `SELECT count(*), COALESCE(max(created_at), 0) FROM corrections WHERE day = ?`, day.String()).Scan(&n, &latest); err != nil {
		return "", err
	}
	return fmt.Sprintf("e%d/v%d/r%d/c%d.%d/k%s/%s", epoch, version, gen, n, latest, s.opts.Calendar.Stamp(day), s.opts.ConfigKey), nil
}

// cachedCounts returns the counts of a past day, every site, from the
// cache when its key holds (ok false otherwise, with the key to store a
// fresh count under).
func (s *Cache) cachedCounts(ctx context.Context, day civil.Date) (sites []json.RawMessage, key string, ok bool) {
	if !day.Before(s.comp.Today()) || !s.cacheReady(ctx) {
		return nil, "", false
	}
	key, err := s.dayKey(ctx, day)
	if err != nil {
		s.log.Warn("day cache", "err", err)
		return nil, "", false
	}
	var got string
	var data []byte
	if err := s.opts.DB.QueryRowContext(ctx, `SELECT key, data FROM day_counts WHERE day = ?`, day.String()).Scan(&got, &data); err != nil || got != key {
		return nil, key, false
	}
	if err := json.Unmarshal(data, &sites); err != nil {
		return nil, key, false
	}
	return sites, key, true
}

// keepCounts stores a past day's counts under key.
func (s *Cache) keepCounts(ctx context.Context, day civil.Date, key string, d *Day) {
	if key == "" {
		return
	}
	all := make([]counts.Result, 0, len(d.Sites))
	for _, x := range d.Sites {
		all = append(all, d.Results[x])
	}
	data, err := json.Marshal(all)
	if err == nil {
		_, err = s.opts.DB.ExecContext(ctx, `INSERT INTO day_counts (day, key, data) VALUES (?, ?, ?)
			ON CONFLICT (day) DO UPDATE SET key = excluded.key, data = excluded.data`, day.String(), key, data)
	}
	if err != nil {
		s.log.Warn("could not cache a day's counts", "day", day.String(), "err", err)
	}
}

// dayRows are one day's export rows, every site.
type dayRows struct {
	Meals    []export.MealRow
	Garderie []export.GarderieRow
	Staff    []export.StaffRow
}

// rowsOfDay returns a day's export rows: from the cache for a past day
// when its key still holds, else counted (and cached for a past day).
func (s *Cache) rowsOfDay(ctx context.Context, day civil.Date) (*dayRows, error) {
	cacheable := day.Before(s.comp.Today()) && s.cacheReady(ctx)
	var key string
	if cacheable {
		var err error
		if key, err = s.dayKey(ctx, day); err != nil {
			return nil, fmt.Errorf("day cache: %w", err)
		}
		var got string
		var meals, garderie, staff []byte
		err = s.opts.DB.QueryRowContext(ctx, `SELECT key, meals, garderie, staff FROM day_rows WHERE day = ?`, day.String()).Scan(&got, &meals, &garderie, &staff)
		if err == nil && got == key {
			rows := &dayRows{}
			if err := decodeRows(meals, &rows.Meals); err == nil {
				if err := decodeRows(garderie, &rows.Garderie); err == nil {
					if err := decodeRows(staff, &rows.Staff); err == nil {
						return rows, nil
					}
				}
			}
			s.log.Warn("a cached day could not be read; counting it again", "day", day.String())
		} else if err != nil && err != sql.ErrNoRows {
			return nil, fmt.Errorf("day cache: %w", err)
		}
	}
	// Counted from the store (what a restart would count), every site.
	var d *Day
	var err error
	if day.Before(s.comp.Today()) {
		d, err = s.comp.compute(ctx, day, true)
	} else {
		d, err = s.comp.Compute(ctx, day, "")
	}
	if err != nil {
		return nil, err
	}
	if cacheable {
		s.keepCounts(ctx, day, key, d) // the same day's counts, for the API
	}
	rows := &dayRows{}
	for _, x := range d.Sites {
		r := d.Results[x]
		rows.Meals = append(rows.Meals, mealRows(day, r)...)
		rows.Garderie = append(rows.Garderie, garderieRows(day, r)...)
		rows.Staff = append(rows.Staff, staffRows(day, r)...)
	}
	if cacheable {
		s.dc.mu.Lock()
		s.dc.computed++
		s.dc.mu.Unlock()
		meals, err1 := encodeRows(rows.Meals)
		garderie, err2 := encodeRows(rows.Garderie)
		staff, err3 := encodeRows(rows.Staff)
		if err1 == nil && err2 == nil && err3 == nil {
			if _, err := s.opts.DB.ExecContext(ctx, `INSERT INTO day_rows (day, key, meals, garderie, staff) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (day) DO UPDATE SET key = excluded.key, meals = excluded.meals, garderie = excluded.garderie, staff = excluded.staff`,
				day.String(), key, meals, garderie, staff); err != nil {
				s.log.Warn("could not cache a day's export rows", "day", day.String(), "err", err)
			}
		}
	}
	return rows, nil
}

func encodeRows[T any](rows []T) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(rows)
	return b.Bytes(), err
}

func decodeRows[T any](b []byte, into *[]T) error {
	return gob.NewDecoder(bytes.NewReader(b)).Decode(into)
}

// FillCache counts the past days of the current and previous months that
// are not cached yet, then, every night, the day that just ended: the
// month's export then reads rows instead of counting. It runs until ctx
// ends.
func (s *Cache) FillCache(ctx context.Context) {
	if !s.cacheReady(ctx) {
		return
	}
	// Not during the start-up: devices reconnect and republish then.
	select {
	case <-ctx.Done():
		return
	case <-time.After(fillCacheDelay):
	}
	for {
		today := s.comp.Today()
		first := civil.Date{Year: today.Year, Month: today.Month, Day: 1}.AddDays(-1)
		first = civil.Date{Year: first.Year, Month: first.Month, Day: 1}
		started, n := time.Now(), 0
		for d := first; d.Before(today); d = d.AddDays(1) {
			if ctx.Err() != nil {
				return
			}
			before := s.cacheComputed()
			if _, err := s.rowsOfDay(ctx, d); err != nil {
				if ctx.Err() == nil {
					s.log.Warn("could not prepare a day's export rows; the export will count it", "day", d.String(), "err", err)
				}
				continue
			}
			n += s.cacheComputed() - before
		}
		if n > 0 {
			s.log.Info("export rows of past days prepared", "days", n, "took", time.Since(started).Round(time.Millisecond))
		}
		// Again a few minutes after the next local midnight.
		next := s.comp.Today().AddDays(1).In(s.opts.Loc).Add(5 * time.Minute)
		wait := time.Until(next)
		if now := s.opts.Now(); next.After(now) {
			wait = next.Sub(now)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(max(wait, time.Minute), 6*time.Hour)):
		}
	}
}

// fillCacheDelay is how long after the start FillCache begins.
const fillCacheDelay = time.Minute

func (s *Cache) cacheComputed() int {
	s.dc.mu.Lock()
	defer s.dc.mu.Unlock()
	return s.dc.computed
}

// storedPastDays returns the local days before today of the events.
func (s *Cache) storedPastDays(evs []store.Event, today civil.Date) map[civil.Date]bool {
	var out map[civil.Date]bool
	for _, e := range evs {
		d := civil.DateOf(e.At.In(s.opts.Loc))
		if d.Before(today) {
			if out == nil {
				out = map[civil.Date]bool{}
			}
			out[d] = true
		}
	}
	return out
}

// stored takes events just stored (from the change feed): events of past
// days (a device catching up) make those days' cached rows stale.
func (s *Cache) stored(evs []store.Event) {
	s.bumpDays(context.Background(), s.storedPastDays(evs, s.comp.Today()))
}
