package civil

import (
	"testing"
	"time"
)

func mustDate(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDate(t *testing.T) {
	d := mustDate(t, "2026-02-28")
	if d.AddDays(1).String() != "2026-03-01" || d.AddDays(-59).String() != "2025-12-31" {
		t.Error("AddDays")
	}
	if !d.Before(mustDate(t, "2026-03-01")) || d.Before(d) || !MaxDate.After(d) || MinDate.String() != "0001-01-01" {
		t.Error("order")
	}
	if d.Weekday() != time.Saturday {
		t.Error("weekday")
	}
	noumea := time.FixedZone("Pacific/Noumea", 11*3600)
	if got := DateOf(time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC).In(noumea)); got.String() != "2026-11-24" {
		t.Errorf("DateOf Nouméa = %s", got)
	}
	for _, bad := range []string{"2026-02-30", "26-02-01", "2026/02/01", ""} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	if (Date{Year: 2026, Month: 2, Day: 30}).Valid() || (Date{}).Valid() {
		t.Error("Valid")
	}
}

func TestMonth(t *testing.T) {
	m, err := ParseMonth("2028-02")
	if err != nil || m.String() != "2028-02" || m.Days() != 29 || m.First().String() != "2028-02-01" || m.French() != "février 2028" {
		t.Errorf("ParseMonth(2028-02) = %v %v: days %d, first %s, %q", m, err, m.Days(), m.First(), m.French())
	}
	if MonthOf(mustDate(t, "2026-12-31")).Days() != 31 {
		t.Error("MonthOf")
	}
	for _, bad := range []string{"0000-01", "2026-13", "2026-1", "2026-11-01", ""} {
		if _, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		}
	}
}
