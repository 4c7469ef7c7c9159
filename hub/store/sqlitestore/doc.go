// Package sqlitestore is the embedded check-in store: the default backend of
// [store.Store], one SQLite file of its own (for example
// <data-dir>/checkins.db) opened through hub/db (modernc.org/sqlite, WAL,
// synchronous=FULL, so an event is on disk when Write returns and the hub
// may Ack it).
//
// It owns one table:
//
//	checkins(device, epoch, seq,          -- identity, the primary key
//	         id, site, reader, badge, service, dir,
//	         at,              -- device time, text 2006-01-02T15:04:05.000Z07:00 (offset kept)
//	         at_utc_ms,       -- the same instant, unix milliseconds (range queries)
//	         received_at_ms,  -- hub receive time, unix milliseconds
//	         review)          -- 0 or 1
//	index (at_utc_ms), index (site, at_utc_ms)
//
// Write inserts a batch in one transaction with one prepared statement; an
// event whose (device, epoch, seq) is already stored is overwritten with the
// new values, as InfluxDB overwrites a point (the hub only ever rewrites the
// same content). Events selects at_utc_ms in [From, To) (bounds rounded up to
// the millisecond, as At has millisecond precision) and returns At with the
// offset the device sent.
package sqlitestore
