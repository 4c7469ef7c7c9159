package hub

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"pointage/hub/counts"
	"pointage/hub/names"
	"pointage/hub/roster"
	"pointage/internal/wire"
)

// SiteSettings are one site's settings from the --sites file.
type SiteSettings struct {
	// Name is the site's display name (docs/DESIGN.md §12), shown instead
	// of its id; one edited in the dashboard takes its place.
	Name     string           `yaml:"name"`
	Sessions []counts.Session `yaml:"sessions"`
}

// SitesFile is the --sites file: the sites' settings, and the diets'
// labels by code (docs/DESIGN.md §12; they add to or override
// names.BuiltInDiets).
type SitesFile struct {
	Sites map[string]SiteSettings
	Diets map[string]string
}

// LoadSites reads the --sites file's sites (LoadSitesFile).
func LoadSites(path string) (map[string]SiteSettings, error) {
	f, err := LoadSitesFile(path)
	return f.Sites, err
}

// LoadSitesFile reads the --sites file: per site, its display name and its
// garderie sessions (sites not listed get docs/DESIGN.md §5's defaults);
// the diets' labels, by the roster's code ("Sans porc" and "sans-porc" are
// one code):
//
//	sites:
//	  jules-ferry:
//	    name: École Jules Ferry
//	    sessions:
//	      - {name: garderie-matin, start: "06:15", end: "07:45", auto_close: true}
//	      - {name: garderie-soir, start: "15:00", end: "18:00", margin: 20m}
//	diets:
//	  sans-gluten: Sans gluten
func LoadSitesFile(path string) (SitesFile, error) {
	out := SitesFile{Sites: map[string]SiteSettings{}, Diets: map[string]string{}}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return SitesFile{}, fmt.Errorf("--sites: %w", err)
	}
	var doc struct {
		Sites map[string]SiteSettings `yaml:"sites"`
		Diets map[string]string       `yaml:"diets"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return SitesFile{}, fmt.Errorf("--sites %s: %w", path, err)
	}
	for site, s := range doc.Sites {
		if !wire.ValidSiteOrDevice(site) {
			return SitesFile{}, fmt.Errorf("--sites %s: %q is not a site id", path, site)
		}
		if s.Name, err = names.Clean(s.Name); err != nil {
			return SitesFile{}, fmt.Errorf("--sites %s: %s: %w", path, site, err)
		}
		if s.Sessions != nil {
			if err := counts.ValidateSessions(s.Sessions); err != nil {
				return SitesFile{}, fmt.Errorf("--sites %s: %s: %w", path, site, err)
			}
		}
		out.Sites[site] = s
	}
	for typed, label := range doc.Diets {
		code := roster.DietCode(typed)
		if _, dup := out.Diets[code]; dup {
			return SitesFile{}, fmt.Errorf("--sites %s: diets: %q is the diet %s twice", path, typed, code)
		}
		clean, err := names.Clean(label)
		if err == nil && clean == "" {
			err = fmt.Errorf("name: empty")
		}
		if err != nil {
			return SitesFile{}, fmt.Errorf("--sites %s: diets: %s: %w", path, typed, err)
		}
		out.Diets[code] = clean
	}
	return out, nil
}

// siteNames are the sites file's display names, by site.
func (f SitesFile) siteNames() map[string]string {
	out := map[string]string{}
	for site, s := range f.Sites {
		if s.Name != "" {
			out[site] = s.Name
		}
	}
	return out
}

// sessionsOf returns a site's sessions (nil: the defaults).
func sessionsOf(sites map[string]SiteSettings) func(string) []counts.Session {
	return func(site string) []counts.Session { return sites[site].Sessions }
}
