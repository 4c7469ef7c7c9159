package counts

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"pointage/hub/roster"
)

const (
	site  = "jules-ferry"
	other = "pierre-loti"
)

// canteenRoster: five children of jules-ferry enrolled on Thursdays (E1,
// E2, E3, E4 and E6, known by its card number only), E5 enrolled on
// Wednesdays only, P1 of another site, two staff.
func canteenRoster(tb testing.TB) *roster.Snapshot {
	return snapshot(tb, testDay,
		kid("E1", "0A00000001", site, "standard", "lu ma me je ve", 0),
		kid("E2", "0A00000002", site, "sans-porc", "lu ma je ve", 0),
		kid("E3", "0A00000003", site, "standard", "lu ma je ve", 0),
		kid("E4", "0A00000004", site, "vegetarien", "lu ma je ve", 0),
		kid("E5", "0A00000005", site, "standard", "me", 0),
		kidByCard("E6", "0006102437", site), // scanned as 13005D1DA5
		kid("P1", "0B00000001", other, "standard", "lu ma je ve", 0),
		agent("S1", "0C00000001", site),
		agent("S2", "0C00000002", site),
	)
}

// lunch is a canteen service at jules-ferry on the test day.
func lunch() []Scan {
	return []Scan{
		canteen("0A00000001", "11:30"),
		canteen("0A00000001", "11:31"), // duplicate
		canteen("0A00000002", "11:32"),
		canteen("13005D1DA5", "11:33"), // E6, by the low 32 bits of the card number
		canteen("0A00000005", "11:34"), // not enrolled on Thursdays: unexpected
		canteen("0B00000001", "11:35"), // child of another site: unexpected
		voided(canteen("0A00000004", "11:36")),
		canteen("0C00000001", "11:40"), // staff meal
		canteen("FFFF000001", "11:41"), // unknown
		canteen("FFFF000001", "11:42"), // the same unknown badge
		canteen("0A00000001", "12:10"), // duplicate
		canteen("0C00000001", "12:15"), // staff again: not a child duplicate
		canteen("FFFF000002", "12:20"), // another unknown
		voided(canteen("0A00000003", "12:30")),
		garderie("0A00000003", "16:00"), // not a canteen scan
	}
}

