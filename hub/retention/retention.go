// Package retention purges what the hub holds about people once it is no
// longer needed (docs/PRIVACY.md): raw check-ins older than a number of
// months (18 by default: a school year, its billing and a margin for
// disputes) from the store, and the same period of the hub database's
// tables that hold badges or person ids (received, rejected, conflicts,
// corrections). Before a month's check-ins go, its figures per child and
// per staff member are computed and kept (monthly_aggregates), so the
// totals billed and paid stay answerable.
//
// Only whole months are purged: a month goes when all of it is older than
// the period, counted in the hub's timezone.
package retention

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"pointage/hub/audit"
	"pointage/hub/counts"
	"pointage/hub/db"
	"pointage/hub/store"
	"pointage/internal/civil"
)

// DefaultMonths is the default retention of raw check-ins.
const DefaultMonths = 18

// schema is version 1 of the retention's tables in hub.db (hub/db: a
// released step never changes; a change is a new step).
const schema = `
CREATE TABLE IF NOT EXISTS monthly_aggregates (
	month     TEXT NOT NULL, -- YYYY-MM
	kind      TEXT NOT NULL, -- child | staff
	person_id TEXT NOT NULL,
	data      TEXT NOT NULL, -- JSON: the month's figures
	PRIMARY KEY (month, kind, person_id)
);
CREATE TABLE IF NOT EXISTS retention_months (
	month         TEXT PRIMARY KEY, -- YYYY-MM, aggregated and purged
	aggregated_at INTEGER NOT NULL,
	children      INTEGER NOT NULL,
	staff         INTEGER NOT NULL
);
`

// Figures computes a month's figures from the store (days.Service).
type Figures interface {
	MonthFigures(ctx context.Context, first civil.Date) ([]counts.ChildMonthRow, []counts.StaffMonthRow, error)
}

// Options wire a Retention.
type Options struct {
	DB      *sql.DB // hub.db
	Store   store.Store
	Figures Figures
	Months  int // 0: DefaultMonths; negative: keep everything
	Loc     *time.Location
	Now     func() time.Time
	Audit   *audit.Log // nil: not recorded
	Logger  *slog.Logger
}

// Retention applies the retention period.
type Retention struct {
	opts Options
	log  *slog.Logger
}

func init() {
	db.Register(db.Migration{Package: "retention", Steps: []db.Step{{Version: 1, SQL: schema}}})
}

