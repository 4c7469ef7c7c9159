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
package calendar
