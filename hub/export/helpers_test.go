package export

import (
	"pointage/internal/civil"
	"testing"
	"time"
	_ "time/tzdata" // Pacific/Noumea on any machine
)

func noumea(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func day(d int) civil.Date { return civil.Date{Year: 2026, Month: time.November, Day: d} }

// at is a local time in Nouméa on 2026-11-d.
func at(t testing.TB, d, h, m int) time.Time {
	return time.Date(2026, time.November, d, h, m, 0, 0, noumea(t))
}

func atp(t testing.TB, d, h, m int) *time.Time {
	v := at(t, d, h, m)
	return &v
}

var generated = time.Date(2026, time.December, 1, 21, 30, 0, 0, time.UTC) // 02/12/2026 08:30 in Nouméa

// The fixtures come unsorted, with what a roster file may hold: accents,
// a name that is a formula, a semicolon and a quote in fields.
func mealsFixture(t testing.TB) Export {
	return Export{
		Kind: Meals, Month: "2026-11", Loc: noumea(t), GeneratedAt: generated,
		Meals: []MealRow{
			{Date: day(24), Site: "ecole-b", PersonID: "P010", LastName: "Martin", FirstName: "Léa", FamilyID: "F01", Class: "CP", Regime: "standard", Status: StatusExpected},
			{Date: day(24), Site: "ecole-a", PersonID: "P002", LastName: "Émery", FirstName: "Zoé", FamilyID: "F02", Class: "CE1; groupe B", Regime: "sans-porc", Status: StatusOccasional, Review: true},
			{Date: day(23), Site: "ecole-a", PersonID: "P003", LastName: `=HYPERLINK("http://x.example","clic")`, FirstName: "Bob", FamilyID: `F"03`, Class: "CM1", Regime: "vegetarien", Status: StatusExpected, Corrected: true},
			{Date: day(24), Site: "ecole-a", PersonID: "P001", LastName: "Dupont", FirstName: "Élodie", Class: "CP", Regime: "pai", Status: StatusExpected},
			{Date: day(24), Site: "ecole-a", PersonID: "P004", LastName: "dupont", FirstName: "Emma", FamilyID: "F04", Class: "CP", Regime: "standard", Status: StatusExpected},
			{Date: day(23), Site: "ecole-b", PersonID: "P011", LastName: "Nguyen", FirstName: "Van", FamilyID: "F05", Class: "+CM2", Regime: "standard", Status: StatusOccasional},
		},
	}
}

func garderieFixture(t testing.TB) Export {
	return Export{
		Kind: Garderie, Month: "2026-11", Loc: noumea(t), GeneratedAt: generated,
		Garderie: []GarderieRow{
			{Date: day(24), Site: "ecole-a", Session: SessionEvening, PersonID: "P001", LastName: "Dupont", FirstName: "Élodie", Class: "CP",
				In: at(t, 24, 15, 5), StillPresent: true, Review: true},
			{Date: day(24), Site: "ecole-a", Session: SessionMorning, PersonID: "P001", LastName: "Dupont", FirstName: "Élodie", Class: "CP",
				In: at(t, 24, 6, 45), Out: atp(t, 24, 7, 30), Duration: 45 * time.Minute},
			{Date: day(24), Site: "ecole-a", Session: SessionEvening, PersonID: "P002", LastName: "Émery", FirstName: "Zoé", FamilyID: "F02", Class: "CE1; groupe B",
				In: at(t, 24, 15, 0), Out: atp(t, 24, 17, 52), Duration: 2*time.Hour + 52*time.Minute, Late: true},
			{Date: day(23), Site: "ecole-b", Session: "atelier-théâtre", PersonID: "P010", LastName: "Martin", FirstName: "Léa", FamilyID: "F01", Class: "CP",
				In: at(t, 23, 16, 0), Out: ptr(at(t, 23, 17, 0).Add(40 * time.Second)), Duration: time.Hour + 40*time.Second},
			// Checked out by staff the next morning: the day must show.
			{Date: day(25), Site: "ecole-b", Session: SessionEvening, PersonID: "P011", LastName: "Nguyen", FirstName: "Van", FamilyID: "F05", Class: "-",
				In: at(t, 25, 17, 30), Out: atp(t, 26, 7, 0), Duration: 13*time.Hour + 30*time.Minute, Review: true},
		},
	}
}

func staffFixture(t testing.TB) Export {
	return Export{
		Kind: Staff, Month: "2026-11", Loc: noumea(t), GeneratedAt: generated,
		Staff: []StaffRow{
			{Date: day(24), Site: "ecole-a", PersonID: "S01", LastName: "Leroy", FirstName: "Anne",
				Pairs: []Pair{{In: at(t, 24, 7, 2), Out: atp(t, 24, 11, 30)}, {In: at(t, 24, 12, 15), Out: atp(t, 24, 16, 5)}},
				Hours: 8*time.Hour + 18*time.Minute},
			{Date: day(24), Site: "ecole-a", PersonID: "S02", LastName: "Petit", FirstName: "Marc",
				Pairs: []Pair{{In: at(t, 24, 7, 0)}}, Flags: []string{FlagMissingClockOut, FlagReview}},
			{Date: day(23), Site: "ecole-b", PersonID: "S03", LastName: "Moreau; dit Max", FirstName: "-Jean",
				Pairs: []Pair{{In: at(t, 23, 6, 30), Out: atp(t, 23, 14, 0)}}, Hours: 7*time.Hour + 30*time.Minute, Flags: []string{FlagCorrected}},
			{Date: day(23), Site: "ecole-a", PersonID: "S01", LastName: "Leroy", FirstName: "Anne",
				Pairs: []Pair{{In: at(t, 23, 7, 0), Out: atp(t, 23, 15, 0)}}, Hours: 8 * time.Hour},
		},
	}
}

func fixture(t testing.TB, k Kind) Export {
	switch k {
	case Meals:
		return mealsFixture(t)
	case Garderie:
		return garderieFixture(t)
	}
	return staffFixture(t)
}