// New is the retention on hub.db, migrated (hub/db).
func New(ctx context.Context, opts Options) (*Retention, error) {
	if opts.Months == 0 {
		opts.Months = DefaultMonths
	}
	if opts.Loc == nil {
		opts.Loc = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Retention{opts: opts, log: opts.Logger.With("component", "retention")}, nil
}

// Cutoff is the first local day kept: the first day of the month Months
// months before the current one.
func (r *Retention) Cutoff() civil.Date {
	now := civil.DateOf(r.opts.Now().In(r.opts.Loc))
	y, m := now.Year, int(now.Month)-r.opts.Months
	for m < 1 {
		m += 12
		y--
	}
	return civil.Date{Year: y, Month: time.Month(m), Day: 1}
}

// Report says what a run did.
type Report struct {
	Cutoff     civil.Date // first day kept
	Months     []string   // months aggregated this run
	Children   int        // child-month rows kept
	Staff      int        // staff-month rows kept
	Events     int64      // check-ins purged (-1: the store cannot tell)
	Received   int64      // rows purged from received, handled, rejected, conflicts
	Corrected  int64      // corrections purged
	DryRun     bool
	Aggregated bool
}

// Run aggregates every month before the cutoff not aggregated yet, then
// purges everything before the cutoff. With dryRun it only says what it
// would do. progress, if set, is told each month.
func (r *Retention) Run(ctx context.Context, dryRun bool, progress func(month string)) (Report, error) {
	rep := Report{Cutoff: r.Cutoff(), DryRun: dryRun}
	if r.opts.Months < 0 {
		return rep, nil
	}
	purger, ok := r.opts.Store.(store.Purger)
	if !ok {
		return rep, fmt.Errorf("retention: the %T store cannot purge", r.opts.Store)
	}
	oldest, any, err := purger.Oldest(ctx)
	if err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	cutoffAt := rep.Cutoff.In(r.opts.Loc)
	if any && oldest.Before(cutoffAt) {
		first := civil.DateOf(oldest.In(r.opts.Loc))
		for m := (civil.Date{Year: first.Year, Month: first.Month, Day: 1}); m.Before(rep.Cutoff); m = nextMonth(m) {
			done, err := r.aggregated(ctx, m)
			if err != nil {
				return rep, err
			}
			if done {
				continue
			}
			if progress != nil {
				progress(counts.Month(m))
			}
			rep.Months = append(rep.Months, counts.Month(m))
			if dryRun {
				continue
			}
			children, staff, err := r.aggregate(ctx, m)
			if err != nil {
				return rep, err
			}
			rep.Children += children
			rep.Staff += staff
		}
	}
	if dryRun {
		return rep, nil
	}
	if any && oldest.Before(cutoffAt) {
		if rep.Events, err = purger.Purge(ctx, cutoffAt); err != nil {
			return rep, fmt.Errorf("retention: %w", err)
		}
	}
	if rep.Received, rep.Corrected, err = r.purgeDB(ctx, rep.Cutoff, cutoffAt); err != nil {
		return rep, err
	}
	if rep.Events != 0 || rep.Received > 0 || rep.Corrected > 0 || len(rep.Months) > 0 {
		r.log.Info("retention applied", "cutoff", rep.Cutoff.String(), "months_aggregated", rep.Months,
			"events_purged", rep.Events, "hub_rows_purged", rep.Received, "corrections_purged", rep.Corrected)
		if r.opts.Audit != nil {
			if _, err := r.opts.Audit.Record(ctx, audit.Entry{User: "retention", Action: audit.Purge, Target: "before " + rep.Cutoff.String(),
				Detail: fmt.Sprintf("months aggregated %v; check-ins purged %d; hub rows %d; corrections %d", rep.Months, rep.Events, rep.Received, rep.Corrected),
				Addr:   "hub"}); err != nil {
				r.log.Error("audit log", "err", err)
			}
		}
	}
	return rep, nil
}

func nextMonth(d civil.Date) civil.Date {
	if d.Month == time.December {
		return civil.Date{Year: d.Year + 1, Month: time.January, Day: 1}
	}
	return civil.Date{Year: d.Year, Month: d.Month + 1, Day: 1}
}

func (r *Retention) aggregated(ctx context.Context, m civil.Date) (bool, error) {
	var n int
	err := r.opts.DB.QueryRowContext(ctx, `SELECT count(*) FROM retention_months WHERE month = ?`, counts.Month(m)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("retention: %w", err)
	}
	return n > 0, nil
}

// childData and staffData are what is kept of a month per person.
type childData struct {
	Site       string         `json:"site,omitempty"`
	Class      string         `json:"class,omitempty"`
	FamilyID   string         `json:"family_id,omitempty"`
	Meals      int            `json:"meals"`
	Occasional int            `json:"occasional"`
	Sessions   map[string]int `json:"sessions"`
	Late       map[string]int `json:"late"`
}

type staffData struct {
	Sites            []string `json:"sites"`
	Days             int      `json:"days"`
	WorkedMinutes    float64  `json:"worked_minutes"`
	MissingClockOuts int      `json:"missing_clock_outs"`
}

// aggregate computes and keeps one month's figures, in one transaction
// with its retention_months row.
func (r *Retention) aggregate(ctx context.Context, m civil.Date) (int, int, error) {
	children, staff, err := r.opts.Figures.MonthFigures(ctx, m)
	if err != nil {
		return 0, 0, fmt.Errorf("retention: %w", err)
	}
	tx, err := r.opts.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("retention: %w", err)
	}
	defer tx.Rollback()
	month := counts.Month(m)
	put := func(kind, id string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO monthly_aggregates (month, kind, person_id, data) VALUES (?, ?, ?, ?)`, month, kind, id, string(b))
		return err
	}
	for _, c := range children {
		d := childData{Meals: c.Meals, Occasional: c.Occasional, Sessions: c.Sessions, Late: c.Late}
		if p := c.Person; p != nil {
			d.Site, d.Class, d.FamilyID = p.Site, p.Class, p.FamilyID
		}
		if err := put("child", c.PersonID, d); err != nil {
			return 0, 0, fmt.Errorf("retention: keep %s of %s: %w", c.PersonID, month, err)
		}
	}
	for _, s := range staff {
		if err := put("staff", s.PersonID, staffData{Sites: s.Sites, Days: s.Days, WorkedMinutes: s.Worked.Minutes(), MissingClockOuts: s.MissingClockOuts}); err != nil {
			return 0, 0, fmt.Errorf("retention: keep %s of %s: %w", s.PersonID, month, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO retention_months (month, aggregated_at, children, staff) VALUES (?, ?, ?, ?)`,
		month, r.opts.Now().UnixMilli(), len(children), len(staff)); err != nil {
		return 0, 0, fmt.Errorf("retention: %w", err)
	}
	return len(children), len(staff), tx.Commit()
}

