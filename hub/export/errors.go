package export

import "errors"

// Errors callers act on. They are wrapped with context; test with errors.Is.
var (
	// ErrInvalidExport means the Export cannot be written as given: an
	// unknown kind, a month that is not YYYY-MM, no time zone, or a row
	// that does not belong to the export (a day outside the month, another
	// site than Export.Site). Nothing was written. It is a caller's bug,
	// never a user's input: billing a family for another school's meals is
	// worse than failing loudly.
	ErrInvalidExport = errors.New("invalid export")

	// ErrUnknownFormat means a format other than "csv" or "xlsx".
	ErrUnknownFormat = errors.New("unknown export format")
)
