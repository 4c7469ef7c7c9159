package ingest

import "pointage/hub/db"

// Queue states of a received event.
//
// The received table holds the events waiting for the store (the store was
// down when they came) and the quarantine; an event that reaches the store
// at once is never written there. Rows in state stored were left by hubs
// before the handled journal (journal.go); they still answer redeliveries.
const (
	statePending     = 0 // in the queue, not yet in the store
	stateStored      = 1
	stateQuarantined = 2 // refused by the store for good; handled, shown to the office
)

// schema is version 1 of ingest's tables in hub.db (hub/db: a released
// step never changes; a change is a new step).
const schema = `
CREATE TABLE IF NOT EXISTS received (
	device      TEXT NOT NULL,
	epoch       TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	id          TEXT NOT NULL,
	site        TEXT NOT NULL,
	reader      TEXT NOT NULL,
	badge       TEXT NOT NULL,
	service     TEXT NOT NULL,
	dir         TEXT NOT NULL,
	at          TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	review      INTEGER NOT NULL DEFAULT 0,
	state       INTEGER NOT NULL DEFAULT 0,
	reason      TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (device, epoch, seq)
);
CREATE INDEX IF NOT EXISTS received_pending ON received (state) WHERE state = 0;
CREATE TABLE IF NOT EXISTS handled (
	device     TEXT NOT NULL,
	epoch      TEXT NOT NULL,
	min_seq    INTEGER NOT NULL,
	max_seq    INTEGER NOT NULL,
	handled_at INTEGER NOT NULL,
	ids        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS handled_seq ON handled (device, epoch, max_seq);
CREATE INDEX IF NOT EXISTS handled_time ON handled (handled_at);
CREATE TABLE IF NOT EXISTS sequences (
	device          TEXT NOT NULL,
	epoch           TEXT NOT NULL,
	site            TEXT NOT NULL,
	received_through INTEGER NOT NULL DEFAULT 0,
	stored_through  INTEGER NOT NULL DEFAULT 0,
	max_seq         INTEGER NOT NULL DEFAULT 0,
	first_seen      INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL,
	PRIMARY KEY (device, epoch)
);
CREATE TABLE IF NOT EXISTS conflicts (
	device      TEXT NOT NULL,
	epoch       TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	stored_id   TEXT NOT NULL,
	other_id    TEXT NOT NULL,
	payload     TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (device, epoch, seq, other_id)
);
CREATE TABLE IF NOT EXISTS rejected (
	id          INTEGER PRIMARY KEY,
	received_at INTEGER NOT NULL,
	topic       TEXT NOT NULL,
	site        TEXT NOT NULL,
	device      TEXT NOT NULL,
	reason      TEXT NOT NULL,
	detail      TEXT NOT NULL,
	payload     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_time ON rejected (received_at);
CREATE TABLE IF NOT EXISTS lost (
	device        TEXT NOT NULL,
	epoch         TEXT NOT NULL,
	from_seq      INTEGER NOT NULL,
	to_seq        INTEGER NOT NULL,
	correction_id TEXT NOT NULL,
	PRIMARY KEY (device, epoch, from_seq, to_seq)
);
CREATE TABLE IF NOT EXISTS device_status (
	device       TEXT PRIMARY KEY,
	site         TEXT NOT NULL,
	epoch        TEXT NOT NULL,
	state        TEXT NOT NULL,
	status       TEXT NOT NULL,
	received_at  INTEGER NOT NULL,
	clock_skew_ms INTEGER NOT NULL,
	clock_synced INTEGER NOT NULL
);
`

func init() {
	db.Register(db.Migration{Package: "ingest", Steps: []db.Step{{Version: 1, SQL: schema}}})
}