// purgeDB deletes the hub database's rows about check-ins before the
// cutoff: received (only those handled: a pending event is never lost),
// the handled journal, rejected, conflicts, and the corrections of those days (gaps declared
// lost stay: they hold no person and the sequences refer to them).
func (r *Retention) purgeDB(ctx context.Context, cutoff civil.Date, cutoffAt time.Time) (rows, corrs int64, err error) {
	ms := cutoffAt.UnixMilli()
	for _, q := range []string{
		`DELETE FROM received WHERE state != 0 AND received_at < ?`,
		`DELETE FROM handled WHERE handled_at < ?`,
		`DELETE FROM rejected WHERE received_at < ?`,
		`DELETE FROM conflicts WHERE received_at < ?`,
	} {
		res, err := r.opts.DB.ExecContext(ctx, q, ms)
		if err != nil {
			if isNoTable(err) { // a hub database without ingest (tests)
				continue
			}
			return rows, corrs, fmt.Errorf("retention: %w", err)
		}
		n, _ := res.RowsAffected()
		rows += n
	}
	res, err := r.opts.DB.ExecContext(ctx, `DELETE FROM corrections WHERE day < ? AND kind != 'declare_lost'`, cutoff.String())
	if err != nil && !isNoTable(err) {
		return rows, corrs, fmt.Errorf("retention: %w", err)
	}
	if err == nil {
		corrs, _ = res.RowsAffected()
	}
	return rows, corrs, nil
}

func isNoTable(err error) bool { return strings.Contains(err.Error(), "no such table") }

// startDelay is how long after the start Loop first runs.
const startDelay = 5 * time.Minute

// Loop runs the retention a few minutes after the start, then every day,
// until ctx ends.
func (r *Retention) Loop(ctx context.Context) {
	// Not during the start-up: devices reconnect and republish then, and a
	// first run after an upgrade may aggregate many months.
	select {
	case <-ctx.Done():
		return
	case <-time.After(startDelay):
	}
	for {
		if _, err := r.Run(ctx, false, nil); err != nil && ctx.Err() == nil {
			r.log.Error("retention failed; it runs again in a day (or run pointage-hub retention)", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(24 * time.Hour):
		}
	}
}

// PersonMonth is one month's figures kept for a person after the purge.
type PersonMonth struct {
	Month string          `json:"month"`
	Kind  string          `json:"kind"` // child | staff
	Data  json.RawMessage `json:"data"`
}

// PersonMonths returns the months kept for one person, oldest first.
func (r *Retention) PersonMonths(ctx context.Context, personID string) ([]PersonMonth, error) {
	rows, err := r.opts.DB.QueryContext(ctx, `SELECT month, kind, data FROM monthly_aggregates WHERE person_id = ? ORDER BY month, kind`, personID)
	if err != nil {
		return nil, fmt.Errorf("read the monthly figures: %w", err)
	}
	defer rows.Close()
	out := []PersonMonth{}
	for rows.Next() {
		var m PersonMonth
		var data string
		if err := rows.Scan(&m.Month, &m.Kind, &data); err != nil {
			return nil, fmt.Errorf("read the monthly figures: %w", err)
		}
		m.Data = json.RawMessage(data)
		out = append(out, m)
	}
	return out, rows.Err()
}
