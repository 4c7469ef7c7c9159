package counts

import (
	"time"

	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// Result is the count of one site for one local day. Marshalled to JSON it
// is one element of the "sites" array of GET /api/v1/counts (docs/DESIGN.md §9,
// contract); Detail is what the dashboard, the events API and the exports
// need besides.
type Result struct {
	Site    string        `json:"site"`
	Canteen CanteenCounts `json:"canteen"`
	// Garderie has one entry per session of the site, by session name.
	Garderie map[string]SessionCounts `json:"garderie"`
	Staff    StaffCounts              `json:"staff"`
	// Warnings are the edit checks of the site and day; never null.
	// CrossSiteWarnings adds the ones that need every site.
	Warnings []Warning `json:"warnings"`
	Detail   Detail    `json:"-"`
}

// CanteenCounts are the canteen figures of docs/DESIGN.md §5.
type CanteenCounts struct {
	Meals            int            `json:"meals"`
	StaffMeals       int            `json:"staff_meals"`
	ByRegime         map[string]int `json:"by_regime"`
	Expected         int            `json:"expected"`
	ExpectedByRegime map[string]int `json:"expected_by_regime"`
	Absent           int            `json:"absent"`
	Unexpected       int            `json:"unexpected"`
	UnknownBadges    int            `json:"unknown_badges"`
	Duplicates       int            `json:"duplicates"`
}

// SessionCounts are the figures of one garderie session. Late is nil (and
// left out of the JSON) for auto_close sessions, whose children go to
// class at the end and cannot be picked up late, as in docs/DESIGN.md §9's
// example; it is always present, 0 included, for the other sessions.
type SessionCounts struct {
	Children int  `json:"children"`
	Present  int  `json:"present"`
	Late     *int `json:"late,omitempty"`
}

// StaffCounts are the staff figures.
type StaffCounts struct {
	Present int `json:"present"`
}

// Kind is what a scan counted as; the events API exposes it.
type Kind string

// The kinds of scan.
const (
	// canteen
	KindMeal               Kind = "meal"                 // a child's first canteen scan of the day: one meal
	KindDuplicate          Kind = "duplicate"            // a child's later canteen scan: counted in duplicates
	KindStaffMeal          Kind = "staff_meal"           // a staff member's first canteen scan
	KindStaffMealDuplicate Kind = "staff_meal_duplicate" // a staff member's later canteen scan (not in duplicates)
	// garderie
	KindIn                Kind = "in"                 // a child checked in to a session
	KindOut               Kind = "out"                // a child checked out
	KindGarderieDuplicate Kind = "garderie_duplicate" // within 2 minutes of the child's previous garderie scan
	// staff
	KindClockIn        Kind = "clock_in"
	KindClockOut       Kind = "clock_out"
	KindClockDuplicate Kind = "clock_duplicate" // within 2 minutes of the previous staff scan
	// any service
	KindUnknown  Kind = "unknown"   // badge not in the roster: listed, never dropped
	KindIgnored  Kind = "ignored"   // a known person where their role is not counted (a child at a staff reader, staff at the garderie), or an unknown service; Note says which
	KindVoided   Kind = "voided"    // voided by a correction: listed, never counted
	KindOtherDay Kind = "other_day" // At is not on the local day asked for: not counted
)

// Kinds lists every Kind, for documentation and validation.
var Kinds = []Kind{KindMeal, KindDuplicate, KindStaffMeal, KindStaffMealDuplicate,
	KindIn, KindOut, KindGarderieDuplicate, KindClockIn, KindClockOut, KindClockDuplicate,
	KindUnknown, KindIgnored, KindVoided, KindOtherDay}

// DuplicateWindow is how close to a person's previous garderie or
// staff scan a device scan is a duplicate rather than a check-out.
const DuplicateWindow = 2 * time.Minute

// Detail is everything Compute found beyond the figures.
type Detail struct {
	Day civil.Date
	Loc *time.Location
	// Now is Input.Now clamped to the day; Past is true when the day is
	// over at Now.
	Now    time.Time
	Past   bool
	Closed bool
	// Scans lists every input scan with what it counted as, ordered by At,
	// then Seq, then Device, then ID.
	Scans []ScanResult
	// Review counts the counted scans (not voided, on the day) marked
	// review: the office looks at them before billing.
	Review   int
	Canteen  CanteenDetail
	Garderie []SessionDetail // in session order
	Staff    []StaffDay      // by person id
	// Unknown lists the badges not in the roster, per service, by service
	// then badge.
	Unknown []UnknownBadge
}

// ScanResult is one scan and what it counted as.
type ScanResult struct {
	Scan
	Kind    Kind
	Session string         // the garderie session, for garderie scans
	Person  *roster.Person // nil when the badge is unknown; shared, do not modify
	Note    string         // why, for ignored scans
}

// CanteenDetail lists who the canteen figures count.
type CanteenDetail struct {
	// Enrolled counts the site's children enrolled at the canteen on the
	// day's weekday (before absences and closures).
	Enrolled int
	// Served lists the children served, in the order of their first scan.
	Served []Served
	// StaffMeals lists the staff who ate, by first scan.
	StaffMeals []Served
	// Absent lists the children expected and not served, by person id.
	Absent []*roster.Person
	// Unexpected lists the children served and not expected (billed as an
	// occasional meal), by first scan.
	Unexpected []Served
	// DeclaredAbsent lists the ids of Input.Absent, sorted.
	DeclaredAbsent []string
	// UnknownBadges lists the distinct badges scanned at the canteen and
	// not in the roster, sorted.
	UnknownBadges []string
}

// Served is one person served at the canteen.
type Served struct {
	PersonID string
	Person   *roster.Person
	First    time.Time // the first canteen scan
	Scans    int       // counted canteen scans (1 + duplicates)
	Expected bool
}

// SessionDetail is one garderie session of the day.
type SessionDetail struct {
	Session
	// Opens is the start of the session's window (Start minus the margin);
	// Start and End are the session's times on the day.
	Opens, Start, End time.Time
	// Ended is true when End has passed at Now.
	Ended bool
	// Children lists the children with a scan in the session, by person id.
	Children []Child
	// Present and Late list person ids, sorted.
	Present []string
	Late    []string
}

// Child is one child's time in a garderie session.
type Child struct {
	PersonID string
	Person   *roster.Person
	// In is the first check-in; nil when the child was only checked out.
	In *time.Time
	// Out is the last check-out; nil while the child is present.
	Out   *time.Time
	Stays []Stay
	// Present: the child's last counted scan is an in (never checked out).
	Present bool
	// Late: checked out after the session's end (not for auto_close
	// sessions).
	Late bool
	// Duration is the time present: every closed stay, plus an open one up
	// to Now on the current day.
	Duration time.Duration
	// NeverCheckedOut is set on a past day when a stay has no end: the
	// child is still counted present and Duration leaves that stay out
	// (never guessed).
	NeverCheckedOut bool
	// OutWithoutIn is set when a check-out had no check-in before it.
	OutWithoutIn bool
}

// Stay is one check-in to check-out period.
type Stay struct {
	In, Out *time.Time // In nil: a check-out without check-in; Out nil: still present
	// AutoClosed: Out is the end of an auto_close session, not a scan.
	AutoClosed bool
}

// StaffDay is one staff member's day.
type StaffDay struct {
	PersonID string
	Person   *roster.Person
	// Shifts are the clock-in/clock-out pairs in order.
	Shifts []Shift
	// Worked sums the shifts that have both ends.
	Worked time.Duration
	// Present: the last shift is open (clocked in, not out).
	Present bool
	// Flags are the anomalies of the day, sorted: FlagMissingClockOut,
	// FlagMissingClockIn, FlagClockOutUnused.
	Flags []string
}

// The flags of a StaffDay.
const (
	// FlagMissingClockOut: a shift without clock-out, on a past day or
	// followed by another clock-in. Never guessed: a correction closes it.
	FlagMissingClockOut = "missing_clock_out"
	// FlagMissingClockIn: a clock-out without a clock-in before it.
	FlagMissingClockIn = "missing_clock_in"
	// FlagClockOutUnused: a closed clock-out correction found no open
	// shift starting before it.
	FlagClockOutUnused = "clock_out_correction_unused"
)

// Shift is one clock-in/clock-out pair.
type Shift struct {
	In  *time.Time // nil: clock-out without clock-in
	Out *time.Time // nil: not clocked out
	// OutCorrection: Out comes from a closed clock-out correction.
	OutCorrection bool
}

// UnknownBadge is a badge not in the roster, scanned at one service.
type UnknownBadge struct {
	Service     wire.Service
	Badge       string
	Scans       int
	First, Last time.Time
}

// Warning is an edit check shown to the office (docs/DESIGN.md §5). Messages are
// in English and name people by id only (the kitchen sees warnings).
type Warning struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	PersonID string `json:"person_id,omitempty"`
}

// Warning codes.
const (
	// WarnServedMoreThanEnrolled: more meals than children enrolled at the
	// canteen that weekday.
	WarnServedMoreThanEnrolled = "served_more_than_enrolled"
	// WarnTwoSites: one child scanned (canteen or garderie) at two sites
	// the same day; from CrossSiteWarnings.
	WarnTwoSites = "scanned_at_two_sites"
	// WarnScansOnClosedDay: meals or garderie scans on a day the calendar
	// closes the site.
	WarnScansOnClosedDay = "scans_on_closed_day"
)
