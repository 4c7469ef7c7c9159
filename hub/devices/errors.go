package devices

import "errors"

// Errors callers act on; test them with errors.Is.
var (
	// ErrExists: Add was given a device id that is already registered (at any
	// site). Use SetPassword to rotate a device's password.
	ErrExists = errors.New("device already registered")
	// ErrNotFound: no device with that id is registered.
	ErrNotFound = errors.New("device not registered")
	// ErrInvalidID: a site or device id does not match ^[a-z0-9][a-z0-9-]{0,62}$.
	ErrInvalidID = errors.New("invalid site or device id")
	// ErrBadPassword: a given password is shorter than MinPasswordLen
	// characters, longer than MaxPasswordBytes bytes, or contains a line
	// break or a NUL.
	ErrBadPassword = errors.New("unacceptable password")

	// Errors of Redeem (docs/DESIGN.md §14: each a 401 with its own message).

	// ErrCodeUnknown: no device has this enrolment code (never issued,
	// replaced by a newer one, its device removed, or mistyped).
	ErrCodeUnknown = errors.New("unknown enrolment code")
	// ErrCodeUsed: the code was redeemed already; a code is usable once.
	ErrCodeUsed = errors.New("enrolment code already used")
	// ErrCodeExpired: the code is older than CodeValidity.
	ErrCodeExpired = errors.New("enrolment code expired")
)
