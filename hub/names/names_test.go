package names_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"pointage/hub/db"
	"pointage/hub/names"
	_ "pointage/hub/users" // hub.db's schema versions 1 and 2, below names' 3
)

func open(t *testing.T, opts names.Options) *names.Store {
	t.Helper()
	d, err := db.OpenMigrated(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	opts.DB = d
	s, err := names.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A site shows the name given in the dashboard, else the sites file's,
// else its id; removing the dashboard's name brings the file's back.
func TestSiteNames(t *testing.T) {
	ctx := context.Background()
	s := open(t, names.Options{
		SiteNames: map[string]string{"riviere-salee": "  École de Rivière-Salée ", "jules-ferry": "École Jules Ferry"},
		Known:     func(context.Context) ([]string, error) { return []string{"pasteur", "jules-ferry"}, nil },
	})
	got, err := s.SiteNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"riviere-salee": "École de Rivière-Salée", "jules-ferry": "École Jules Ferry", "pasteur": "pasteur"}
	if len(got) != len(want) {
		t.Fatalf("names = %q, want %q", got, want)
	}
	for id, name := range want {
		if got[id] != name {
			t.Errorf("%s: %q, want %q", id, got[id], name)
		}
	}

	v, err := s.SetSiteName(ctx, "jules-ferry", " Groupe scolaire Jules-Ferry ")
	if err != nil || v.Name != "Groupe scolaire Jules-Ferry" || v.Source != names.FromDashboard || v.FileName != "École Jules Ferry" {
		t.Fatalf("set: %+v %v", v, err)
	}
	if v, _ := s.Site(ctx, "jules-ferry"); v.Name != "Groupe scolaire Jules-Ferry" {
		t.Fatalf("after the edit: %+v", v)
	}
	if v, _ := s.SetSiteName(ctx, "pasteur", "École Pasteur"); v.Source != names.FromDashboard {
		t.Fatalf("pasteur: %+v", v)
	}
	// An unknown site may be named before its devices come: it is listed.
	if _, err := s.SetSiteName(ctx, "nouvelle-ecole", "École nouvelle"); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Sites(ctx)
	var ids []string
	for _, x := range all {
		ids = append(ids, x.Site+"="+x.Name+"("+x.Source+")")
	}
	if got := strings.Join(ids, " "); got != "jules-ferry=Groupe scolaire Jules-Ferry(dashboard) nouvelle-ecole=École nouvelle(dashboard) pasteur=École Pasteur(dashboard) riviere-salee=École de Rivière-Salée(sites_file)" {
		t.Fatalf("sites: %s", got)
	}

	// "" goes back to the file's name, or to the id.
	if v, err := s.SetSiteName(ctx, "jules-ferry", " "); err != nil || v.Name != "École Jules Ferry" || v.Source != names.FromSitesFile || v.DashboardName != "" {
		t.Fatalf("reset jules-ferry: %+v %v", v, err)
	}
	if v, _ := s.SetSiteName(ctx, "pasteur", ""); v.Name != "pasteur" || v.Source != names.FromID {
		t.Fatalf("reset pasteur: %+v", v)
	}
}

// Diets: the built-in labels, the sites file's over them, an unknown code
// as it is.
func TestDietLabels(t *testing.T) {
	s := open(t, names.Options{Diets: map[string]string{"sans-gluten": "Sans gluten (PAI)", "halal": "Halal"}})
	for code, want := range map[string]string{
		"standard": "Standard", "sans-porc": "Sans porc", "vegetarien": "Végétarien", "pai": "PAI",
		"sans-gluten": "Sans gluten (PAI)", "halal": "Halal", "sans-oeuf": "sans-oeuf", "": "",
	} {
		if got := s.DietLabel(code); got != want {
			t.Errorf("DietLabel(%q) = %q, want %q", code, got, want)
		}
	}
	if got := s.DietLabels(); got["vegetarien"] != "Végétarien" || got["halal"] != "Halal" || got["sans-oeuf"] != "" {
		t.Errorf("labels: %q", got)
	}
	for _, d := range s.Diets() {
		want := names.FromBuiltIn
		if d.Code == "halal" || d.Code == "sans-gluten" {
			want = names.FromSitesFile
		}
		if d.Source != want {
			t.Errorf("%s: source %s, want %s", d.Code, d.Source, want)
		}
	}
}

// Names are bounded and without control characters, wherever they come
// from; site ids are ids.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	s := open(t, names.Options{})
	long := strings.Repeat("é", names.MaxLen+1)
	for _, c := range []struct {
		site, name string
		want       error
	}{
		{"jules-ferry", long, names.ErrInvalidName},
		{"jules-ferry", "École\nJules Ferry", names.ErrInvalidName},
		{"jules-ferry", "École\tJules", names.ErrInvalidName},
		{"jules-ferry", "\xff\xfe", names.ErrInvalidName},
		{"Jules Ferry", "École Jules Ferry", names.ErrInvalidSite},
		{"", "x", names.ErrInvalidSite},
	} {
		if _, err := s.SetSiteName(ctx, c.site, c.name); !errors.Is(err, c.want) {
			t.Errorf("SetSiteName(%q, %.20q) = %v, want %v", c.site, c.name, err, c.want)
		}
	}
	if got, _ := s.SiteNames(ctx); len(got) != 0 {
		t.Fatalf("a refused name was kept: %q", got)
	}
	if _, err := s.SetSiteName(ctx, "jules-ferry", strings.Repeat("é", names.MaxLen)); err != nil {
		t.Errorf("a name of %d characters: %v", names.MaxLen, err)
	}
	for what, opts := range map[string]names.Options{
		"a long file name":        {SiteNames: map[string]string{"a": long}},
		"a file name with a tab":  {SiteNames: map[string]string{"a": "x\ty"}},
		"a file site that no id":  {SiteNames: map[string]string{"A B": "x"}},
		"a diet label with a tab": {Diets: map[string]string{"a": "x\ty"}},
		"an empty diet label":     {Diets: map[string]string{"a": " "}},
	} {
		if _, err := names.New(opts); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}
