package export

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var fixtureNames = &Names{
	Sites: map[string]string{"ecole-a": "École de Rivière-Salée"}, // ecole-b has none
	Diets: map[string]string{"standard": "Standard", "vegetarien": "Végétarien", "pai": "PAI"},
}

// With names (docs/DESIGN.md §12), the XLSX shows each site's name beside
// its id and each diet's label beside its code, on the data sheets and
// the summary; an id without a name is repeated; the id columns and the
// sheets' names keep the ids.
func TestXLSXNames(t *testing.T) {
	e := mealsFixture(t)
	e.Names = fixtureNames
	e.Site = ""
	f := openXLSX(t, e)
	if got, want := f.GetSheetList(), []string{"Résumé", "ecole-a", "ecole-b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}
	a := rows(t, f, "ecole-a", false)
	wantHeader := []string{"Date", "Site", "École", "Identifiant", "Nom", "Prénom", "Famille", "Classe", "Régime", "Libellé du régime", "Statut", "À vérifier", "Corrigé"}
	if !reflect.DeepEqual(a[0], wantHeader) {
		t.Fatalf("header = %q\nwant %q", a[0], wantHeader)
	}
	// 23/11 Bob (vegetarien), 24/11 Élodie Dupont (pai), Emma dupont (standard), Zoé Émery (sans-porc: no label).
	for i, want := range [][]string{
		{"ecole-a", "École de Rivière-Salée", "P003", "vegetarien", "Végétarien"},
		{"ecole-a", "École de Rivière-Salée", "P001", "pai", "PAI"},
		{"ecole-a", "École de Rivière-Salée", "P004", "standard", "Standard"},
		{"ecole-a", "École de Rivière-Salée", "P002", "sans-porc", "sans-porc"},
	} {
		r := a[i+1]
		if got := []string{r[1], r[2], r[3], r[8], r[9]}; !reflect.DeepEqual(got, want) {
			t.Errorf("ecole-a row %d: %q, want %q", i+2, got, want)
		}
	}
	if got := rows(t, f, "ecole-b", false)[1][1:3]; !reflect.DeepEqual(got, []string{"ecole-b", "ecole-b"}) {
		t.Errorf("a site without a name: %q, want its id twice", got)
	}
	if w, _ := f.GetColWidth("ecole-a", "C"); w != 28 {
		t.Errorf("École width = %v", w)
	}
	sum := rows(t, f, SummarySheet, false)
	want := [][]string{
		{"Site", "École", "Repas", "Prévus", "Occasionnels", "Corrigés", "À vérifier"},
		{"ecole-a", "École de Rivière-Salée", "4", "3", "1", "1", "1"},
		{"ecole-b", "ecole-b", "2", "1", "1", "0", "0"},
		{"Total", "", "6", "4", "2", "1", "1"},
	}
	if !reflect.DeepEqual(sum[:4], want) {
		t.Errorf("summary:\n got %q\nwant %q", sum[:4], want)
	}

	// One site's export names it in the summary.
	one := mealsFixture(t)
	one.Names, one.Site = fixtureNames, "ecole-a"
	one.Meals = one.Meals[1:4]
	if got := rows(t, openXLSX(t, one), SummarySheet, false); got[len(got)-2][1] != "École de Rivière-Salée (ecole-a)" {
		t.Errorf("one site's summary: %q", got)
	}

	// The garderie and staff sheets get the school's name too.
	for _, k := range []Kind{Garderie, Staff} {
		e := fixture(t, k)
		e.Names = fixtureNames
		r := rows(t, openXLSX(t, e), "ecole-a", false)
		if r[0][1] != "Site" || r[0][2] != "École" || r[1][2] != "École de Rivière-Salée" || len(r[0]) != len(columnsOf(k))+1 {
			t.Errorf("%s: %q / %q", k, r[0], r[1])
		}
	}
}

// The CSV is a contract for scripts: names change nothing in it.
func TestCSVWithoutNames(t *testing.T) {
	for _, k := range []Kind{Meals, Garderie, Staff} {
		e := fixture(t, k)
		e.Names = fixtureNames
		want, err := os.ReadFile(filepath.Join("testdata", string(k)+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if got := writeCSV(t, e); !bytes.Equal(got, want) {
			t.Errorf("%s: the CSV with names differs from testdata/%s.csv:\n got: %q", k, k, got)
		}
	}
}
