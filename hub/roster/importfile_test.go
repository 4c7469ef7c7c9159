package roster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roster.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportFile(t *testing.T) {
	ctx := context.Background()
	r, _ := openDB(t)
	first := writeFile(t, "\ufeff"+header+";card_number\r\n"+
		"13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP;sans porc;lu ma je ve;matin;\r\n"+
		";E2;child;Dupont;Hugo;jules-ferry;CE1;;lu ma je ve;;0040856634\r\n"+
		"0B0012D687;E3;child;Nguyen;Élodie;jules-ferry;CM1;;lu ma je ve;soir;\r\n")
	var out strings.Builder
	res, pr, err := ImportFile(ctx, r, first, day(t, "2026-03-02"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts != (Counts{Added: 3}) || len(pr.People) != 3 {
		t.Fatalf("result %+v, parsed %d", res, len(pr.People))
	}
	if want := "added: 3, changed: 0, unchanged: 0, removed: 0, rejected rows: 0\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}

	// A later file: E1 changes garderie, E3's row has a typo (E3 must stay),
	// E2 is gone, E4 is new and one row is bad.
	second := writeFile(t, header+";card_number\n"+
		"13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP;sans-porc;lu ma je ve;matin+soir;\n"+
		"0B0012D687;E3;child;Nguyen;Élodie;jules-ferry;CM1;;lu ma jx ve;soir;\n"+
		";E4;child;Wamytan;Kévin;jules-ferry;CP;pai;lu ma je ve;;200,00001\n"+
		"0A00BC614E;E5;enfant;Tein;Noé;jules ferry;CP;;lu;;\n")
	out.Reset()
	res, pr, err = ImportFile(ctx, r, second, day(t, "2026-05-04"), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `line 3: canteen_days : « jx » n'est pas un jour (lu ma me je ve sa di, ou mon tue wed thu fri sat sun)
line 5: site « jules ferry » : ce n'est pas un identifiant d'école (lettres minuscules, chiffres et tirets, commençant par une lettre ou un chiffre, 63 caractères au plus, par ex. jules-ferry)
1 people not in this file are off the roster from 2026-05-04 (known before)
1 people whose row was rejected keep their current entry
added: 1, changed: 1, unchanged: 0, removed: 1, rejected rows: 2
`
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	if len(pr.Errors) != 2 || pr.Errors[0].Line != 3 || pr.Errors[1].Line != 5 {
		t.Errorf("errors %+v", pr.Errors)
	}
	s, err := r.AsOf(ctx, day(t, "2026-05-04"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Person("E3"); !ok {
		t.Error("E3, whose row was rejected, left the roster")
	}
	if _, ok := s.Person("E2"); ok {
		t.Error("E2 still on the roster")
	}
	if p, ok := s.Lookup("FFFFC80001"); !ok || p.PersonID != "E4" { // facility 200 = C8, card 1
		t.Errorf("E4's card (200,00001) does not resolve: %v", p)
	}
	if p, ok := s.Person("E1"); !ok || p.Garderie != GarderieMatin|GarderieSoir || p.Regime != "sans-porc" {
		t.Errorf("E1 = %+v", p)
	}
	if res.Changed != 1 {
		t.Errorf("sans porc and sans-porc are one diet: only the garderie changed, %+v", res)
	}
}

func TestImportFileRefusals(t *testing.T) {
	ctx := context.Background()
	r, _ := openDB(t)
	mustImport(t, r, []Person{child("E1", "13005D1DA5", "standard")}, "2026-03-02")
	tests := []struct {
		name, content string
		want          error
	}{
		{"missing column", "badge;person_id\nAA;B\n", ErrInvalidFile},
		{"no good row", header + "\n13005D1DA5;E1;kid;Dupont;Léa;jules-ferry;CP;;lu;;\n", ErrInvalidFile},
		{"header only", header + "\n", ErrInvalidFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			_, _, err := ImportFile(ctx, r, writeFile(t, tc.content), day(t, "2026-06-01"), &out)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if who(t, r, "2026-07-01", "E1") == nil {
				t.Fatal("a refused file changed the roster")
			}
		})
	}
	if _, _, err := ImportFile(ctx, r, filepath.Join(t.TempDir(), "missing.csv"), day(t, "2026-06-01"), &strings.Builder{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestImportFileProgress(t *testing.T) {
	r, _ := openDB(t)
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := range 2300 {
		fmt.Fprintf(&b, "13%08X;E%05d;child;Nom;Prénom;jules-ferry;CP;;lu ma je ve;;\n", i, i)
	}
	var out strings.Builder
	if _, _, err := ImportFile(context.Background(), r, writeFile(t, b.String()), day(t, "2026-03-02"), &out); err != nil {
		t.Fatal(err)
	}
	want := "importing 2300 people, changes from 2026-03-02\n1000/2300\n2000/2300\n2300/2300\n" +
		"added: 2300, changed: 0, unchanged: 0, removed: 0, rejected rows: 0\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	// Again: nothing to write, still one progress line at the end.
	out.Reset()
	if _, _, err := ImportFile(context.Background(), r, writeFile(t, b.String()), day(t, "2026-03-03"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "2300/2300\nadded: 0, changed: 0, unchanged: 2300, removed: 0, rejected rows: 0\n") {
		t.Errorf("output %q", out.String())
	}
}

// A dry run names who is added, changed (each field, before and after)
// and removed, the first MaxListed of each, and the import then does
// exactly that.
func TestDryRunDetails(t *testing.T) {
	ctx := context.Background()
	r, _ := openDB(t)
	var b strings.Builder
	b.WriteString(header + ";card_number\n")
	for i := range MaxListed + 30 {
		fmt.Fprintf(&b, "13%08X;E%04d;child;Nom;Prénom;jules-ferry;CP;;lu ma je ve;;\n", i, i)
	}
	first := parseString(t, b.String())
	res, err := r.ImportParsed(ctx, first, day(t, "2026-03-02"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != MaxListed+30 || len(res.AddedPeople) != MaxListed || res.AddedPeople[0].PersonID != "E0000" || res.AddedPeople[0].Line != 2 {
		t.Fatalf("first import: %+v, %d listed", res.Counts, len(res.AddedPeople))
	}

	// E0000 changes class, diet and gets its card number; E0001 is
	// unchanged; E0002's row is bad (kept); E0003 moves school; the others
	// are gone; E9000 is new.
	second := parseString(t, header+";card_number\n"+
		"1300000000;E0000;child;Nom;Prénom;jules-ferry;CE1;Végétarien;lu ma je ve;;0000000000\n"+
		"1300000001;E0001;child;Nom;Prénom;jules-ferry;CP;;lu ma je ve;;\n"+
		"1300000002;E0002;enfant;Nom;Prénom;jules ferry;CP;;lu ma je ve;;\n"+
		"1300000003;E0003;child;Nom;Prénom;pasteur;CP;;lu ma je ve;soir;\n"+
		"0A0000FFFF;E9000;staff;Tein;Marie;pasteur;;;;;\n")
	from := day(t, "2026-05-04")
	dry, err := r.DryRun(ctx, second, from)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := Counts{Added: 1, Changed: 2, Unchanged: 1, Removed: MaxListed + 30 - 4, Kept: 1}
	if dry.Counts != wantCounts {
		t.Fatalf("dry run %+v, want %+v", dry.Counts, wantCounts)
	}
	if len(dry.AddedPeople) != 1 || dry.AddedPeople[0].PersonID != "E9000" || dry.AddedPeople[0].Line != 6 || dry.AddedPeople[0].LastName != "Tein" {
		t.Errorf("added %+v", dry.AddedPeople)
	}
	wantChanged := []Change{
		{Fields: []FieldChange{{"class", "CP", "CE1"}, {"regime", "standard", "vegetarien"}, {"card_number", "", "0000000000"}}},
		{Fields: []FieldChange{{"site", "jules-ferry", "pasteur"}, {"garderie", "", "soir"}}},
	}
	if len(dry.ChangedPeople) != 2 {
		t.Fatalf("changed %+v", dry.ChangedPeople)
	}
	for i, c := range dry.ChangedPeople {
		if c.Old.PersonID != fmt.Sprintf("E%04d", i*3) || c.New.PersonID != c.Old.PersonID || !slices.Equal(c.Fields, wantChanged[i].Fields) {
			t.Errorf("changed[%d] = %s %+v, want %+v", i, c.Old.PersonID, c.Fields, wantChanged[i].Fields)
		}
	}
	if len(dry.RemovedPeople) != MaxListed || dry.RemovedPeople[0].PersonID != "E0004" || dry.RemovedPeople[1].PersonID != "E0005" ||
		!slices.IsSortedFunc(dry.RemovedPeople, func(a, b Person) int { return strings.Compare(a.PersonID, b.PersonID) }) {
		t.Errorf("removed: %d listed, first %v", len(dry.RemovedPeople), ids(dry.RemovedPeople[:min(3, len(dry.RemovedPeople))]))
	}
	if p := who(t, r, "2026-05-04", "E0004"); p == nil {
		t.Fatal("the dry run removed E0004")
	}

	done, err := r.ImportParsed(ctx, second, from, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Counts != dry.Counts || !slices.EqualFunc(done.ChangedPeople, dry.ChangedPeople, func(a, b Change) bool {
		return a.Old == b.Old && a.New == b.New && slices.Equal(a.Fields, b.Fields)
	}) || !slices.Equal(done.AddedPeople, dry.AddedPeople) || !slices.Equal(done.RemovedPeople, dry.RemovedPeople) {
		t.Errorf("the import did %+v, the dry run said %+v", done.Counts, dry.Counts)
	}
	if p := who(t, r, "2026-05-04", "E0003"); p == nil || p.Site != "pasteur" {
		t.Errorf("E0003 after the import: %+v", p)
	}
}
