// Package roster owns the hub's roster: who carries which badge, at which
// site, with which diet and enrolments, and since when (docs/DESIGN.md §6, §7, §10).
//
// Parse reads the roster CSV or XLSX of docs/DESIGN.md §10 into People and
// RowErrors (bad rows, with their line and what to fix, in French: the
// office reads it); it is a pure function of its input. ParseBadge and ParseCardNumber turn the badge and card_number
// columns into a Match: an exact canonical id, or the low 32 bits (an
// EM4100 card known by its printed 8H10D number, 0006102437) or low 24 bits
// (a Wiegand 26 "facility,card" number, 093,07589) of the card, which
// Match.Matches and an Index compare with the full id a reader scans
// (13005D1DA5).
//
// Roster stores the roster in the hub's SQLite database as versions, each
// valid over a range of days, so past days keep the roster that was valid
// then. Import applies a new roster from a day (docs/DESIGN.md §7): new people are
// known on every day, changes and departures apply from that day. AsOf
// gives the Snapshot valid on a day, cached until the next import, with a
// Lookup from scanned badge to person. An ImportResult counts what an
// import does and names the first MaxListed people added, changed (field by
// field) and removed; DryRun gives it without writing. ImportFile is the command
// `pointage-hub roster import`.
//
// Days are civil dates (civil.Date), computed by the caller in the site's
// timezone. The package holds no goroutines and takes the *sql.DB it is
// given (pointage/hub/db.Open); it creates its own tables.
package roster
