// Package influxstore is the InfluxDB backend of [store.Store]: the home of
// github.com/influxdata/influxdb-client-go/v2 in the hub. It works with
// InfluxDB 2.x (org, bucket, API token) and with InfluxDB 1.8+ through its
// v2-compatible API (org "", bucket "db/rp" such as "pointage/autogen",
// token "user:password" or empty).
//
// Schema (docs/DESIGN.md §6), one point per check-in:
//
//	measurement  checkin
//	tags         site, device, reader, service (only values from the event;
//	             an empty value is left out)
//	fields       badge (string), seq (integer), epoch (string), id (string),
//	             dir (string), received_at (integer, unix ms), review (boolean)
//	timestamp    At truncated to the millisecond + (seq mod 1e6) ns
//
// A point's identity (measurement, tags, timestamp) is therefore unique per
// device and the same on every redelivery: writing an event again overwrites
// its point. Badges and ids are fields, never tags (series cardinality).
//
// Writes go through WriteAPIBlocking, which never retries: the hub retries
// from its own queue, so Write returning nil means InfluxDB has the points.
// Errors are classified for the hub: a 4xx answer about the data (400 field
// type conflict or parse error, 413, 422, …) wraps [store.ErrPermanent];
// network errors, timeouts, 5xx and 429 are retryable, and so are 401/403
// (credentials: the configuration is wrong, not the data, and quarantining
// every event until it is fixed would be worse than queueing them) and 404
// (database or bucket missing).
//
// On InfluxDB 1.x (bucket "db/rp", or /ping's X-Influxdb-Version "1.…")
// the database must exist before writing: the store runs
// CREATE DATABASE "db" through the plain /query endpoint at Open, or, when
// InfluxDB is down then, before the next Write; a 404 "database not found"
// later (the database was dropped) makes it do so again. On 2.x the bucket
// must already exist. Retention is left to the operator.
//
// Events reads on 1.x through InfluxQL (/query, chunked JSON, times in
// nanoseconds; influxql.go), which influxd answers in about a quarter of the
// time of the same points through Flux with a pivot (BenchmarkDayFloor); on
// 2.x, and for the badge-suffix queries, it runs a Flux query with an explicit
// range(start:, stop:) in UTC (1.8's Flux has no time zones: the hub computes
// local days' bounds), an optional site filter and a pivot of the fields into
// rows. It returns At in UTC, since InfluxDB keeps no offset, and sorts by At,
// Device, Seq.
package influxstore
