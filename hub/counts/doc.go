// Package counts owns the counting rules of docs/DESIGN.md §5: what a day's
// check-ins of one site add up to. Everything here is a pure function of
// its input (no I/O, no clock: the caller passes Now), so the rules are
// tested on hand-built days.
//
// Compute takes one site and one local day (Input: the day's scans, the
// roster snapshot valid that day, the site's garderie sessions, whether
// the calendar closes the site, the declared absences and the closed
// clock-outs from corrections) and returns a Result. Marshalled to JSON, a
// Result is exactly one element of the "sites" array of GET
// /api/v1/counts (docs/DESIGN.md §9, contract); its Detail (not marshalled) holds
// what the dashboard, the events API and the exports need: the kind of
// every scan, the resolved person, the canteen lists, each garderie
// session's children with their times, each staff member's shifts.
// CrossSiteWarnings, StaffMonth and ChildrenMonth work on several Results.
//
// # Days and time zones
//
// A day is a civil day in the site's timezone (Input.Loc, default
// Pacific/Noumea, UTC+11 all year); DayBounds gives the instants a caller
// asks the store for. Session times are local wall-clock times placed on
// the day with time.Date, so they stay right across daylight-saving
// changes; durations are elapsed time. Nothing uses UTC days or
// time.Local. A scan whose At is not on the day is listed as other_day and
// not counted.
//
// # Kinds
//
// Detail.Scans lists every input scan, ordered by At then Seq (then
// Device, ID), with its Kind, the `kind` of GET /api/v1/events:
//
//	meal                  a child's first canteen scan of the day
//	duplicate             a child's later canteen scan (counted in duplicates)
//	staff_meal            a staff member's first canteen scan
//	staff_meal_duplicate  a staff member's later canteen scan (not in duplicates)
//	in, out               a child's garderie check-in, check-out
//	garderie_duplicate    a garderie scan within 2 minutes of the child's previous one
//	clock_in, clock_out   a staff clock-in, clock-out
//	clock_duplicate       a staff scan within 2 minutes of the previous one
//	unknown               a badge not in the roster (any service; listed, never dropped)
//	ignored               a known person where their role is not counted (a child at a
//	                      staff reader, staff at the garderie) or an unknown service; Note says why
//	voided                voided by a correction: listed, never counted
//	other_day             At is not on the local day: not counted
//
// # Rules and the choices made where docs/DESIGN.md leaves room
//
//   - Canteen: as docs/DESIGN.md §5. A child's canteen scan at another site's
//     reader counts at the reader's site (unexpected there). Expected and
//     "enrolled" use the site's children whose canteen_days include the
//     day's weekday; a declared absence of a child not enrolled that day
//     changes nothing; a child declared absent and served is unexpected.
//   - Garderie: a scan belongs to the last session whose window (start
//     minus margin) has opened; a scan before the first window belongs to
//     the first session. Per child and session, scans alternate (dir auto)
//     or follow an explicit reader. A device scan within 2 minutes of the
//     child's previous scan in the session (counted or not) is a
//     duplicate, unless an explicit reader asks for the other direction;
//     a scan added by a correction is never a duplicate. An explicit "in"
//     while in changes nothing; an "out" without "in" is listed
//     (Child.OutWithoutIn).
//   - auto_close sessions check everyone still in out at End once Now is
//     past End (Stay.AutoClosed); the others never do: a child never
//     checked out stays present, on a past day too (Child.NeverCheckedOut,
//     and that stay is left out of Duration rather than guessed).
//   - "late" counts children with a check-out after End. It is reported
//     for sessions that are not auto_close only: the JSON has
//     {"children","present","late"} for them and {"children","present"}
//     for auto_close ones, exactly as docs/DESIGN.md §9's example (a morning
//     child goes to class, there is no late pick-up).
//   - Staff: per person and day, scans alternate clock-in/clock-out (or
//     follow an explicit reader) with the same 2-minute rule. Shifts are
//     the pairs; Worked sums the closed ones. A shift without clock-out is
//     flagged missing_clock_out on a past day or when followed by another
//     clock-in, never guessed; ClosedClockOuts closes the latest open
//     shift that started before it (else clock_out_correction_unused). A
//     clock-out without clock-in is flagged missing_clock_in.
//     staff.present counts those whose last shift is open, so on a past
//     day it counts who never clocked out (as garderie present does).
//   - Detail.Review counts the counted scans marked review (not voided, on
//     the day); every ScanResult carries its scan's Review flag.
//   - Warnings (code, English message naming people by id only):
//     served_more_than_enrolled, scans_on_closed_day (meals or garderie
//     scans on a day the calendar closes the site), and, from
//     CrossSiteWarnings, scanned_at_two_sites (a child's counted canteen
//     or garderie scan at two sites the same day). Warnings is [] when
//     empty, never null.
//
// Results share the roster snapshot's *roster.Person values: read them,
// never modify them.
package counts
