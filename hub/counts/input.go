package counts

import (
	"time"

	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// Scan is one check-in as counted: a stored event, or a scan added by a
// correction.
type Scan struct {
	ID, Device, Epoch, Reader string
	Seq                       uint64
	Badge                     string
	Service                   wire.Service
	Dir                       wire.Dir
	At                        time.Time
	ReceivedAt                time.Time
	Review                    bool
	// Correction is "" for a device scan, else the id of the correction
	// that added it. A correction is deliberate: it is never taken for a
	// 2-minute duplicate.
	Correction string
	// PersonID, when set (a correction names the person), resolves the
	// scan by person id instead of Badge.
	PersonID string
	// Voided marks a scan voided by a correction: listed, never counted.
	Voided bool
}

// ScanFromEvent returns a stored event as a Scan.
func ScanFromEvent(e store.Event) Scan {
	return Scan{ID: e.ID, Device: e.Device, Epoch: e.Epoch, Reader: e.Reader, Seq: e.Seq,
		Badge: e.Badge, Service: e.Service, Dir: e.Dir, At: e.At, ReceivedAt: e.ReceivedAt, Review: e.Review}
}

// DefaultLocation is the timezone used when Input.Loc is nil: Nouméa,
// UTC+11 all year (New Caledonia has had no daylight saving since 1979).
var DefaultLocation = time.FixedZone("+11", 11*60*60)

// DayBounds returns the instants [from, to) of the local day in loc: what a
// caller asks the store for. A day is 23 or 25 hours long where the
// clocks change.
func DayBounds(day civil.Date, loc *time.Location) (from, to time.Time) {
	if loc == nil {
		loc = DefaultLocation
	}
	return day.In(loc), day.AddDays(1).In(loc)
}

// Input is what Compute counts: one site, one local day.
type Input struct {
	Site string
	Day  civil.Date
	// Loc is the site's timezone; nil means DefaultLocation.
	Loc *time.Location
	// Scans holds every scan of this site whose At falls in the local day
	// (the caller selects by DayBounds); any other is listed as other_day
	// and not counted.
	Scans []Scan
	// Roster holds the people valid that day; nil is an empty roster
	// (every badge unknown).
	Roster *roster.Snapshot
	// Sessions are the site's garderie sessions; empty means
	// DefaultSessions().
	Sessions []Session
	// Closed is a closed day (calendar): nobody is expected.
	Closed bool
	// Absent holds the person ids declared absent that day (lowers
	// expected).
	Absent map[string]bool
	// ClosedClockOuts maps a staff person id to the clock-out time a
	// correction entered for a forgotten clock-out.
	ClosedClockOuts map[string]time.Time
	// Now is the time of the request: it decides who is present now and
	// whether auto_close sessions have ended. For a past day give any time
	// after the day (the end of the day is used); the zero time means a
	// past day.
	Now time.Time
}
