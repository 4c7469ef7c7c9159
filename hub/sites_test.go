package hub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadSites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sites.yaml")
	os.WriteFile(path, []byte(`sites:
  jules-ferry:
    sessions:
      - {name: garderie-matin, start: "06:15", end: "07:45", auto_close: true}
      - {name: garderie-soir, start: "15:00", end: "18:00", margin: 20m}
`), 0o600)
	sites, err := LoadSites(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sites["jules-ferry"].Sessions
	if len(s) != 2 || s[0].Start.String() != "06:15" || !s[0].AutoClose || s[1].Margin != 20*time.Minute || s[1].End.String() != "18:00" {
		t.Fatalf("sessions: %+v", s)
	}
	if got := sessionsOf(sites)("pasteur"); got != nil {
		t.Fatalf("a site not listed must get the defaults, got %+v", got)
	}
	for name, doc := range map[string]string{
		"long name":    "sites:\n  a:\n    name: " + strings.Repeat("x", 101) + "\n",
		"name tab":     "sites:\n  a:\n    name: \"École\\tA\"\n",
		"diet twice":   "diets:\n  Sans porc: Sans porc\n  sans-porc: Sans porc\n",
		"diet empty":   "diets:\n  halal: \"\"\n",
		"diet newline": "diets:\n  halal: \"Ha\\nlal\"\n",
		"bad site":     "sites:\n  Jules Ferry: {}\n",
		"unknown key":  "sites:\n  a:\n    sesions: []\n",
		"end <= start": "sites:\n  a:\n    sessions:\n      - {name: x, start: \"16:00\", end: \"15:00\"}\n",
		"bad clock":    "sites:\n  a:\n    sessions:\n      - {name: x, start: \"25:00\", end: \"26:00\"}\n",
	} {
		os.WriteFile(path, []byte(doc), 0o600)
		if _, err := LoadSites(path); err == nil || !strings.Contains(err.Error(), "--sites") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// The sites file's display names and diet labels (docs/DESIGN.md §12):
// spaces around them dropped, diets keyed by the roster's code.
func TestLoadSitesFileNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sites.yaml")
	os.WriteFile(path, []byte(`sites:
  riviere-salee:
    name: "  École de Rivière-Salée "
  jules-ferry:
    sessions:
      - {name: garderie-soir, start: "15:00", end: "18:00"}
diets:
  Sans Gluten: Sans gluten
  pai: Projet d'accueil individualisé
`), 0o600)
	f, err := LoadSitesFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.siteNames(); len(got) != 1 || got["riviere-salee"] != "École de Rivière-Salée" {
		t.Errorf("site names: %q", got)
	}
	if len(f.Sites["jules-ferry"].Sessions) != 1 {
		t.Errorf("sessions: %+v", f.Sites)
	}
	if len(f.Diets) != 2 || f.Diets["sans-gluten"] != "Sans gluten" || f.Diets["pai"] != "Projet d'accueil individualisé" {
		t.Errorf("diets: %q", f.Diets)
	}
}

func TestShippedExamplesLoad(t *testing.T) {
	if _, err := LoadSites("../firmware-config/sites.example.yaml"); err != nil {
		t.Fatal(err)
	}
}
