// Package outbox is the agent's durable outbox: every badge scan the agent
// accepts is committed here, with the next sequence number, before the reader
// gives its "accepted" feedback (docs/DESIGN.md §4).
//
// The outbox is one SQLite file (modernc.org/sqlite, WAL, synchronous=FULL),
// so an Append that returned is on disk: a SIGKILL or a power cut after it
// loses nothing. Sequence numbers start at 1 and are contiguous for the life
// of the file: a failed Append consumes none, a restart continues at the next
// one, and pruning never resets the counter. The file also holds its epoch, a
// ULID created with the database; a lost or re-created outbox therefore has a
// new epoch and starts again at 1, which the hub tells apart.
//
// An event stays pending until the hub's Ack {epoch, stored_through} covers
// it; the publisher reads pending events in seq order with [Outbox.Pending]
// and [Outbox.DuePending] and records publications with
// [Outbox.MarkPublished]. Acknowledged events are kept, so [Outbox.Range] can
// answer the hub's resend commands, until [Outbox.Prune] removes them after
// the resend window.
//
// [ReadStats] opens the file read-only and is what `pointage-agent outbox`
// prints while the agent runs.
//
// A write the environment refuses (disk full, read-only file system, I/O
// error, a database locked by another process) returns an error matching
// [ErrUnavailable]: the agent refuses the scan and shows the error, and the
// outbox works again, with the next contiguous seq, once the condition is gone.
package outbox
