package auth

import (
	"errors"
	"fmt"
)

// Role is what a user may see and do (docs/DESIGN.md §9).
type Role string

// Roles.
const (
	RoleOffice  Role = "office"  // everything
	RoleSchool  Role = "school"  // its own site, names included
	RoleKitchen Role = "kitchen" // counts and diets, never names
)

// ErrInvalidRole: a role is not office, school or kitchen.
var ErrInvalidRole = errors.New("invalid role")

// ParseRole returns the role named s, or an error wrapping ErrInvalidRole.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("role %q: %w: office, school or kitchen", s, ErrInvalidRole)
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool {
	switch r {
	case RoleOffice, RoleSchool, RoleKitchen:
		return true
	}
	return false
}

// User is who makes a request.
type User struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	Site string `json:"site,omitempty"` // a school user's site; a kitchen's, or "" for every site; "" for the office
}

// MaxNameLen is the longest user name, in bytes.
const MaxNameLen = 64

// ValidName reports whether name can be a user name: 1 to MaxNameLen ASCII
// letters, digits or the characters . _ - @. A name that cannot exist is
// refused without being counted by the login limiter, which keeps its
// memory bounded.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-', c == '@':
		default:
			return false
		}
	}
	return true
}
