package days

import "errors"

// Errors of the read model; the API maps them to 404 and 400.
var (
	// ErrUnknownSite is returned (wrapped) for a site that has no roster
	// entry, device, sequence or event.
	ErrUnknownSite = errors.New("unknown site")
	// ErrUnknownPerson is returned for a person id the roster never had.
	ErrUnknownPerson = errors.New("unknown person")
	// ErrBadRange is returned for a reversed or too long period.
	ErrBadRange = errors.New("bad period")
)
