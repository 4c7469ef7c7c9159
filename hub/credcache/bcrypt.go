package credcache

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Bcrypt hashes and compares passwords for the device registry and the
// user store. Its zero value is unusable: set Cost.
type Bcrypt struct {
	Cost int

	once   sync.Once
	dummy  []byte
	checks atomic.Int64
}

// Hash returns the bcrypt hash of secret at b.Cost.
func (b *Bcrypt) Hash(secret string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(secret), b.Cost)
}

// Compare reports whether secret matches hash. A nil hash (an unknown id)
// is compared with a dummy hash of the same cost and fails, so timing does
// not tell which ids exist.
func (b *Bcrypt) Compare(hash []byte, secret string) bool {
	b.checks.Add(1)
	if hash == nil {
		b.once.Do(func() { b.dummy, _ = bcrypt.GenerateFromPassword([]byte(rand.Text()), b.Cost) })
		_ = bcrypt.CompareHashAndPassword(b.dummy, []byte(secret))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(secret)) == nil
}

// Checks counts the comparisons run (tests assert cache hits with it).
func (b *Bcrypt) Checks() int64 { return b.checks.Load() }

// Password rules shared by devices and users.
const (
	MinPasswordLen   = 8  // characters
	MaxPasswordBytes = 72 // bcrypt ignores the rest
)

// PasswordProblem says what is wrong with a password an operator chose,
// or "" when it is acceptable.
func PasswordProblem(p string) string {
	switch {
	case utf8.RuneCountInString(p) < MinPasswordLen:
		return fmt.Sprintf("at least %d characters are needed", MinPasswordLen)
	case len(p) > MaxPasswordBytes:
		return fmt.Sprintf("at most %d bytes are used by bcrypt", MaxPasswordBytes)
	case strings.ContainsAny(p, "\r\n\x00"):
		return "it contains a line break or a NUL"
	case !utf8.ValidString(p):
		return "it is not valid UTF-8"
	}
	return ""
}
