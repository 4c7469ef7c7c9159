package calendar

import (
	"errors"
	"os"
	"path/filepath"
	"pointage/internal/civil"
	"strings"
	"testing"
	"time"

	_ "time/tzdata"
)

func day(t *testing.T, s string) civil.Date {
	t.Helper()
	d, err := civil.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const sample = `timezone: Pacific/Noumea   # optional
closed:
  - {from: 2026-12-19, to: 2027-02-15, reason: "Grandes vacances"}     # city-wide
  - {date: 2026-11-11, reason: "Armistice"}
  - {date: 2026-11-27, sites: [jules-ferry], reason: "Grève"}
  - {date: "2026-11-30", sites: [jules-ferry, pierre-loti]}
`

func TestClosed(t *testing.T) {
	c, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Timezone(); got != "Pacific/Noumea" {
		t.Errorf("Timezone() = %q", got)
	}
	tests := []struct {
		name, site, day string
		closed          bool
		reason          string
	}{
		{"city-wide range, first day", "jules-ferry", "2026-12-19", true, "Grandes vacances"},
		{"city-wide range, across new year", "pierre-loti", "2027-01-01", true, "Grandes vacances"},
		{"city-wide range, last day included", "any-site", "2027-02-15", true, "Grandes vacances"},
		{"day before the range", "jules-ferry", "2026-12-18", false, ""},
		{"day after the range", "jules-ferry", "2027-02-16", false, ""},
		{"single day city-wide", "pierre-loti", "2026-11-11", true, "Armistice"},
		{"single day, site listed", "jules-ferry", "2026-11-27", true, "Grève"},
		{"single day, other site open", "pierre-loti", "2026-11-27", false, ""},
		{"quoted date, second site, no reason", "pierre-loti", "2026-11-30", true, ""},
		{"ordinary school day", "jules-ferry", "2026-11-28", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closed, reason := c.Closed(tt.site, day(t, tt.day))
			if closed != tt.closed || reason != tt.reason {
				t.Errorf("Closed(%s, %s) = %v, %q; want %v, %q", tt.site, tt.day, closed, reason, tt.closed, tt.reason)
			}
		})
	}
}

