package roster

import (
	"errors"
	"fmt"

	"pointage/internal/civil"
)

// Errors callers act on. They are wrapped with context; test with errors.Is.
var (
	// ErrInvalidFile means a roster file cannot be imported at all: not
	// UTF-8, no header, a required column missing, no usable row. Nothing
	// was imported. The context wrapped around it says in French what the
	// file needs (the office reads it, as the rejected rows' reasons).
	ErrInvalidFile = errors.New("invalid roster file")

	// ErrInvalidPerson means Import was given a person that fails
	// Person.Validate, or two people with the same person_id or the same
	// card. Nothing was imported.
	ErrInvalidPerson = errors.New("invalid person")

	// ErrBackdated means an import would change or remove a person from a
	// day earlier than the start of their current version (or than the day
	// after they left the roster): history is never rewritten. Nothing was
	// imported; the error (a *BackdatedError) says the earliest --from that
	// works.
	ErrBackdated = errors.New("import date earlier than the roster's history")
)

// BackdatedError is the ErrBackdated of one import: the person whose
// history is latest in the way, and the earliest import date that works
// for everyone. errors.As finds it, so a caller can say it in its words.
type BackdatedError struct {
	PersonID string
	// Since is the day the person's current version starts or, when Left,
	// the day they left the roster.
	Since    civil.Date
	Left     bool
	From     civil.Date // the import date asked for
	Others   int        // how many other people are in the way too
	Earliest civil.Date // the earliest import date that works
}

func (e *BackdatedError) Error() string {
	why := "has a version from " + e.Since.String()
	if e.Left {
		why = "left the roster on " + e.Since.String()
	}
	others := ""
	if e.Others > 0 {
		others = fmt.Sprintf(" (and %d other people)", e.Others)
	}
	return fmt.Sprintf("%v: person %q %s, after the import date %s%s; import with --from %s or later",
		ErrBackdated, e.PersonID, why, e.From, others, e.Earliest)
}

// Unwrap makes errors.Is(err, ErrBackdated) true.
func (e *BackdatedError) Unwrap() error { return ErrBackdated }
