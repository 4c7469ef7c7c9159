// Package calendar owns the days a site is closed (docs/DESIGN.md §5): public
// holidays, school holidays, strikes and closures, city-wide or for some
// sites only, as the hub's configuration lists them in a YAML file:
//
//	timezone: Pacific/Noumea   # optional
//	closed:
//	  - {from: 2026-12-19, to: 2027-02-14, reason: "Grandes vacances"}  # city-wide
//	  - {date: 2026-11-11, reason: "Armistice"}
//	  - {date: 2026-11-27, sites: [jules-ferry], reason: "Grève"}
//
// Parse and Load read such a file and check every entry (an error names
// the entry, its line and the field to fix); Closed answers whether a site
// is closed on a civil day (civil.Date, computed by the caller in the
// site's timezone). No day is closed unless the file says so: a nil or
// empty Calendar closes nothing. firmware-config/calendar-nc.example.yaml
// is an example for New Caledonia.
//
// A Calendar is immutable once parsed and safe for concurrent use.
//
// The office also adds closed days in the dashboard (docs/DESIGN.md §12): they
// live in hub.db (table closed_days, schema version 3; a removed one is
// kept, with who removed it and when). Store is the effective calendar,
// the file's entries and hub.db's: Closed answers for both; Add and
// Remove apply at once (the caller's Changed is told); Stamp names, per
// day, hub.db's entries that cover it, so the read model knows which
// figures an entry made stale; List gives both sources' entries with an
// id ("12", or "config-N" for the file's Nth, which cannot be removed
// here: ErrReadOnly).
package calendar