func TestCanteenCounts(t *testing.T) {
	snap := canteenRoster(t)
	expectedAll := map[string]int{"standard": 3, "sans-porc": 1, "vegetarien": 1}
	lunchByRegime := map[string]int{"standard": 4, "sans-porc": 1}
	tests := []struct {
		name    string
		scans   []Scan
		roster  *roster.Snapshot
		closed  bool
		absent  map[string]bool
		want    CanteenCounts
		served  []string // person ids by first scan
		missing []string // Detail.Canteen.Absent
		unexp   []string
		unknown []string
	}{
		{
			name:    "no scan: everyone enrolled is expected and absent",
			roster:  snap,
			want:    CanteenCounts{ByRegime: map[string]int{}, Expected: 5, ExpectedByRegime: expectedAll, Absent: 5},
			missing: []string{"E1", "E2", "E3", "E4", "E6"},
		},
		{
			name:   "a lunch service",
			scans:  lunch(),
			roster: snap,
			want: CanteenCounts{Meals: 5, StaffMeals: 1, ByRegime: lunchByRegime, Expected: 5, ExpectedByRegime: expectedAll,
				Absent: 2, Unexpected: 2, UnknownBadges: 2, Duplicates: 2},
			served:  []string{"E1", "E2", "E6", "E5", "P1"},
			missing: []string{"E3", "E4"},
			unexp:   []string{"E5", "P1"},
			unknown: []string{"FFFF000001", "FFFF000002"},
		},
		{
			name:   "declared absences lower expected; an absent child served is unexpected",
			scans:  lunch(),
			roster: snap,
			absent: map[string]bool{"E2": true, "E3": true, "E4": true, "E5": true, "NOBODY": true, "E1": false},
			want: CanteenCounts{Meals: 5, StaffMeals: 1, ByRegime: lunchByRegime, Expected: 2, ExpectedByRegime: map[string]int{"standard": 2},
				Absent: 0, Unexpected: 3, UnknownBadges: 2, Duplicates: 2},
			served:  []string{"E1", "E2", "E6", "E5", "P1"},
			unexp:   []string{"E2", "E5", "P1"},
			unknown: []string{"FFFF000001", "FFFF000002"},
		},
		{
			name:   "closed day: nobody expected, every meal unexpected",
			scans:  lunch(),
			roster: snap,
			closed: true,
			want: CanteenCounts{Meals: 5, StaffMeals: 1, ByRegime: lunchByRegime, Expected: 0, ExpectedByRegime: map[string]int{},
				Absent: 0, Unexpected: 5, UnknownBadges: 2, Duplicates: 2},
			served:  []string{"E1", "E2", "E6", "E5", "P1"},
			unexp:   []string{"E1", "E2", "E6", "E5", "P1"},
			unknown: []string{"FFFF000001", "FFFF000002"},
		},
		{
			name:   "empty roster: every badge unknown, listed, none dropped",
			scans:  lunch(),
			roster: nil,
			want: CanteenCounts{ByRegime: map[string]int{}, ExpectedByRegime: map[string]int{},
				UnknownBadges: 8},
			unknown: []string{"0A00000001", "0A00000002", "0A00000005", "0B00000001", "0C00000001", "13005D1DA5", "FFFF000001", "FFFF000002"},
		},
		{
			name:   "voided first scan: the next one is the meal",
			scans:  []Scan{voided(canteen("0A00000001", "11:30")), canteen("0A00000001", "11:45"), voided(canteen("0A00000001", "11:50"))},
			roster: snap,
			want: CanteenCounts{Meals: 1, ByRegime: map[string]int{"standard": 1}, Expected: 5, ExpectedByRegime: expectedAll,
				Absent: 4},
			served:  []string{"E1"},
			missing: []string{"E2", "E3", "E4", "E6"},
		},
		{
			name: "a meal added by a correction for a forgotten badge",
			scans: []Scan{canteen("0A00000001", "11:30"), correction("c1", "E3", "canteen", "auto", at("11:40")),
				correction("c2", "E1", "canteen", "auto", at("11:41"))},
			roster: snap,
			want: CanteenCounts{Meals: 2, ByRegime: map[string]int{"standard": 2}, Expected: 5, ExpectedByRegime: expectedAll,
				Absent: 3, Duplicates: 1},
			served:  []string{"E1", "E3"},
			missing: []string{"E2", "E4", "E6"},
		},
		{
			name: "scans of another local day are not counted",
			scans: []Scan{
				{ID: "x1", Badge: "0A00000001", Service: "canteen", Dir: "auto", At: local(noumea, testDay.AddDays(1), "00:05")},
				{ID: "x2", Badge: "0A00000002", Service: "canteen", Dir: "auto", At: local(noumea, testDay.AddDays(-1), "23:55")},
			},
			roster:  snap,
			want:    CanteenCounts{ByRegime: map[string]int{}, Expected: 5, ExpectedByRegime: expectedAll, Absent: 5},
			missing: []string{"E1", "E2", "E3", "E4", "E6"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Scans: tt.scans, Roster: tt.roster,
				Closed: tt.closed, Absent: tt.absent, Now: at("14:00")})
			if !reflect.DeepEqual(res.Canteen, tt.want) {
				t.Errorf("canteen\n got %+v\nwant %+v", res.Canteen, tt.want)
			}
			cd := res.Detail.Canteen
			ids := func(ss []Served) []string {
				var out []string
				for _, s := range ss {
					out = append(out, s.PersonID)
				}
				return out
			}
			var missing []string
			for _, p := range cd.Absent {
				missing = append(missing, p.PersonID)
			}
			check := func(what string, got, want []string) {
				if !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("served", ids(cd.Served), tt.served)
			check("absent", missing, tt.missing)
			check("unexpected", ids(cd.Unexpected), tt.unexp)
			check("unknown badges", cd.UnknownBadges, append([]string{}, tt.unknown...))
			if got := slices.Sorted(maps.Keys(tt.absent)); tt.absent != nil {
				var declared []string
				for _, id := range got {
					if tt.absent[id] {
						declared = append(declared, id)
					}
				}
				check("declared absent", cd.DeclaredAbsent, declared)
			}
		})
	}
}

