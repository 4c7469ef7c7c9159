// Package storetest is the conformance suite every [store.Store] backend
// passes (docs/DESIGN.md §6): sqlitestore and influxstore run the same cases through
// [Run], each on a fresh, empty store.
//
// What it holds a backend to: every field read back as written (instants
// compared with time.Time.Equal, since InfluxDB keeps no offset); rewriting
// an event leaves one copy; two events at the same millisecond are both kept
// when their identity differs; Query ranges are [From, To) exact to the
// millisecond, so a caller that passes a local day's UTC bounds gets that
// local day (2026-11-24 in Nouméa is 2026-11-23T13:00:00Z to
// 2026-11-24T13:00:00Z); the site filter; results ordered by At, Device, Seq;
// a 5,000-event batch; Close twice harmless; Write and Events after Close
// fail with an error that is not permanent (a hub shutting down must not
// quarantine events).
package storetest
