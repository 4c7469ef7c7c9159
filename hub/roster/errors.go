package roster

import "errors"

// Errors callers act on. They are wrapped with context; test with errors.Is.
var (
	// ErrInvalidFile means a roster file cannot be imported at all: not
	// UTF-8, no header, a required column missing, no usable row. Nothing
	// was imported.
	ErrInvalidFile = errors.New("invalid roster file")

	// ErrInvalidPerson means Import was given a person that fails
	// Person.Validate, or two people with the same person_id or the same
	// card. Nothing was imported.
	ErrInvalidPerson = errors.New("invalid person")

	// ErrBackdated means an import would change or remove a person from a
	// day earlier than the start of their current version (or than the day
	// after they left the roster): history is never rewritten. Nothing was
	// imported; the error says the earliest --from that works.
	ErrBackdated = errors.New("import date earlier than the roster's history")
)
