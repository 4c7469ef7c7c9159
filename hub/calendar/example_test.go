package calendar_test

import (
	"fmt"

	"pointage/hub/calendar"
	"pointage/internal/civil"
)

func ExampleCalendar_Closed() {
	cal, err := calendar.Parse([]byte(`
closed:
  - {from: 2026-12-19, to: 2027-02-14, reason: "Grandes vacances"}
  - {date: 2026-11-27, sites: [jules-ferry], reason: "Grève"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, q := range []struct {
		site, day string
	}{{"jules-ferry", "2026-11-27"}, {"pierre-loti", "2026-11-27"}, {"pierre-loti", "2027-01-04"}} {
		d, _ := civil.ParseDate(q.day)
		closed, reason := cal.Closed(q.site, d)
		fmt.Printf("%s %s %v %q\n", q.site, q.day, closed, reason)
	}
	// Output:
	// jules-ferry 2026-11-27 true "Grève"
	// pierre-loti 2026-11-27 false ""
	// pierre-loti 2027-01-04 true "Grandes vacances"
}
