package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"pointage/hub"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/users"
)

// namesSitesFile is a sites file naming riviere-salee and labelling a
// diet the built-in list does not know.
const namesSitesFile = `sites:
  riviere-salee:
    name: École de Rivière-Salée
diets:
  Halal: Halal
`

// namesHub runs a hub with namesSitesFile, a device at jules-ferry (a
// known site without a name) and the users marie (office), ecole (school
// of jules-ferry) and cuisine (kitchen), password "password-" + name.
func namesHub(t *testing.T, opts hub.Options) *hub.Hub {
	t.Helper()
	cfg := config()
	cfg.Sites = filepath.Join(t.TempDir(), "sites.yaml")
	if err := os.WriteFile(cfg.Sites, []byte(namesSitesFile), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHubWith(t, cfg, opts, http.DefaultClient)
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{{"marie", auth.RoleOffice, ""}, {"ecole", auth.RoleSchool, "jules-ferry"}, {"cuisine", auth.RoleKitchen, ""}} {
		if _, err := h.Users().Add(bg, u.name, u.role, u.site, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := h.Devices().Add(bg, "jules-ferry", "jf-1", ""); err != nil {
		t.Fatal(err)
	}
	return h
}

// raw sends body as it is, with user's Basic credentials.
func raw(t *testing.T, h *hub.Hub, user, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+h.HTTPAddr()+path, strings.NewReader(body))
	req.SetBasicAuth(user, "password-"+user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type namesView struct {
	Sites map[string]string `json:"sites"`
	Diets map[string]string `json:"diets"`
}

func getNames(t *testing.T, h *hub.Hub, user string) namesView {
	t.Helper()
	code, body := raw(t, h, user, "GET", "/api/v1/names", "")
	var v namesView
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("GET /api/v1/names as %s: %d %s", user, code, body)
	}
	return v
}

// Display names through the API of a running hub (docs/DESIGN.md §12):
// the sites file's names and diet labels, a name the office edits shown
// at once (the API, the dashboard's header, the XLSX export; the CSV and
// the ids unchanged), every refusal a 400 naming the field or a 403, and
// each edit in the audit log.
func TestNamesAPI(t *testing.T) {
	h := namesHub(t, hub.Options{})

	v := getNames(t, h, "marie")
	if v.Sites["riviere-salee"] != "École de Rivière-Salée" || v.Sites["jules-ferry"] != "jules-ferry" {
		t.Errorf("sites: %q", v.Sites)
	}
	if v.Diets["vegetarien"] != "Végétarien" || v.Diets["pai"] != "PAI" || v.Diets["halal"] != "Halal" || v.Diets["sans-porc"] != "Sans porc" {
		t.Errorf("diets: %q", v.Diets)
	}
	// A school account reads its own site's name only; the kitchen (every site) all of them.
	if v := getNames(t, h, "ecole"); len(v.Sites) != 1 || v.Sites["jules-ferry"] != "jules-ferry" || v.Diets["pai"] != "PAI" {
		t.Errorf("the school's names: %q %q", v.Sites, v.Diets)
	}
	if v := getNames(t, h, "cuisine"); v.Sites["riviere-salee"] != "École de Rivière-Salée" {
		t.Errorf("the kitchen's names: %q", v.Sites)
	}

	// Office only.
	for _, user := range []string{"ecole", "cuisine"} {
		if code, body := raw(t, h, user, "PUT", "/api/v1/sites/jules-ferry/name", `{"name":"X"}`); code != 403 || !strings.Contains(body, `"error"`) {
			t.Errorf("PUT as %s: %d %s, want 403", user, code, body)
		}
		if code, _ := raw(t, h, user, "GET", "/api/v1/sites", ""); code != 403 {
			t.Errorf("GET /api/v1/sites as %s: %d, want 403", user, code)
		}
	}
	// Bad requests: 400, the field named.
	for _, c := range []struct{ path, body, field string }{
		{"/api/v1/sites/jules-ferry/name", `{}`, "name: required"},
		{"/api/v1/sites/jules-ferry/name", `{"name":null}`, "body"},
		{"/api/v1/sites/jules-ferry/name", `{"nom":"École"}`, "body"},
		{"/api/v1/sites/jules-ferry/name", `{"name":"a","name":"b"}`, "body"},
		{"/api/v1/sites/jules-ferry/name", `{"name":"École\nJules Ferry"}`, "name:"},
		{"/api/v1/sites/jules-ferry/name", `{"name":"` + strings.Repeat("é", 101) + `"}`, "name:"},
		{"/api/v1/sites/jules-ferry/name", `{"name":42}`, "body"},
		{"/api/v1/sites/Jules%20Ferry/name", `{"name":"École"}`, "site:"},
	} {
		code, body := raw(t, h, "marie", "PUT", c.path, c.body)
		if code != 400 || !strings.Contains(body, `"error":"`+c.field) {
			t.Errorf("PUT %s %.40s: %d %s, want 400 naming %q", c.path, c.body, code, body, c.field)
		}
	}
	if v := getNames(t, h, "marie"); v.Sites["jules-ferry"] != "jules-ferry" {
		t.Fatalf("a refused name was kept: %q", v.Sites)
	}

	// The office names jules-ferry: at once everywhere.
	code, body := raw(t, h, "marie", "PUT", "/api/v1/sites/jules-ferry/name", `{"name":"  École Jules Ferry "}`)
	if code != 200 || !strings.Contains(body, `"name":"École Jules Ferry"`) || !strings.Contains(body, `"source":"dashboard"`) {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if v := getNames(t, h, "ecole"); v.Sites["jules-ferry"] != "École Jules Ferry" {
		t.Errorf("the school's name after the edit: %q", v.Sites)
	}
	header := dashboardHeader(t, h, "ecole")
	if !strings.Contains(header, "ecole (école · École Jules Ferry)") {
		t.Errorf("the dashboard's header: %s", header)
	}
	// The office renames riviere-salee, then gives it back the file's name.
	raw(t, h, "marie", "PUT", "/api/v1/sites/riviere-salee/name", `{"name":"Groupe scolaire de Rivière-Salée"}`)
	if v := getNames(t, h, "marie"); v.Sites["riviere-salee"] != "Groupe scolaire de Rivière-Salée" {
		t.Errorf("renamed: %q", v.Sites)
	}
	code, body = raw(t, h, "marie", "PUT", "/api/v1/sites/riviere-salee/name", `{"name":""}`)
	if code != 200 || !strings.Contains(body, `"name":"École de Rivière-Salée"`) || !strings.Contains(body, `"source":"sites_file"`) {
		t.Errorf("back to the file's name: %d %s", code, body)
	}
	code, body = raw(t, h, "marie", "GET", "/api/v1/sites", "")
	if code != 200 || !strings.Contains(body, `{"site":"jules-ferry","name":"École Jules Ferry","source":"dashboard","dashboard_name":"École Jules Ferry"}`) ||
		!strings.Contains(body, `{"code":"halal","label":"Halal","source":"sites_file"}`) {
		t.Errorf("GET /api/v1/sites: %d %s", code, body)
	}

	// Audited: who, what, when.
	code, body = raw(t, h, "marie", "GET", "/api/v1/audit", "")
	var log struct{ Entries []audit.Entry }
	if code != 200 || json.Unmarshal([]byte(body), &log) != nil {
		t.Fatalf("audit: %d %s", code, body)
	}
	var named []string
	for _, e := range log.Entries {
		if e.Action == audit.SiteNamed {
			if e.User != "marie" || e.Role != "office" || time.Since(e.At) > time.Minute {
				t.Errorf("audit entry: %+v", e)
			}
			named = append(named, e.Target+": "+e.Detail)
		}
	}
	want := []string{`jules-ferry: name "École Jules Ferry"`, `riviere-salee: name "Groupe scolaire de Rivière-Salée"`,
		`riviere-salee: name removed: "École de Rivière-Salée" shown (sites_file)`}
	if strings.Join(named, "\n") != strings.Join(want, "\n") && strings.Join(reverse(named), "\n") != strings.Join(want, "\n") {
		t.Errorf("audited edits:\n%s\nwant\n%s", strings.Join(named, "\n"), strings.Join(want, "\n"))
	}

	// The XLSX export shows the name beside the id; the CSV stays as it was.
	month := h.Days().Today().String()[:7]
	code, body = raw(t, h, "marie", "GET", "/api/v1/export?kind=meals&site=jules-ferry&format=xlsx&month="+month, "")
	if code != 200 {
		t.Fatalf("xlsx export: %d %s", code, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if hdr, _ := f.GetRows("jules-ferry"); len(hdr) == 0 || len(hdr[0]) < 3 || hdr[0][1] != "Site" || hdr[0][2] != "École" {
		t.Errorf("the data sheet's header: %q", hdr)
	}
	if sum, _ := f.GetRows("Résumé"); !strings.Contains(strings.Join(flatten(sum), "|"), "École Jules Ferry (jules-ferry)") {
		t.Errorf("the summary does not name the school: %q", sum)
	}
	code, body = raw(t, h, "marie", "GET", "/api/v1/export?kind=meals&site=jules-ferry&format=csv&month="+month, "")
	if code != 200 || !strings.HasPrefix(body, "\uFEFFDate;Site;Identifiant;Nom;Prénom;Famille;Classe;Régime;Statut;À vérifier;Corrigé\r\n") || strings.Contains(body, "École") {
		t.Errorf("csv export: %d %q", code, body)
	}
}

// dashboardHeader is the header of the overview as user sees it after
// logging in through the form.
func dashboardHeader(t *testing.T, h *hub.Hub, user string) string {
	t.Helper()
	_, body := formLogin(t, h, user, "password-"+user)
	i, j := strings.Index(body, `<span class="qui">`), strings.Index(body, "</span>")
	if i < 0 || j < i {
		t.Fatalf("no header in:\n%s", body)
	}
	return body[i:j]
}

// formLogin logs user in through the dashboard's form and returns the
// page it lands on.
func formLogin(t *testing.T, h *hub.Hub, user, password string) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := "http://" + h.HTTPAddr()
	resp, err := c.Get(base + "/connexion")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF field in the login form:\n%s", form)
	}
	resp, err = c.PostForm(base+"/connexion", url.Values{"csrf": {string(m[1])}, "nom": {user}, "motdepasse": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}
