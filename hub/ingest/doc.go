// Package ingest turns MQTT messages from agents into stored check-ins
// (DESIGN §3, §4). It validates every message with the wire package and
// keeps what it refuses in a rejected table; records each accepted check-in
// once per (device, epoch, seq) in the hub's SQLite queue — a redelivery is
// a no-op, another id for a known seq is kept aside as a conflict; writes
// the queue to the time-series store in batches, retrying with backoff
// while the store is down and quarantining what the store refuses for good;
// keeps per (device, epoch) the contiguous sequence and the missing ranges;
// asks agents to resend old gaps; and publishes the Ack of what is stored.
//
// Two goroutines do the work: the pipeline (validate, queue, acknowledge
// statuses) and the writer (queue -> store -> Ack). The store never blocks
// the pipeline: events wait in SQLite, not in memory.
package ingest
