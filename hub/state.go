package hub

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"pointage/hub/audit"
	"pointage/hub/calendar"
	"pointage/hub/changes"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/db"
	"pointage/hub/devices"
	"pointage/hub/export"
	"pointage/hub/names"
	"pointage/hub/retention"
	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/hub/store/influxstore"
	"pointage/hub/store/sqlitestore"
	"pointage/hub/users"
)

// StateOptions are what OpenState needs besides the configuration.
type StateOptions struct {
	Logger *slog.Logger     // nil: discarded
	Now    func() time.Time // nil: time.Now
	// HubDBOnly opens hub.db and what lives in it (devices, users, roster,
	// corrections, audit) without the check-in store, the calendar and
	// sites files, the day service or the retention: for the commands that
	// manage devices, users and the roster, which are given --data-dir only.
	HubDBOnly bool
}

// State is the hub's state, opened in one place for the running hub
// (New) and for the commands that run beside it: hub.db, migrated to the
// current schema version (hub/db), the check-in store, and the packages
// built on them. Close releases it.
type State struct {
	DB          *sql.DB     // hub.db
	Migrated    db.Migrated // what opening did to hub.db's schema
	Store       store.Store // nil with HubDBOnly
	Devices     *devices.Registry
	Users       *users.Store
	Roster      *roster.Roster
	Corrections *corrections.Store
	Audit       *audit.Log
	Calendar    *calendar.Store // --calendar and hub.db's closed days; nil with HubDBOnly
	Loc         *time.Location  // --timezone
	Days        *days.Service   // nil with HubDBOnly
	// Changes is the feed of changes to the figures: the running hub's
	// ingest writes to it, the day service reads it.
	Changes   *changes.Feed
	Retention *retention.Retention // nil with HubDBOnly
	Names     *names.Store         // sites' and diets' display names; nil with HubDBOnly

	// sequenceSites lists the sites of the devices' sequences: read from
	// hub.db, or from ingest's memory while it runs (useLiveSequences).
	sequenceSites func(ctx context.Context) ([]string, error)
	closeOnce     sync.Once
}

// OpenState validates cfg and opens the hub's state under cfg.DataDir (and
// the InfluxDB store with --influx-url). A hub.db made by a newer
// pointage-hub is refused (db.NewerError).
func OpenState(ctx context.Context, cfg Config, opts StateOptions) (st *State, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	st = &State{}
	self := st // "return nil, err" sets st to nil before this runs
	defer func() {
		if err != nil {
			self.Close()
		}
	}()
	path := filepath.Join(cfg.DataDir, "hub.db")
	if st.DB, err = db.Open(ctx, path); err != nil {
		return nil, err
	}
	if st.Migrated, err = db.Migrate(ctx, st.DB); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if st.Migrated.Steps > 0 {
		log.Info("hub.db schema migrated", "path", path, "from_version", st.Migrated.From, "to_version", st.Migrated.To, "steps", st.Migrated.Steps)
	}
	st.sequenceSites = st.storedSequenceSites
	if st.Devices, err = devices.New(ctx, st.DB, log); err != nil {
		return nil, err
	}
	if st.Users, err = users.New(ctx, st.DB, log); err != nil {
		return nil, err
	}
	if st.Roster, err = roster.New(ctx, st.DB); err != nil {
		return nil, err
	}
	if st.Corrections, err = corrections.New(ctx, st.DB, now); err != nil {
		return nil, err
	}
	if st.Audit, err = audit.New(ctx, st.DB, now); err != nil {
		return nil, err
	}
	st.Loc, _ = time.LoadLocation(cfg.Timezone) // validated
	if opts.HubDBOnly {
		return st, nil
	}

	if cfg.InfluxURL != "" {
		st.Store, err = influxstore.Open(ctx, influxstore.Options{URL: cfg.InfluxURL, Org: cfg.InfluxOrg, Bucket: cfg.InfluxBucket,
			Token: string(cfg.InfluxToken), Logger: log})
		log.Info("store: InfluxDB", "url", cfg.InfluxURL, "bucket", cfg.InfluxBucket)
	} else {
		path := filepath.Join(cfg.DataDir, "checkins.db")
		st.Store, err = sqlitestore.Open(ctx, path, log)
		log.Info("store: SQLite", "path", path)
	}
	if err != nil {
		st.Store = nil // a nil *Store in the interface would be closed
		return nil, fmt.Errorf("open the store: %w", err)
	}
	var file *calendar.Calendar
	if cfg.Calendar != "" {
		if file, err = calendar.Load(cfg.Calendar); err != nil {
			return nil, fmt.Errorf("--calendar: %w", err)
		}
	}
	sitesFile, err := LoadSitesFile(cfg.Sites)
	if err != nil {
		return nil, err
	}
	sites := sitesFile.Sites
	if st.Names, err = names.New(names.Options{DB: st.DB, SiteNames: sitesFile.siteNames(), Diets: sitesFile.Diets,
		Known: st.namedSites}); err != nil {
		return nil, fmt.Errorf("--sites: %w", err)
	}
	st.Changes = changes.New()
	// A closed day added or removed applies at once: the figures follow
	// the calendar's stamps, and open pages refresh on the feed's signal.
	if st.Calendar, err = calendar.Open(ctx, calendar.Options{DB: st.DB, File: file, Now: now, Changed: st.Changes.Notify}); err != nil {
		return nil, err
	}
	st.Days = days.New(days.Options{Store: st.Store, Roster: st.Roster, Corrections: st.Corrections, Calendar: st.Calendar,
		Loc: st.Loc, Now: now, DB: st.DB, ConfigKey: configKey(cfg), Sessions: sessionsOf(sites),
		KnownSites: st.KnownSites, Changes: st.Changes, Names: st.exportNames, Logger: log})
	if st.Retention, err = retention.New(ctx, retention.Options{DB: st.DB, Store: st.Store, Figures: st.Days, Months: cfg.RetentionMonths,
		Loc: st.Loc, Now: now, Audit: st.Audit, Logger: log}); err != nil {
		return nil, err
	}
	return st, nil
}

