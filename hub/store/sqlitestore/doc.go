// Package sqlitestore is the embedded check-in store: the default backend of
// [store.Store], one SQLite file of its own (for example
// <data-dir>/checkins.db) opened through hub/db (modernc.org/sqlite, WAL,
// synchronous=FULL, so an event is on disk when Write returns and the hub
// may Ack it).
//
// It owns two tables:
//
//	checkins(device, epoch, seq,          -- identity, the primary key
//	         id, site, reader, badge, service, dir,
//	         at,              -- device time, text 2006-01-02T15:04:05.000Z07:00 (offset kept)
//	         at_utc_ms,       -- the same instant, unix milliseconds (range queries)
//	         received_at_ms,  -- hub receive time, unix milliseconds
//	         review)          -- 0 or 1
//	index checkins_at_site (at_utc_ms, site)   -- every read and the retention
//	range_events(to_ms, from_ms, n, data)    -- a past day's events, encoded (ranges.go)
//
// A database made by an older hub has two indexes instead, checkins_at
// (at_utc_ms) and checkins_site_at (site, at_utc_ms); Open replaces them
// once (each index made every insert dearer; a day of one site is read
// from the day's range of at_utc_ms).
//
// Write inserts a batch in one transaction on the store's own write
// connection (temp_store=MEMORY, its multi-row INSERT statements prepared
// once); an event whose (device, epoch, seq) is already stored is
// overwritten with the new values, as InfluxDB overwrites a point (the hub
// only ever rewrites the same content). Events selects at_utc_ms in
// [From, To) (bounds rounded up to the millisecond, as At has millisecond
// precision) and returns At with the offset the device sent. A range of
// every site, up to 26 hours, that has ended (a past local day) is kept
// whole in range_events after its first read and read from there until a
// Write into it or a Purge (ranges.go).
package sqlitestore
