package hub

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"pointage/hub/audit"
	"pointage/hub/calendar"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/db"
	"pointage/hub/devices"
	"pointage/hub/retention"
	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/hub/store/influxstore"
	"pointage/hub/store/sqlitestore"
)

// OpenDays opens what computing days needs (state database, store,
// roster, corrections, calendar) without the broker, ingest or HTTP: for
// commands such as `export` that run beside a running hub. close releases
// it all.
func OpenDays(ctx context.Context, cfg Config, logger *slog.Logger) (svc *days.Service, close func(), err error) {
	off, close, err := OpenOffline(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	return off.Days, close, nil
}

// Offline is what the commands that run beside a hub use: the day
// service, the audit log, the hub database and the store.
type Offline struct {
	Days      *days.Service
	Audit     *audit.Log
	Retention *retention.Retention
	DB        *sql.DB
	Store     store.Store
}

// OpenOffline opens Offline; close releases it all.
func OpenOffline(ctx context.Context, cfg Config, logger *slog.Logger) (off *Offline, close func(), err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var closers []func() error
	close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			close()
		}
	}()
	sqlDB, err := db.Open(ctx, filepath.Join(cfg.DataDir, "hub.db"))
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, sqlDB.Close)
	var st store.Store
	if cfg.InfluxURL != "" {
		st, err = influxstore.Open(ctx, influxstore.Options{URL: cfg.InfluxURL, Org: cfg.InfluxOrg, Bucket: cfg.InfluxBucket, Token: string(cfg.InfluxToken), Logger: logger})
	} else {
		st, err = sqlitestore.Open(ctx, filepath.Join(cfg.DataDir, "checkins.db"), logger)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open the store: %w", err)
	}
	closers = append(closers, st.Close)
	ros, err := roster.New(ctx, sqlDB)
	if err != nil {
		return nil, nil, err
	}
	corr, err := corrections.New(ctx, sqlDB, nil)
	if err != nil {
		return nil, nil, err
	}
	reg, err := devices.New(ctx, sqlDB, logger)
	if err != nil {
		return nil, nil, err
	}
	var cal *calendar.Calendar
	if cfg.Calendar != "" {
		if cal, err = calendar.Load(cfg.Calendar); err != nil {
			return nil, nil, fmt.Errorf("--calendar: %w", err)
		}
	}
	sites, err := LoadSites(cfg.Sites)
	if err != nil {
		return nil, nil, err
	}
	loc, _ := time.LoadLocation(cfg.Timezone)
	svc := days.New(days.Options{Store: st, Roster: ros, Corrections: corr, Calendar: cal, Loc: loc, Logger: logger,
		DB: sqlDB, ConfigKey: configKey(cfg),
		Sessions: sessionsOf(sites),
		KnownSites: func(ctx context.Context) ([]string, error) {
			devs, err := reg.List(ctx)
			var out []string
			for _, d := range devs {
				out = append(out, d.Site)
			}
			return out, err
		}})
	auditLog, err := audit.New(ctx, sqlDB, nil)
	if err != nil {
		return nil, nil, err
	}
	keep, err := retention.New(ctx, retention.Options{DB: sqlDB, Store: st, Figures: svc, Months: cfg.RetentionMonths, Loc: loc,
		Audit: auditLog, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return &Offline{Days: svc, Audit: auditLog, Retention: keep, DB: sqlDB, Store: st}, close, nil
}