// KnownSites lists the sites of registered devices and of the devices'
// sequences (devices that sent check-ins, registered or not).
func (s *State) KnownSites(ctx context.Context) ([]string, error) {
	devs, err := s.Devices.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(devs))
	for _, d := range devs {
		out = append(out, d.Site)
	}
	more, err := s.sequenceSites(ctx)
	return append(out, more...), err
}

// namedSites lists the sites a person may want to name: the roster's and
// the known ones (KnownSites).
func (s *State) namedSites(ctx context.Context) ([]string, error) {
	out, err := s.Roster.Sites(ctx)
	if err != nil {
		return nil, err
	}
	more, err := s.KnownSites(ctx)
	return append(out, more...), err
}

// exportNames are the display names the XLSX exports show beside the ids
// (docs/DESIGN.md §12).
func (s *State) exportNames(ctx context.Context) (*export.Names, error) {
	sites, err := s.Names.SiteNames(ctx)
	if err != nil {
		return nil, err
	}
	return &export.Names{Sites: sites, Diets: s.Names.DietLabels()}, nil
}

// storedSequenceSites reads the sites of the sequences ingest keeps in
// hub.db.
func (s *State) storedSequenceSites(ctx context.Context) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT site FROM sequences`)
	if err != nil {
		return nil, fmt.Errorf("read the sequences' sites: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var site string
		if err := rows.Scan(&site); err != nil {
			return nil, fmt.Errorf("read the sequences' sites: %w", err)
		}
		out = append(out, site)
	}
	return out, rows.Err()
}

// useLiveSequences makes KnownSites read the sequences from the running
// ingest, which knows a device from its first message (hub.db from its
// first stored event). Called before anything runs.
func (s *State) useLiveSequences(sites func() []string) {
	s.sequenceSites = func(context.Context) ([]string, error) { return sites(), nil }
}

// Close releases the store and hub.db. Twice is harmless.
func (s *State) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.Store != nil {
			err = s.Store.Close()
		}
		if s.DB != nil {
			if cerr := s.DB.Close(); err == nil {
				err = cerr
			}
		}
	})
	return err
}
