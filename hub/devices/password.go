package devices

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// MinPasswordLen is the fewest characters a given password may have.
	MinPasswordLen = 8
	// MaxPasswordBytes is the most bytes bcrypt takes into account.
	MaxPasswordBytes = 72
	// mosquittoIterations is what mosquitto_passwd 2.x writes for $7$.
	mosquittoIterations = 101
)

// generatePassword returns 26 random base32 characters (128 bits).
func generatePassword() string { return rand.Text() }

// checkPassword accepts the passwords an operator may choose.
func checkPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < MinPasswordLen:
		return fmt.Errorf("%w: at least %d characters are needed", ErrBadPassword, MinPasswordLen)
	case len(p) > MaxPasswordBytes:
		return fmt.Errorf("%w: at most %d bytes are used by bcrypt", ErrBadPassword, MaxPasswordBytes)
	case strings.ContainsAny(p, "\r\n\x00"):
		return fmt.Errorf("%w: it contains a line break or a NUL", ErrBadPassword)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: it is not valid UTF-8", ErrBadPassword)
	}
	return nil
}

// mosquittoHash hashes password as mosquitto_passwd 2.x does:
// $7$ = PBKDF2-SHA512, 101 iterations, 12-byte random salt, base64 salt and key.
func mosquittoHash(password string) (string, error) {
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return mosquittoHashSalt(password, salt)
}

func mosquittoHashSalt(password string, salt []byte) (string, error) {
	key, err := pbkdf2.Key(sha512.New, password, salt, mosquittoIterations, sha512.Size)
	if err != nil {
		return "", err
	}
	enc := base64.StdEncoding
	return fmt.Sprintf("$7$%d$%s$%s", mosquittoIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}
