package outbox

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrUnavailable means the outbox cannot store now: the disk is full,
	// the file system is read-only, an I/O error occurred, or another
	// process keeps the database locked. Nothing was stored and no seq was
	// consumed; the agent must refuse the scan. The outbox stays usable and
	// works again once the condition is gone.
	ErrUnavailable = errors.New("outbox unavailable")

	// ErrClosed is returned by the methods of an Outbox after Close.
	ErrClosed = errors.New("outbox closed")
)

// classify wraps err with ErrUnavailable when SQLite reports a condition of
// the environment (space, permissions, I/O, locks) rather than a bug or a
// damaged file.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff { // primary result code of an extended one
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_BUSY,
		sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOLFS:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
