package hub

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"pointage/hub/counts"
	"pointage/internal/wire"
)

// SiteSettings are one site's settings from the --sites file.
type SiteSettings struct {
	Sessions []counts.Session `yaml:"sessions"`
}

// LoadSites reads the --sites file: per site, its garderie sessions
// (sites not listed get docs/DESIGN.md §5's defaults):
//
//	sites:
//	  jules-ferry:
//	    sessions:
//	      - {name: garderie-matin, start: "06:15", end: "07:45", auto_close: true}
//	      - {name: garderie-soir, start: "15:00", end: "18:00", margin: 20m}
func LoadSites(path string) (map[string]SiteSettings, error) {
	out := map[string]SiteSettings{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sites: %w", err)
	}
	var doc struct {
		Sites map[string]SiteSettings `yaml:"sites"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("--sites %s: %w", path, err)
	}
	for site, s := range doc.Sites {
		if !wire.ValidSiteOrDevice(site) {
			return nil, fmt.Errorf("--sites %s: %q is not a site id", path, site)
		}
		if s.Sessions != nil {
			if err := counts.ValidateSessions(s.Sessions); err != nil {
				return nil, fmt.Errorf("--sites %s: %s: %w", path, site, err)
			}
		}
		out[site] = s
	}
	return out, nil
}

// sessionsOf returns a site's sessions (nil: the defaults).
func sessionsOf(sites map[string]SiteSettings) func(string) []counts.Session {
	return func(site string) []counts.Session { return sites[site].Sessions }
}