func TestCanteenDetail(t *testing.T) {
	snap := canteenRoster(t)
	res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Scans: lunch(), Roster: snap, Now: at("14:00")})
	wantKinds := []Kind{KindMeal, KindDuplicate, KindMeal, KindMeal, KindMeal, KindMeal, KindVoided, KindStaffMeal,
		KindUnknown, KindUnknown, KindDuplicate, KindStaffMealDuplicate, KindUnknown, KindVoided, KindIn}
	if got := kinds(res); !slices.Equal(got, wantKinds) {
		t.Errorf("kinds\n got %v\nwant %v", got, wantKinds)
	}
	e1 := res.Detail.Canteen.Served[0]
	if e1.PersonID != "E1" || !e1.First.Equal(at("11:30")) || e1.Scans != 3 || !e1.Expected || e1.Person.Regime != "standard" {
		t.Errorf("E1 served = %+v", e1)
	}
	if s := res.Detail.Scans[3]; s.Person == nil || s.Person.PersonID != "E6" {
		t.Errorf("13005D1DA5 resolved to %v, want E6 (card number 0006102437)", s.Person)
	}
	if s := res.Detail.Scans[6]; s.Person == nil || s.Person.PersonID != "E4" || s.Kind != KindVoided {
		t.Errorf("voided scan = %+v, want listed with its person", s)
	}
	if got := res.Detail.Canteen.Enrolled; got != 5 {
		t.Errorf("enrolled = %d, want 5", got)
	}
	if sm := res.Detail.Canteen.StaffMeals; len(sm) != 1 || sm[0].PersonID != "S1" || sm[0].Scans != 2 {
		t.Errorf("staff meals = %+v", sm)
	}
	wantUnknown := []UnknownBadge{
		{Service: "canteen", Badge: "FFFF000001", Scans: 2, First: at("11:41"), Last: at("11:42")},
		{Service: "canteen", Badge: "FFFF000002", Scans: 1, First: at("12:20"), Last: at("12:20")},
	}
	if !reflect.DeepEqual(res.Detail.Unknown, wantUnknown) {
		t.Errorf("unknown = %+v", res.Detail.Unknown)
	}
}

func TestReviewCount(t *testing.T) {
	snap := canteenRoster(t)
	scans := []Scan{
		review(canteen("0A00000001", "11:30")),
		review(canteen("FFFF00000A", "11:31")),
		voided(review(canteen("0A00000002", "11:32"))),
		review(clock("0C00000001", "07:00")),
		canteen("0A00000003", "11:33"),
	}
	res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Scans: scans, Roster: snap, Now: at("14:00")})
	if res.Detail.Review != 3 {
		t.Errorf("review = %d, want 3 (voided scans need no review)", res.Detail.Review)
	}
	for _, s := range res.Detail.Scans {
		if s.Review != slices.ContainsFunc(scans, func(x Scan) bool { return x.ID == s.ID && x.Review }) {
			t.Errorf("scan %s: review flag not passed through", s.ID)
		}
	}
}

// TestNoumeaDay: UTC midnight is 11:00 in Nouméa, in the middle of lunch.
// A scan at 10:59 local (23:59 UTC the day before) and one at 11:01 local
// count on the same Nouméa day.
func TestNoumeaDay(t *testing.T) {
	snap := canteenRoster(t)
	before := time.Date(2026, time.November, 25, 23, 59, 0, 0, time.UTC) // 10:59 on the 26th in Nouméa
	after := time.Date(2026, time.November, 26, 0, 1, 0, 0, time.UTC)    // 11:01 on the 26th in Nouméa
	next := time.Date(2026, time.November, 26, 13, 0, 0, 0, time.UTC)    // 00:00 on the 27th in Nouméa
	scans := []Scan{
		{ID: "a", Badge: "0A00000001", Service: "canteen", Dir: "auto", At: before},
		{ID: "b", Badge: "0A00000002", Service: "canteen", Dir: "auto", At: after},
		{ID: "c", Badge: "0A00000003", Service: "canteen", Dir: "auto", At: next},
	}
	from, to := DayBounds(testDay, noumea)
	if want := time.Date(2026, time.November, 25, 13, 0, 0, 0, time.UTC); !from.Equal(want) || !to.Equal(want.Add(24*time.Hour)) {
		t.Errorf("DayBounds = %s, %s; want %s and 24 h later", from.UTC(), to.UTC(), want)
	}
	for _, loc := range []*time.Location{noumea, nil} {
		name := "Pacific/Noumea"
		if loc == nil {
			name = "nil location (DefaultLocation)"
		}
		t.Run(name, func(t *testing.T) {
			res := Compute(Input{Site: site, Day: testDay, Loc: loc, Scans: scans, Roster: snap, Now: after})
			if res.Canteen.Meals != 2 {
				t.Errorf("meals = %d, want 2", res.Canteen.Meals)
			}
			if got := kinds(res); !slices.Equal(got, []Kind{KindMeal, KindMeal, KindOtherDay}) {
				t.Errorf("kinds = %v", got)
			}
		})
	}
	// The UTC day of the scan at 10:59 local is the 25th: counting the 25th
	// in Nouméa must not see it.
	res := Compute(Input{Site: site, Day: testDay.AddDays(-1), Loc: noumea, Scans: scans[:1], Roster: snap})
	if res.Canteen.Meals != 0 {
		t.Errorf("scan at 10:59 Nouméa counted on the UTC day")
	}
}
