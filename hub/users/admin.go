package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"pointage/hub/auth"
	"pointage/hub/db"
)

// schemaV2 is what user administration (docs/DESIGN.md §12) adds to hub.db: a
// user can be disabled, the last login is shown to the office, and every
// change of a user's credentials or rights is journalled for a running hub
// to apply within 2 s (Changes), whichever process made it (the dashboard,
// the users command).
const schemaV2 = `
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_login_at TEXT NOT NULL DEFAULT '';
CREATE TABLE user_changes (
	id   INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL COLLATE NOCASE
) STRICT;
CREATE TRIGGER user_changed AFTER UPDATE OF bcrypt_hash, role, site, disabled ON users
BEGIN INSERT INTO user_changes (name) VALUES (OLD.name); END;
CREATE TRIGGER user_removed AFTER DELETE ON users
BEGIN INSERT INTO user_changes (name) VALUES (OLD.name); END;
`

// Errors of user administration.
var (
	// ErrNotFound: no user has that name.
	ErrNotFound = errors.New("no such user")
	// ErrLastOffice: the change would leave no enabled office user, and
	// nobody could administer the hub any more.
	ErrLastOffice = errors.New("the last enabled office user cannot be removed, disabled or given another role")
)

// Change is a change to a user; nil fields stay as they are.
type Change struct {
	Password *string
	Disabled *bool
	Role     *auth.Role
	Site     *string
	// KeepSession, with a new password, is the token of the session the
	// change was made from: it stays open, the user's others end.
	KeepSession string
}

// Describe says what ch changes, for the audit log: never the password.
func (ch Change) Describe() string {
	var parts []string
	if ch.Password != nil {
		parts = append(parts, "new password")
	}
	if ch.Disabled != nil {
		parts = append(parts, map[bool]string{true: "disabled", false: "enabled"}[*ch.Disabled])
	}
	if ch.Role != nil {
		parts = append(parts, "role "+string(*ch.Role))
	}
	if ch.Site != nil {
		parts = append(parts, fmt.Sprintf("site %q", *ch.Site))
	}
	return strings.Join(parts, ", ")
}

// Update applies ch to the user name and returns the user as it is now.
// A new password, a disabled user, a new role or site end the user's
// sessions (but KeepSession's, for a password); a running hub's Basic
// credentials follow within 2 s (Changes). ErrNotFound, ErrLastOffice,
// and the validation errors of Add.
func (s *Store) Update(ctx context.Context, name string, ch Change) (User, error) {
	var hash []byte
	if ch.Password != nil {
		if err := checkPassword(*ch.Password); err != nil {
			return User{}, fmt.Errorf("user %q: %w", name, err)
		}
		var err error
		if hash, err = s.bcrypt.Hash(*ch.Password); err != nil {
			return User{}, fmt.Errorf("user %q: %w", name, err)
		}
	}
	var out User
	err := db.WithTx(ctx, s.db, func(tx *sql.Tx) error {
		u, disabled, err := s.userTx(ctx, tx, name)
		if err != nil {
			return err
		}
		role, site := u.Role, u.Site
		if ch.Role != nil {
			role = *ch.Role
		}
		if ch.Site != nil {
			site = *ch.Site
		}
		if ch.Disabled != nil {
			disabled = *ch.Disabled
		}
		if err := checkUser(u.Name, role, site); err != nil {
			return err
		}
		if hash != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET bcrypt_hash = ? WHERE name = ?`, string(hash), u.Name); err != nil {
				return err
			}
		}
		if role != u.Role || site != u.Site || disabled != u.Disabled {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, site = ?, disabled = ? WHERE name = ?`, role, site, disabled, u.Name); err != nil {
				return err
			}
		}
		keep := []byte{}
		if hash != nil && ch.Role == nil && ch.Site == nil && !disabled {
			keep = tokenHash(ch.KeepSession)
		}
		if hash != nil || disabled || role != u.Role || site != u.Site {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE name = ? AND token_hash IS NOT ?`, u.Name, keep); err != nil {
				return err
			}
		}
		if err := lastOfficeCheck(ctx, tx); err != nil {
			return err
		}
		out, _, err = s.userTx(ctx, tx, u.Name)
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.cache.Invalidate(keyOf(out.Name))
	s.log.Info("user changed", "user", out.Name, "role", out.Role, "site", out.Site, "disabled", out.Disabled,
		"password_changed", ch.Password != nil)
	return out, nil
}

// Remove removes the user name and its sessions. ErrNotFound,
// ErrLastOffice.
func (s *Store) Remove(ctx context.Context, name string) error {
	err := db.WithTx(ctx, s.db, func(tx *sql.Tx) error {
		u, _, err := s.userTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE name = ?`, u.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, u.Name); err != nil {
			return err
		}
		return lastOfficeCheck(ctx, tx)
	})
	if err != nil {
		return err
	}
	s.cache.Invalidate(keyOf(name))
	s.log.Info("user removed", "user", name)
	return nil
}

// Changes returns the users whose credentials or rights changed after the
// change id since, and the latest id: a running hub forgets their cached
// Basic credentials (the users command is another process).
func (s *Store) Changes(ctx context.Context, since int64) ([]string, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name FROM user_changes WHERE id > ? ORDER BY id`, since)
	if err != nil {
		return nil, since, fmt.Errorf("read user changes: %w", err)
	}
	defer rows.Close()
	var names []string
	last := since
	for rows.Next() {
		var name string
		if err := rows.Scan(&last, &name); err != nil {
			return nil, since, fmt.Errorf("read user changes: %w", err)
		}
		names = append(names, name)
	}
	return names, last, rows.Err()
}

// LatestChange is the id Changes starts from at start-up.
func (s *Store) LatestChange(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM user_changes`).Scan(&id)
	return id, err
}

// Forget drops the cached credentials of the users named (Changes).
func (s *Store) Forget(names ...string) {
	for _, n := range names {
		s.cache.Invalidate(keyOf(n))
	}
}

// userTx reads a user in tx, and whether it is disabled: ErrNotFound.
func (s *Store) userTx(ctx context.Context, tx *sql.Tx, name string) (User, bool, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, selectUser+` WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, false, err
	}
	return u, u.Disabled, nil
}

// lastOfficeCheck refuses a change that leaves no enabled office user.
func lastOfficeCheck(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = ? AND disabled = 0`, auth.RoleOffice).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrLastOffice
	}
	return nil
}
