// Package userstest opens a real user store on a fresh, migrated hub.db
// for the tests of the packages that authenticate (auth, web).
package userstest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"pointage/hub/auth"
	"pointage/hub/db"
	"pointage/hub/users"
)

// User is one user to add.
type User struct {
	Name     string
	Role     auth.Role
	Site     string // a school user's
	Password string
}

// Open returns a user store (fast bcrypt) on a fresh hub.db holding
// people, and the hub.db, closed when the test ends.
func Open(t testing.TB, people ...User) (*users.Store, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	s, err := users.New(ctx, sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	users.FastBcryptForTest(s)
	for _, u := range people {
		if _, err := s.Add(ctx, u.Name, u.Role, u.Site, u.Password); err != nil {
			t.Fatal(err)
		}
	}
	return s, sqlDB
}
