package devices

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"pointage/hub/credcache"
)

const (
	// MinPasswordLen is the fewest characters a given password may have.
	MinPasswordLen = credcache.MinPasswordLen
	// MaxPasswordBytes is the most bytes bcrypt takes into account.
	MaxPasswordBytes = credcache.MaxPasswordBytes
	// mosquittoIterations is what mosquitto_passwd 2.x writes for $7$.
	mosquittoIterations = 101
)

// generatePassword returns 26 random base32 characters (128 bits).
func generatePassword() string { return rand.Text() }

// checkPassword accepts the passwords an operator may choose.
func checkPassword(p string) error {
	if problem := credcache.PasswordProblem(p); problem != "" {
		return fmt.Errorf("%w: %s", ErrBadPassword, problem)
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
