package users

import "errors"

// Errors callers act on. Add's validation errors wrap one of the first four
// and name the field in their message.
var (
	// ErrInvalidName: a user name is not 1 to 64 ASCII letters, digits or
	// the characters . _ - @.
	ErrInvalidName = errors.New("invalid user name")
	// ErrInvalidRole: the role is not office, school or kitchen.
	ErrInvalidRole = errors.New("invalid role")
	// ErrInvalidSite: a school user has no site, a site does not match
	// ^[a-z0-9][a-z0-9-]{0,62}$, or an office user has one.
	ErrInvalidSite = errors.New("invalid site")
	// ErrBadPassword: a password is shorter than MinPasswordLen characters,
	// longer than MaxPasswordBytes bytes, or contains a line break or a NUL.
	ErrBadPassword = errors.New("unacceptable password")
	// ErrExists: Add was given a name that is already taken (names are
	// compared without regard to ASCII case).
	ErrExists = errors.New("user already exists")
)
