package names

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"pointage/hub/db"
	"pointage/internal/wire"
)

// schemaV3 is what display names add to hub.db: the names the office gives
// sites in the dashboard (a site without a row shows the sites file's
// name, or its id).
const schemaV3 = `
CREATE TABLE site_names (
	site TEXT PRIMARY KEY, -- a site id
	name TEXT NOT NULL     -- as shown: cleaned, never empty
) STRICT;
`

func init() {
	db.Register(db.Migration{Package: "names", Steps: []db.Step{{Version: 3, SQL: schemaV3}}})
}

// MaxLen is the longest display name, in characters.
const MaxLen = 100

// Errors callers act on; their messages name the field.
var (
	// ErrInvalidName: a name is longer than MaxLen characters, holds a
	// control character (a line break, a tab) or is not UTF-8.
	ErrInvalidName = errors.New("invalid name")
	// ErrInvalidSite: a site id does not match ^[a-z0-9][a-z0-9-]{0,62}$.
	ErrInvalidSite = errors.New("invalid site")
)

// Where a shown name comes from.
const (
	FromDashboard = "dashboard"  // edited in the dashboard (hub.db)
	FromSitesFile = "sites_file" // the sites file's name: or diets:
	FromBuiltIn   = "built_in"   // BuiltInDiets
	FromID        = "id"         // no name: the id as it is
)

// BuiltInDiets are the labels of the diets the roster usually holds
// (docs/DESIGN.md §10: regime, normalized: lowercase, no accents, dashes).
// The sites file's diets: adds others or overrides these.
var BuiltInDiets = map[string]string{
	"standard":     "Standard",
	"sans-porc":    "Sans porc",
	"sans-viande":  "Sans viande",
	"vegetarien":   "Végétarien",
	"vegetalien":   "Végétalien",
	"sans-gluten":  "Sans gluten",
	"sans-lactose": "Sans lactose",
	"pai":          "PAI",
}

// Clean returns name without the spaces around it, or ErrInvalidName
// (the message says why). "" is a valid answer: no name.
func Clean(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("name: not UTF-8: %w", ErrInvalidName)
	}
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n > MaxLen {
		return "", fmt.Errorf("name: %d characters, at most %d: %w", n, MaxLen, ErrInvalidName)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return "", fmt.Errorf("name: no control character (line break, tab): %w", ErrInvalidName)
	}
	return name, nil
}

// Site is a site's names: the one shown and where it comes from, and the
// two it may come from.
type Site struct {
	Site          string `json:"site"`
	Name          string `json:"name"`   // shown: DashboardName, else FileName, else Site
	Source        string `json:"source"` // FromDashboard, FromSitesFile or FromID
	FileName      string `json:"file_name,omitempty"`
	DashboardName string `json:"dashboard_name,omitempty"`
}

// Diet is a diet's label and where it comes from.
type Diet struct {
	Code   string `json:"code"`
	Label  string `json:"label"`
	Source string `json:"source"` // FromSitesFile or FromBuiltIn
}

// Options configure a Store.
type Options struct {
	DB *sql.DB // hub.db, migrated
	// SiteNames are the sites file's names, by site id.
	SiteNames map[string]string
	// Diets are the sites file's diet labels, by code (normalized as the
	// roster's regime); they override BuiltInDiets.
	Diets map[string]string
	// Known lists the sites the hub knows (roster, devices, sequences);
	// nil: only the named ones.
	Known func(ctx context.Context) ([]string, error)
}

// Store gives the display names. Safe for concurrent use.
type Store struct {
	db    *sql.DB
	file  map[string]string
	diets []Diet // by code
	known func(ctx context.Context) ([]string, error)
}

