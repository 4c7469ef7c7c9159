package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"pointage/hub/auth"
	"pointage/hub/users"
)

// POST /api/v1/roster (docs/DESIGN.md §12): the dry run gives the figures of the
// import and changes nothing; the import of a workbook changes the
// roster; a file that is no roster is a 400 in French; office only.
func TestRosterAPI(t *testing.T) {
	h := startHub(t, config())
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{{"marie", auth.RoleOffice, ""}, {"ecole", auth.RoleSchool, "jules-ferry"}} {
		if _, err := h.Users().Add(bg, u.name, u.role, u.site, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	post := func(user, query string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+h.HTTPAddr()+"/api/v1/roster"+query, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/vnd.ms-excel") // what browsers send for a .csv, whatever it holds
		req.SetBasicAuth(user, "password-"+user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	people := func() int {
		t.Helper()
		snap, err := h.Roster().AsOf(bg, h.Days().Today())
		if err != nil {
			t.Fatal(err)
		}
		return len(snap.People())
	}

	csv := []byte(rosterCSV + "0A0000000Z;E099;pupil;X;Y;jules-ferry;CP;standard;lu;\n")
	code, body := post("marie", "?dry_run=true", csv)
	var dry struct {
		DryRun   bool `json:"dry_run"`
		Added    int  `json:"added"`
		Rejected []struct {
			Line   int    `json:"line"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &dry) != nil || !dry.DryRun || dry.Added != 4 || len(dry.Rejected) != 1 || dry.Rejected[0].Line != 6 {
		t.Fatalf("dry run: %d %s", code, body)
	}
	if n := people(); n != 0 {
		t.Fatalf("the dry run imported %d people", n)
	}

	// The same roster as a workbook, imported.
	f := excelize.NewFile()
	for i, line := range strings.Split(strings.TrimSpace(rosterCSV), "\n") {
		cells := strings.Split(line, ";")
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var xlsx bytes.Buffer
	if err := f.Write(&xlsx); err != nil {
		t.Fatal(err)
	}
	if code, body := post("marie", "", xlsx.Bytes()); code != 200 || !strings.Contains(body, `"added":4`) || !strings.Contains(body, `"dry_run":false`) {
		t.Fatalf("import of the workbook: %d %s", code, body)
	}
	if n := people(); n != 4 {
		t.Fatalf("%d people after the import, want 4", n)
	}
	if code, body := post("marie", "?dry_run=true", csv); code != 200 || !strings.Contains(body, `"unchanged":4`) {
		t.Errorf("the same roster again, dry run: %d %s", code, body)
	}

	for _, bad := range [][]byte{[]byte("bonjour"), []byte("Nom;Prénom\nWamytan;Léa\n"), {}} {
		code, body := post("marie", "", bad)
		var e struct {
			Error string `json:"error"`
		}
		if code != 400 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, "n'est pas une liste") || !strings.Contains(e.Error, "person_id") {
			t.Errorf("POST %q: %d %s, want 400 in French", bad, code, body)
		}
	}
	if code, _ := post("ecole", "?dry_run=true", csv); code != 403 {
		t.Errorf("a school user: %d, want 403", code)
	}
	if code, _ := post("marie", "?dry_run=peut-etre", csv); code != 400 {
		t.Errorf("dry_run=peut-etre: %d, want 400", code)
	}
}
