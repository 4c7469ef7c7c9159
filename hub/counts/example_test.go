package counts_test

import (
	"encoding/json"
	"fmt"
	"time"

	"pointage/hub/counts"
	"pointage/internal/civil"
)

// A day counted with an empty roster: every badge is unknown, and listed.
func ExampleCompute() {
	day := civil.Date{Year: 2026, Month: time.November, Day: 26}
	lunch := time.Date(2026, time.November, 26, 11, 30, 0, 0, counts.DefaultLocation)
	res := counts.Compute(counts.Input{
		Site: "jules-ferry",
		Day:  day,
		Scans: []counts.Scan{
			{ID: "a", Badge: "13005D1DA5", Service: "canteen", Dir: "auto", At: lunch},
			{ID: "b", Badge: "13005D1DA5", Service: "canteen", Dir: "auto", At: lunch.Add(time.Minute)},
		},
		Now: lunch.Add(time.Hour),
	})
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	for _, s := range res.Detail.Scans {
		fmt.Println(s.ID, s.Kind)
	}
	// Output:
	// {"site":"jules-ferry","canteen":{"meals":0,"staff_meals":0,"by_regime":{},"expected":0,"expected_by_regime":{},"absent":0,"unexpected":0,"unknown_badges":1,"duplicates":0},"garderie":{"garderie-matin":{"children":0,"present":0},"garderie-soir":{"children":0,"present":0,"late":0}},"staff":{"present":0},"warnings":[]}
	// a unknown
	// b unknown
}