// New checks the file's names and labels (Clean; site ids) and returns the
// store.
func New(opts Options) (*Store, error) {
	s := &Store{db: opts.DB, file: map[string]string{}, known: opts.Known}
	for site, name := range opts.SiteNames {
		if !wire.ValidSiteOrDevice(site) {
			return nil, fmt.Errorf("site %q: %w", site, ErrInvalidSite)
		}
		clean, err := Clean(name)
		if err != nil {
			return nil, fmt.Errorf("site %s: %w", site, err)
		}
		if clean != "" {
			s.file[site] = clean
		}
	}
	labels := map[string]Diet{}
	for code, label := range BuiltInDiets {
		labels[code] = Diet{Code: code, Label: label, Source: FromBuiltIn}
	}
	for code, label := range opts.Diets {
		clean, err := Clean(label)
		if err != nil {
			return nil, fmt.Errorf("diet %s: %w", code, err)
		}
		if code == "" || clean == "" {
			return nil, fmt.Errorf("diet %q: a code and a label: %w", code, ErrInvalidName)
		}
		labels[code] = Diet{Code: code, Label: clean, Source: FromSitesFile}
	}
	for _, code := range slices.Sorted(maps.Keys(labels)) {
		s.diets = append(s.diets, labels[code])
	}
	return s, nil
}

// Diets returns every diet label, by code.
func (s *Store) Diets() []Diet { return slices.Clone(s.diets) }

// DietLabels returns the diets' labels by code. A code not in it is shown
// as it is.
func (s *Store) DietLabels() map[string]string {
	out := make(map[string]string, len(s.diets))
	for _, d := range s.diets {
		out[d.Code] = d.Label
	}
	return out
}

// DietLabel is a diet's label, or its code when it has none.
func (s *Store) DietLabel(code string) string {
	i, ok := slices.BinarySearchFunc(s.diets, code, func(d Diet, c string) int { return strings.Compare(d.Code, c) })
	if !ok {
		return code
	}
	return s.diets[i].Label
}

// edited reads the names given in the dashboard.
func (s *Store) edited(ctx context.Context, site string) (map[string]string, error) {
	q, args := `SELECT site, name FROM site_names`, []any{}
	if site != "" {
		q, args = q+` WHERE site = ?`, []any{site}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read the site names: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("read the site names: %w", err)
		}
		out[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the site names: %w", err)
	}
	return out, nil
}

func (s *Store) site(id string, edited map[string]string) Site {
	v := Site{Site: id, Name: id, Source: FromID, FileName: s.file[id], DashboardName: edited[id]}
	switch {
	case v.DashboardName != "":
		v.Name, v.Source = v.DashboardName, FromDashboard
	case v.FileName != "":
		v.Name, v.Source = v.FileName, FromSitesFile
	}
	return v
}

// Sites returns the names of every known or named site, by id.
func (s *Store) Sites(ctx context.Context) ([]Site, error) {
	edited, err := s.edited(ctx, "")
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for id := range s.file {
		ids[id] = true
	}
	for id := range edited {
		ids[id] = true
	}
	if s.known != nil {
		known, err := s.known(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the known sites: %w", err)
		}
		for _, id := range known {
			ids[id] = true
		}
	}
	out := make([]Site, 0, len(ids))
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		out = append(out, s.site(id, edited))
	}
	return out, nil
}

// SiteNames returns the shown name of every known or named site, by id.
func (s *Store) SiteNames(ctx context.Context) (map[string]string, error) {
	all, err := s.Sites(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(all))
	for _, v := range all {
		out[v.Site] = v.Name
	}
	return out, nil
}

// Site returns one site's names (known or not).
func (s *Store) Site(ctx context.Context, id string) (Site, error) {
	edited, err := s.edited(ctx, id)
	if err != nil {
		return Site{Site: id, Name: id, Source: FromID}, err
	}
	return s.site(id, edited), nil
}

// SetSiteName gives site the display name name in hub.db, shown instead
// of the sites file's; "" removes it (the file's name, or the id, is shown
// again). ErrInvalidSite, ErrInvalidName.
func (s *Store) SetSiteName(ctx context.Context, site, name string) (Site, error) {
	if !wire.ValidSiteOrDevice(site) {
		return Site{}, fmt.Errorf("site %q: lowercase letters, digits and dashes, like jules-ferry: %w", site, ErrInvalidSite)
	}
	name, err := Clean(name)
	if err != nil {
		return Site{}, err
	}
	if name == "" {
		_, err = s.db.ExecContext(ctx, `DELETE FROM site_names WHERE site = ?`, site)
	} else {
		_, err = s.db.ExecContext(ctx, `INSERT INTO site_names (site, name) VALUES (?, ?)
			ON CONFLICT (site) DO UPDATE SET name = excluded.name`, site, name)
	}
	if err != nil {
		return Site{}, fmt.Errorf("site %s: save the name: %w", site, err)
	}
	return s.Site(ctx, site)
}
