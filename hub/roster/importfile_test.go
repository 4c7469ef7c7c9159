package roster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	if res != (ImportResult{Added: 3}) || len(pr.People) != 3 {
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
	want := `line 3: canteen_days: "jx" is not a day (use lu ma me je ve sa di, or mon tue wed thu fri sat sun)
line 5: site "jules ferry" is not a site id: use lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters (e.g. jules-ferry)
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
