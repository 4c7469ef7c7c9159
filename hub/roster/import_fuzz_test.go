package roster

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"pointage/internal/testenv"
)

// FuzzImport drives the whole roster path on a real hub.db: arbitrary bytes
// as a roster CSV go through Parse and, when the file is accepted, its
// people are imported into a roster on SQLite. A parsed roster must always
// be importable; afterwards, on the import day, the roster holds exactly
// the imported people, each found again by person id and by badge with the
// data the file gave, and the import's figures add up.
//
// The database is opened once, before f.Fuzz. Each input imports from a
// later day than the one before (a process-wide counter), so no import is
// ever backdated and the expectations hold whatever earlier inputs left.
func FuzzImport(f *testing.F) {
	head, row := fuzzHead, fuzzRow
	for _, s := range append(parseSeeds,
		// A byte-order mark, two people.
		"\xef\xbb\xbf"+head+row+"0A00000002;E002;staff;Kaloi;Marc;pasteur;;standard;;;\n",
		// CRLF line ends.
		strings.ReplaceAll(head+row+"0A00000002;E002;child;Kaloi;Marc;pasteur;CE1;sans-porc;lu ma;matin+soir;F13\n", "\n", "\r\n"),
		// ','-separated, card numbers (8H10D, Wiegand).
		strings.ReplaceAll(head, ";", ",")+"0A00000001,E001,child,Wamytan,Léa,jules-ferry,CP,standard,lu ma me je ve,soir,F12\n"+
			"0005393570,E002,child,Kaloi,Marc,jules-ferry,CP,standard,lu,,\n"+"082,31522,E003,child,Gope,Ana,pasteur,CM2,standard,,,\n",
		"badge,person_id,role,last_name,first_name,site,class,regime,canteen_days,garderie,card_number\n"+
			"0A00000001,E001,child,Wamytan,Léa,jules-ferry,CP,standard,lu,,0005393570\n",
		// A duplicate person id.
		head+row+"0A00000002;E001;child;Autre;Zoé;jules-ferry;CP;standard;lu;;\n",
		// A NUL byte in a cell.
		head+"0A00000001;E001;child;Wam\x00ytan;Léa;jules-ferry;CP;standard;lu;;\n",
		head+"0A00000001;E\x00001;child;Wamytan;Léa;jules-ferry;CP;standard;lu;;\n",
		// A 64 KiB cell.
		head+"0A00000001;E001;child;"+strings.Repeat("W", 64<<10)+";Léa;jules-ferry;CP;standard;lu;;\n"+"0A00000002;E002;child;X;Y;jules-ferry;CP;standard;lu;;\n",
		// The same person, changed (an import after the one of the first seed).
		head+"0A00000009;E001;staff;Wamytan;Léa;pasteur;;standard;;;\n",
		"sep=,\nbadge,person_id,role,last_name,first_name,site,class,regime,canteen_days,garderie\n0A00000001,E001,child,\"Wa;my\"\"tan\",Léa,jules-ferry,CP,standard,lu,\n",
	) {
		f.Add([]byte(s))
	}

	ctx := context.Background()
	// Each import writes and fsyncs: on tmpfs the fuzzer runs much faster.
	r := openDBAt(f, filepath.Join(testenv.FastDir(f), "hub.db"))
	from := day(f, "2000-01-01")

	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data))
		if err != nil {
			if res != nil {
				t.Fatalf("Parse: an error and a result: %v", err)
			}
			return
		}
		if res == nil {
			t.Fatalf("Parse: neither an error nor a result")
		}
		for _, p := range res.People {
			if err := p.Validate(); err != nil {
				t.Fatalf("Parse returned a person that does not validate: %+v: %v", p, err)
			}
		}
		from = from.AddDays(1) // later than every earlier import
		ir, err := r.Import(ctx, res.People, from, nil)
		if err != nil {
			t.Fatalf("a parsed roster (%d people) is not importable from %s: %v", len(res.People), from, err)
		}
		if n := ir.Added + ir.Changed + ir.Unchanged; n != len(res.People) {
			t.Fatalf("import of %d people: added %d + changed %d + unchanged %d = %d", len(res.People), ir.Added, ir.Changed, ir.Unchanged, n)
		}
		s, err := r.AsOf(ctx, from)
		if err != nil {
			t.Fatalf("AsOf %s: %v", from, err)
		}
		if got := len(s.People()); got != len(res.People) {
			t.Fatalf("on %s the roster has %d people, the import had %d", from, got, len(res.People))
		}
		for _, p := range res.People {
			got, ok := s.Person(p.PersonID)
			if !ok {
				t.Fatalf("person %q imported from %s, not found on that day", p.PersonID, from)
			}
			if !got.sameAs(p) {
				t.Fatalf("person %q stored as\n%+v\nimported as\n%+v", p.PersonID, *got, p)
			}
			byBadge, ok := s.Lookup(p.Match.Badge)
			if !ok || byBadge.PersonID != p.PersonID {
				who := "no one"
				if ok {
					who = byBadge.PersonID
				}
				t.Fatalf("badge %s of person %q finds %s on %s", p.Match, p.PersonID, who, from)
			}
		}
	})
}
