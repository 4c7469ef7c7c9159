package outbox

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"pointage/internal/wire"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// schemaVersion is stored in PRAGMA user_version.
const schemaVersion = 1

// busyTimeoutMS is how long a statement waits for a lock held by another
// connection (another process, or `pointage-agent outbox`) before failing.
const busyTimeoutMS = 5000

// atLayout is the wire layout of a check-in's device time (docs/DESIGN.md §3): exactly
// milliseconds and the offset of the zone the scan was taken in.
const atLayout = "2006-01-02T15:04:05.000Z07:00"

// schema is applied once, when the file is new. The counters live in the
// single row of outbox, never derived from events, so pruning every event
// keeps last_seq. Times other than the device's at are Unix milliseconds UTC.
// An event is pending iff acked_at IS NULL; since an Ack covers every seq up
// to stored_through, pending events are exactly those with seq >
// acked_through, which lets the pending queries use a rowid range.
const schema = `
CREATE TABLE outbox (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	epoch         TEXT    NOT NULL,
	last_seq      INTEGER NOT NULL DEFAULT 0,
	acked_through INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
) STRICT;
CREATE TABLE events (
	seq          INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL,
	reader       TEXT    NOT NULL,
	badge        TEXT    NOT NULL,
	service      TEXT    NOT NULL,
	dir          TEXT    NOT NULL,
	at           TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	published_at INTEGER,
	acked_at     INTEGER
) STRICT;
`

// Options configure Open.
type Options struct {
	// Path is the SQLite file, e.g. <data_dir>/outbox.db. Its directory is
	// created if missing.
	Path string
	// Logger receives the outbox's few logs; default discard.
	Logger *slog.Logger
	// Now is the clock for created, published and acked times and event
	// ids; default time.Now.
	Now func() time.Time
}

func (o *Options) ensureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Scan is a badge scan the agent accepted.
type Scan struct {
	Reader  string // reader name from the configuration
	Badge   string // canonical badge id
	Service wire.Service
	Dir     wire.Dir
	// At is the device time of the scan, kept to the millisecond with its
	// zone offset; zero means the outbox clock's now.
	At time.Time
}

// Event is a scan stored in the outbox.
type Event struct {
	Seq   uint64
	ID    string // ULID generated at Append
	Epoch string
	// Reader, Badge, Service and Dir are those of the Scan.
	Reader, Badge string
	Service       wire.Service
	Dir           wire.Dir
	// At is the device time truncated to the millisecond, with the offset it
	// was taken in: At.Format("2006-01-02T15:04:05.000Z07:00") is the wire form.
	At          time.Time
	CreatedAt   time.Time // when Append stored it (outbox clock)
	PublishedAt time.Time // last publication; zero if never published
	Acked       bool
}

// Outbox is an open outbox file. Its methods are safe for concurrent use.
type Outbox struct {
	db      *sql.DB
	epoch   string
	path    string
	log     *slog.Logger
	now     func() time.Time
	entropy io.Reader

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open opens the outbox at opts.Path, creating the file, its schema and its
// epoch when it does not exist yet.
func Open(opts Options) (*Outbox, error) {
	opts.ensureDefaults()
	if opts.Path == "" {
		return nil, errors.New("open outbox: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", opts.Path, err)
	}
	dsn, err := fileURI(opts.Path, url.Values{
		"mode": {"rwc"},
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS),
			"journal_mode(WAL)",
			"synchronous(FULL)",
		},
		"_txlock": {"immediate"},
	})
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", opts.Path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", opts.Path, err)
	}
	// One connection: every write is serialised by database/sql, so seq
	// assignment needs no other lock, and the connection's pragmas hold for
	// every statement.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	o := &Outbox{
		db:      db,
		path:    opts.Path,
		now:     opts.Now,
		entropy: &ulid.LockedMonotonicReader{MonotonicReader: ulid.Monotonic(crand.Reader, 0)},
	}
	ctx := context.Background()
	created, err := o.init(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", opts.Path, classify(err))
	}
	o.log = opts.Logger.With("component", "outbox", "epoch", o.epoch)
	st, err := o.Stats(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", opts.Path, err)
	}
	if created {
		o.log.Info("outbox created", "path", o.path)
	} else {
		o.log.Info("outbox opened", "path", o.path, "last_seq", st.LastSeq,
			"pending", st.Pending, "acked_through", st.AckedThrough)
	}
	return o, nil
}

// init checks the connection's durability settings and creates the schema
// and the epoch of a new file. It reports whether the file was new.
func (o *Outbox) init(ctx context.Context) (created bool, err error) {
	var mode string
	if err := o.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return false, fmt.Errorf("read journal_mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return false, fmt.Errorf("journal_mode is %q, want wal (is the file system local?)", mode)
	}
	var sync int
	if err := o.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return false, fmt.Errorf("read synchronous: %w", err)
	}
	if sync != 2 { // FULL
		return false, fmt.Errorf("synchronous is %d, want 2 (FULL)", sync)
	}

	tx, err := o.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: two first opens do not race
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case version == 0:
		epoch, err := ulid.New(ulid.Timestamp(o.now()), o.entropy)
		if err != nil {
			return false, fmt.Errorf("new epoch: %w", err)
		}
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return false, fmt.Errorf("create schema: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO outbox (id, epoch, created_at) VALUES (1, ?, ?)",
			epoch.String(), o.now().UnixMilli()); err != nil {
			return false, fmt.Errorf("create epoch: %w", err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
			return false, fmt.Errorf("set schema version: %w", err)
		}
		created = true
	case version > schemaVersion:
		return false, fmt.Errorf("schema version %d is newer than this agent's %d", version, schemaVersion)
	}
	if err := tx.QueryRowContext(ctx, "SELECT epoch FROM outbox WHERE id = 1").Scan(&o.epoch); err != nil {
		return false, fmt.Errorf("read epoch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit schema: %w", err)
	}
	return created, nil
}

// fileURI turns a file path and query into a SQLite URI filename, escaping
// whatever in the path would otherwise be read as URI syntax.
func fileURI(path string, q url.Values) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String(), nil
}

// Epoch is the outbox's epoch: a ULID created with the file, sent with every
// event so the hub can tell this outbox's seqs from a previous one's.
func (o *Outbox) Epoch() string { return o.epoch }

// Close closes the database. Calling it again is harmless.
func (o *Outbox) Close() error {
	o.closeOnce.Do(func() {
		o.closed.Store(true)
		if err := o.db.Close(); err != nil {
			o.closeErr = fmt.Errorf("close outbox %s: %w", o.path, err)
		}
	})
	return o.closeErr
}

func (o *Outbox) checkOpen() error {
	if o.closed.Load() {
		return ErrClosed
	}
	return nil
}