func TestNothingClosedByDefault(t *testing.T) {
	var nilCal *Calendar
	empty, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	onlyTZ, err := Parse([]byte("timezone: Europe/Paris\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Calendar{"nil": nilCal, "empty file": empty, "timezone only": onlyTZ, "zero value": {}} {
		t.Run(name, func(t *testing.T) {
			for d := day(t, "2026-01-01"); d.Before(day(t, "2027-01-01")); d = d.AddDays(1) {
				if closed, _ := c.Closed("jules-ferry", d); closed {
					t.Fatalf("%s closed", d)
				}
			}
			if len(c.Closures()) != 0 {
				t.Errorf("Closures() = %v", c.Closures())
			}
		})
	}
	if nilCal.Timezone() != "" || empty.Timezone() != "" {
		t.Error("a calendar without timezone has one")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // every fragment must be in the error
	}{
		{"bad day", "closed:\n  - {date: 2026-02-30, reason: x}\n", []string{"closed entry 1", "line 2", `date "2026-02-30"`}},
		{"not a date", "closed:\n  - {date: 11/11/2026}\n", []string{"closed entry 1", "date", "YYYY-MM-DD"}},
		{"to before from", "closed:\n  - {date: 2026-11-11}\n  - {from: 2026-12-19, to: 2026-12-01}\n", []string{"closed entry 2", "line 3", "to: 2026-12-01 is before from 2026-12-19"}},
		{"range without to", "closed:\n  - {from: 2026-12-19}\n", []string{"closed entry 1", "to: missing"}},
		{"range without from", "closed:\n  - {to: 2026-12-19}\n", []string{"closed entry 1", "from: missing"}},
		{"no date at all", "closed:\n  - {reason: Grève}\n", []string{"closed entry 1", "date: missing"}},
		{"date and range", "closed:\n  - {date: 2026-11-11, from: 2026-11-11, to: 2026-11-12}\n", []string{"closed entry 1", "either date, or from and to"}},
		{"more than a year", "closed:\n  - {from: 2026-01-01, to: 2027-06-01}\n", []string{"closed entry 1", "more than a year"}},
		{"bad site", "closed:\n  - {date: 2026-11-27, sites: [Jules Ferry]}\n", []string{"closed entry 1", `sites: "Jules Ferry"`}},
		{"empty site list", "closed:\n  - {date: 2026-11-27, sites: []}\n", []string{"closed entry 1", "sites: empty list"}},
		{"misspelt sites", "closed:\n  - {date: 2026-11-27, site: jules-ferry}\n", []string{`unknown field "site"`, "line 2"}},
		{"unknown top-level key", "closd:\n  - {date: 2026-11-27}\n", []string{"closd"}},
		{"entry not a mapping", "closed:\n  - 2026-11-27\n", []string{"line 2", "mapping"}},
		{"bad timezone", "timezone: Nowhere/Noumea\n", []string{`timezone "Nowhere/Noumea"`}},
		{"two bad entries both reported", "closed:\n  - {date: 2026-13-01}\n  - {date: 2026-11-11}\n  - {from: 2026-05-02, to: 2026-05-01}\n", []string{"closed entry 1", "closed entry 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse = %v, want an error", c.Closures())
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "calendar.yaml")
	if err := os.WriteFile(good, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Closures()); got != 4 {
		t.Errorf("%d closures, want 4", got)
	}
	if cl := c.Closures()[2]; cl.Line != 5 || cl.Reason != "Grève" || len(cl.Sites) != 1 {
		t.Errorf("third closure = %+v", cl)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("closed:\n  - {date: 2026-02-30}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "closed entry 1") {
		t.Errorf("Load(bad) = %v, want an error naming the file and the entry", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load(missing) succeeded")
	}
}

// easter returns Easter Sunday (anonymous Gregorian algorithm).
func easter(year int) civil.Date {
	a, b, c := year%19, year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	return civil.Date{Year: year, Month: time.Month(month), Day: (h+l-7*m+114)%31 + 1}
}

// TestNewCaledoniaExample checks the shipped example: it parses, every
// public holiday of New Caledonia is closed in 2026 and 2027 (the moving
// ones computed from Easter), the school year's structure holds (summer
// holidays in January, about two weeks of holidays in April, June/July and
// September/October) and ordinary school days stay open.
func TestNewCaledoniaExample(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "firmware-config", "calendar-nc.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Timezone() != "Pacific/Noumea" {
		t.Errorf("timezone %q", c.Timezone())
	}
	for _, year := range []int{2026, 2027} {
		e := easter(year)
		holidays := map[string]civil.Date{
			"1 January":              {Year: year, Month: time.January, Day: 1},
			"Easter Monday":          e.AddDays(1),
			"1 May":                  {Year: year, Month: time.May, Day: 1},
			"8 May":                  {Year: year, Month: time.May, Day: 8},
			"Ascension":              e.AddDays(39),
			"Whit Monday":            e.AddDays(50),
			"14 July":                {Year: year, Month: time.July, Day: 14},
			"Fête de la Citoyenneté": {Year: year, Month: time.September, Day: 24},
			"1 November":             {Year: year, Month: time.November, Day: 1},
			"11 November":            {Year: year, Month: time.November, Day: 11},
			"25 December":            {Year: year, Month: time.December, Day: 25},
		}
		for name, d := range holidays {
			t.Run(d.String()+" "+name, func(t *testing.T) {
				// Listed as a day of its own, not only covered by holidays.
				found := false
				for _, cl := range c.Closures() {
					found = found || (cl.From == d && cl.To == d && len(cl.Sites) == 0)
				}
				if !found {
					t.Errorf("%s (%s) is not listed as a public holiday", name, d)
				}
			})
		}
		// closedWeekdays counts the closed weekdays and all weekdays.
		closedWeekdays := func(from, to civil.Date) (n, all int) {
			for d := from; !d.After(to); d = d.AddDays(1) {
				if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
					all++
					if closed, _ := c.Closed("any-site", d); closed {
						n++
					}
				}
			}
			return n, all
		}
		for _, p := range []struct {
			name     string
			from, to civil.Date
			min, max int // -1: every weekday
		}{
			{"January is summer holidays", civil.Date{Year: year, Month: 1, Day: 5}, civil.Date{Year: year, Month: 1, Day: 30}, -1, -1},
			{"April break", civil.Date{Year: year, Month: 3, Day: 15}, civil.Date{Year: year, Month: 5, Day: 15}, 10, 14},
			{"June/July break", civil.Date{Year: year, Month: 6, Day: 15}, civil.Date{Year: year, Month: 7, Day: 31}, 10, 12},
			{"September/October break", civil.Date{Year: year, Month: 9, Day: 15}, civil.Date{Year: year, Month: 10, Day: 31}, 10, 12},
			{"school resumes mid-February", civil.Date{Year: year, Month: 2, Day: 16}, civil.Date{Year: year, Month: 3, Day: 1}, 0, 0},
			{"summer holidays from mid-December", civil.Date{Year: year, Month: 12, Day: 21}, civil.Date{Year: year, Month: 12, Day: 31}, -1, -1},
		} {
			t.Run(p.name+" "+p.from.String(), func(t *testing.T) {
				n, all := closedWeekdays(p.from, p.to)
				lo, hi := p.min, p.max
				if lo < 0 {
					lo, hi = all, all
				}
				if n < lo || n > hi {
					t.Errorf("%d closed weekdays from %s to %s, want %d to %d", n, p.from, p.to, lo, hi)
				}
			})
		}
	}
	for _, open := range []string{"2026-03-10", "2026-11-12", "2026-11-26", "2027-11-25", "2027-05-18"} {
		if closed, reason := c.Closed("jules-ferry", day(t, open)); closed {
			t.Errorf("%s is closed (%s), want a school day", open, reason)
		}
	}
}
