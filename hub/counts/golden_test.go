package counts

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"pointage/hub/roster"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// designExample is the site object of GET /api/v1/counts in docs/DESIGN.md §9
// (contract).
const designExample = `{"site":"jules-ferry",
 "canteen":{"meals":212,"staff_meals":9,"by_regime":{"standard":180,"sans-porc":20},
            "expected":220,"expected_by_regime":{"standard":186,"sans-porc":22},
            "absent":12,"unexpected":4,"unknown_badges":1,"duplicates":7},
 "garderie":{"garderie-matin":{"children":35,"present":0},
             "garderie-soir":{"children":60,"present":12,"late":0}},
 "staff":{"present":14},"warnings":[]}`

// goldenDay is one full school day at jules-ferry, looked at during the
// evening session.
func goldenDay(tb testing.TB) Input {
	both := roster.GarderieMatin | roster.GarderieSoir
	snap := snapshot(tb, testDay,
		kid("E01", "0A00000001", site, "standard", "lu ma je ve", both),
		kid("E02", "0A00000002", site, "standard", "lu ma je ve", roster.GarderieSoir),
		kid("E03", "0A00000003", site, "sans-porc", "lu ma je ve", 0),
		kid("E04", "0A00000004", site, "sans-porc", "lu ma je ve", roster.GarderieMatin),
		kid("E05", "0A00000005", site, "vegetarien", "lu ma je ve", 0),
		kid("E06", "0A00000006", site, "standard", "lu ma je ve", 0), // declared absent
		kid("E07", "0A00000007", site, "pai", "lu ma", 0),            // occasional on Thursday
		kidByCard("E08", "0006102437", site),
		agent("S01", "0C00000001", site), agent("S02", "0C00000002", site), agent("S03", "0C00000003", site),
	)
	scans := []Scan{
		garderie("0A00000001", "06:05"), garderie("0A00000004", "06:40"), garderie("0A00000004", "06:41"),
		clock("0C00000001", "06:45"), clock("0C00000002", "10:00"), clock("0C00000003", "07:00"), clock("0C00000003", "07:01"),
		canteen("0A00000001", "11:20"), canteen("0A00000002", "11:21"), canteen("0A00000003", "11:22"),
		canteen("0A00000003", "11:23"), canteen("13005D1DA5", "11:24"), canteen("0A00000007", "11:25"),
		voided(canteen("0A00000005", "11:26")), canteen("DEADBEEF01", "11:27"), canteen("0C00000002", "12:00"),
		clock("0C00000002", "14:00"),
		garderie("0A00000001", "15:02"), review(garderie("0A00000002", "15:03")), garderie("0A00000002", "16:10"),
	}
	return Input{Site: site, Day: testDay, Loc: noumea, Scans: scans, Roster: snap,
		Absent: map[string]bool{"E06": true}, Now: at("16:30")}
}

func TestGoldenCountsJSON(t *testing.T) {
	res := Compute(goldenDay(t))
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "counts.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("counts JSON differs from %s (go test -update rewrites it)\n got:\n%s\nwant:\n%s", path, got, want)
	}
	if res.Detail.Review != 1 {
		t.Errorf("review = %d, want 1", res.Detail.Review)
	}
}

// TestJSONShapeMatchesDesign compares the keys of a Result's JSON, level
// by level, with docs/DESIGN.md §9's example: the shape is a contract.
func TestJSONShapeMatchesDesign(t *testing.T) {
	var design map[string]any
	if err := json.Unmarshal([]byte(designExample), &design); err != nil {
		t.Fatal(err)
	}
	for _, in := range []Input{goldenDay(t), {Site: site, Day: testDay, Loc: noumea}} {
		b, err := json.Marshal(Compute(in))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		for _, path := range [][]string{
			{}, {"canteen"}, {"staff"},
			{"garderie", "garderie-matin"}, {"garderie", "garderie-soir"},
		} {
			g, d := dig(got, path), dig(design, path)
			if gk, dk := keys(g), keys(d); !slices.Equal(gk, dk) {
				t.Errorf("keys at %v: got %v, docs/DESIGN.md has %v", path, gk, dk)
			}
		}
		if gk, dk := keys(dig(got, []string{"garderie"})), keys(dig(design, []string{"garderie"})); !slices.Equal(gk, dk) {
			t.Errorf("garderie sessions %v, docs/DESIGN.md has %v", gk, dk)
		}
		for _, k := range []string{"by_regime", "expected_by_regime"} {
			if _, ok := dig(got, []string{"canteen"})[k].(map[string]any); !ok {
				t.Errorf("canteen.%s is %v, want an object", k, dig(got, []string{"canteen"})[k])
			}
		}
		if w, ok := got["warnings"].([]any); !ok || len(w) != 0 {
			t.Errorf("warnings = %v, want []", got["warnings"])
		}
		for k, v := range dig(got, []string{"canteen"}) {
			if _, isMap := v.(map[string]any); !isMap {
				if _, isNum := v.(float64); !isNum {
					t.Errorf("canteen.%s = %v, want a number", k, v)
				}
			}
		}
	}
}

func dig(m map[string]any, path []string) map[string]any {
	for _, p := range path {
		m, _ = m[p].(map[string]any)
	}
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestWarningJSON(t *testing.T) {
	for _, tt := range []struct {
		w    Warning
		want string
	}{
		{Warning{Code: WarnServedMoreThanEnrolled, Message: "m"}, `{"code":"served_more_than_enrolled","message":"m"}`},
		{Warning{Code: WarnTwoSites, Message: "m", PersonID: "E1"}, `{"code":"scanned_at_two_sites","message":"m","person_id":"E1"}`},
	} {
		b, err := json.Marshal(tt.w)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tt.w, b, err, tt.want)
		}
	}
}
