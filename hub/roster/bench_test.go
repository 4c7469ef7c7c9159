package roster

import (
	"context"
	"fmt"
	"pointage/internal/civil"
	"strings"
	"testing"
)

func manyPeople(n int) []Person {
	people := make([]Person, n)
	for i := range people {
		p := child(fmt.Sprintf("E%05d", i), fmt.Sprintf("13%08X", i*7919), []string{"standard", "sans-porc", "vegetarien", "pai"}[i%4])
		p.Site = fmt.Sprintf("ecole-%02d", i%60)
		p.LastName, p.FirstName, p.FamilyID = fmt.Sprintf("Nom%05d", i), "Prénom", fmt.Sprintf("F%05d", i/2)
		if i%10 == 0 {
			p.Role = RoleStaff
		}
		people[i] = p
	}
	return people
}

// BenchmarkImport10k: a first import of 10,000 people into an empty roster.
func BenchmarkImport10k(b *testing.B) {
	people := manyPeople(10000)
	for b.Loop() {
		b.StopTimer()
		r, _ := openDB(b)
		b.StartTimer()
		if _, err := r.Import(context.Background(), people, civil.Date{Year: 2026, Month: 3, Day: 2}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReimport10kUnchanged: the same 10,000 people again.
func BenchmarkReimport10kUnchanged(b *testing.B) {
	people := manyPeople(10000)
	r, _ := openDB(b)
	if _, err := r.Import(context.Background(), people, civil.Date{Year: 2026, Month: 3, Day: 2}, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if res, err := r.Import(context.Background(), people, civil.Date{Year: 2026, Month: 3, Day: 3}, nil); err != nil || res.Unchanged != 10000 {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkReimport10kAllChanged: every one of 10,000 people changes (a
// new school year), from a later day each time.
func BenchmarkReimport10kAllChanged(b *testing.B) {
	people := manyPeople(10000)
	r, _ := openDB(b)
	from := civil.Date{Year: 2026, Month: 3, Day: 2}
	if _, err := r.Import(context.Background(), people, from, nil); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		for j := range people {
			people[j].Class = fmt.Sprintf("C%d", i)
		}
		from = from.AddDays(1)
		if res, err := r.Import(context.Background(), people, from, nil); err != nil || res.Changed != 10000 {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkAsOf10kUncached: loading a day's snapshot of 10,000 people.
func BenchmarkAsOf10kUncached(b *testing.B) {
	r, _ := openDB(b)
	if _, err := r.Import(context.Background(), manyPeople(10000), civil.Date{Year: 2026, Month: 3, Day: 2}, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.load(context.Background(), civil.Date{Year: 2026, Month: 6, Day: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAsOfCached: the hub asking for today again.
func BenchmarkAsOfCached(b *testing.B) {
	r, _ := openDB(b)
	if _, err := r.Import(context.Background(), manyPeople(10000), civil.Date{Year: 2026, Month: 3, Day: 2}, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.AsOf(context.Background(), civil.Date{Year: 2026, Month: 6, Day: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	people := manyPeople(10000)
	for i := 0; i < len(people); i += 3 { // a third known by their 8H10D number
		v, _, _ := hexLow32(people[i].Match.Badge)
		people[i].Match = Match{fmt.Sprintf("%08X", v), MatchLow32}
	}
	ix := NewIndex(people)
	scans := []string{"130000F755", "1300012F1E", "FFFFFFFFFF", "ELEVE-0042"}
	for i := 0; b.Loop(); i++ {
		ix.Lookup(scans[i%len(scans)])
	}
}

func BenchmarkParse10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(header + ";card_number;family_id\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, "13%08X;E%05d;child;Nom%05d;Prénom;ecole-%02d;CP;sans porc;lu ma je ve;matin+soir;;F%05d\n", i*7919, i, i, i%60, i/2)
	}
	data := sb.String()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := Parse(strings.NewReader(data))
		if err != nil || len(res.People) != 10000 {
			b.Fatal(err, res.Errors[:1])
		}
	}
}
