// Package store defines the check-in time-series store the hub writes to
// and reads from (docs/DESIGN.md §6). Backends live in sub-packages: sqlitestore
// (embedded default) and influxstore (InfluxDB 2.x and 1.8); storetest is
// the conformance suite both must pass.
package store

import (
	"context"
	"errors"
	"pointage/internal/wire"
	"time"
)

// Event is one stored check-in: the fields of the agent's CheckIn plus
// what the hub adds. Its identity is (Device, Epoch, Seq).
type Event struct {
	ID      string
	Site    string
	Device  string
	Epoch   string
	Reader  string
	Seq     uint64
	Badge   string
	Service wire.Service
	Dir     wire.Dir
	// At is the device's time, millisecond precision, with its offset.
	At time.Time
	// ReceivedAt is when the hub received the event (millisecond precision).
	ReceivedAt time.Time
	// Review marks an event the office must look at before billing (device
	// clock skewed or unsynchronised, date in the future or before 2020).
	Review bool
}

// Query selects events whose At lies in [From, To).
type Query struct {
	From, To time.Time
	Site     string // "" = every site
	// BadgeSuffixes, when set, keeps only the events whose badge ends with
	// one of them: a coarse filter for one person's events (a badge
	// matches on its low bits, roster.Match); the caller matches exactly.
	BadgeSuffixes []string
}

// Purger is a Store that can delete old events (the retention).
type Purger interface {
	// Purge deletes every event whose At is before the instant and returns
	// how many it deleted (-1 when the backend cannot tell).
	Purge(ctx context.Context, before time.Time) (int64, error)
	// Oldest returns the At of the oldest event (ok false when empty).
	Oldest(ctx context.Context) (at time.Time, ok bool, err error)
}

// Store is a check-in time-series store.
type Store interface {
	// Write stores the events. Writing an event again (same identity) leaves
	// one copy. An error wrapping ErrPermanent means the store refused the
	// data for good (InfluxDB: a 4xx other than 429) and retrying the same
	// batch cannot succeed; any other error is worth retrying.
	Write(ctx context.Context, events []Event) error
	// Events returns the events of q ordered by At, then Device, then Seq.
	Events(ctx context.Context, q Query) ([]Event, error)
	// Close releases the store. Twice is harmless.
	Close() error
}

// ErrPermanent wraps a store error that retrying cannot fix.
var ErrPermanent = errors.New("the store refused the data")

// IsPermanent reports whether err wraps ErrPermanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }
