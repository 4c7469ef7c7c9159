// Package ingest turns MQTT messages from agents into stored check-ins
// (docs/DESIGN.md §3, §4). It validates every message with the wire package and
// keeps what it refuses in a rejected table; stores each accepted check-in
// once per (device, epoch, seq) — a redelivery is a no-op, another id for a
// known seq is kept aside as a conflict; writes new check-ins to the
// time-series store in batches and remembers their ids in a handled journal
// (one row per device and batch); keeps them in the hub's SQLite queue while
// the store is down, retrying with backoff, and quarantines what the store
// refuses for good; keeps per (device, epoch) the contiguous sequence and the
// missing ranges; asks agents to resend old gaps; and publishes the Ack of
// what is stored.
//
// Two goroutines do the work: the pipeline (validate, sort new from
// redelivered, record rejections and statuses) and the writer (store,
// journal, Ack). A new event waits for the store in memory only: until the
// Ack covers it, the agent's outbox holds it and publishes it again if the
// hub stops.
package ingest
