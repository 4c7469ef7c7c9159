package export

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func writeCSV(t *testing.T, e Export) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, e, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCSVGolden compares each kind's CSV, byte for byte, with a file
// checked by hand: BOM, ';', CRLF, French headers and dates, decimal comma,
// quoted semicolons and quotes, apostrophe before a formula, sort order.
func TestCSVGolden(t *testing.T) {
	for _, k := range []Kind{Meals, Garderie, Staff} {
		t.Run(string(k), func(t *testing.T) {
			got := writeCSV(t, fixture(t, k))
			golden := filepath.Join("testdata", string(k)+".csv")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("CSV differs from %s (run with -update after checking):\n got: %q\nwant: %q", golden, got, want)
			}
		})
	}
}

func TestCSVIsWhatFrenchExcelReads(t *testing.T) {
	out := writeCSV(t, mealsFixture(t))
	if !bytes.HasPrefix(out, []byte("\xEF\xBB\xBFDate;Site;Identifiant;Nom;Prénom;Famille;Classe;Régime;Statut;À vérifier;Corrigé\r\n")) {
		t.Fatalf("no BOM + French header: %q", out[:min(len(out), 120)])
	}
	if n, crlf := bytes.Count(out, []byte("\n")), bytes.Count(out, []byte("\r\n")); n != crlf || n != 7 {
		t.Errorf("%d line ends, %d of them CRLF; want 7 CRLF", n, crlf)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out, []byte(bom))))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var names, classes, families []string
	for _, rec := range recs[1:] {
		names = append(names, rec[0]+" "+rec[1]+" "+rec[3]+" "+rec[4])
		classes = append(classes, rec[6])
		families = append(families, rec[5])
	}
	wantNames := []string{
		`23/11/2026 ecole-a '=HYPERLINK("http://x.example","clic") Bob`,
		"23/11/2026 ecole-b Nguyen Van",
		"24/11/2026 ecole-a Dupont Élodie",
		"24/11/2026 ecole-a dupont Emma",
		"24/11/2026 ecole-a Émery Zoé",
		"24/11/2026 ecole-b Martin Léa",
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("rows (by day, site, name):\n got %q\nwant %q", names, wantNames)
	}
	if !strings.Contains(strings.Join(classes, "|"), "|CE1; groupe B|") {
		t.Errorf("the class with a semicolon did not come back as one field: %q", classes)
	}
	if families[0] != `F"03` {
		t.Errorf("family with a quote = %q", families[0])
	}
	if classes[1] != "'+CM2" {
		t.Errorf("class +CM2 = %q, want it defused with an apostrophe", classes[1])
	}
}

func TestGuard(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"equals", "=1+1", "'=1+1"},
		{"plus", "+33", "'+33"},
		{"minus", "-2", "'-2"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1", "'\t=1"},
		{"plain", "Dupont", "Dupont"},
		{"inside", "Jean-Marie", "Jean-Marie"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := guard(tt.in); got != tt.want {
				t.Errorf("guard(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCSVEmptyHasHeaderOnly(t *testing.T) {
	for _, k := range []Kind{Meals, Garderie, Staff} {
		t.Run(string(k), func(t *testing.T) {
			e := Export{Kind: k, Month: "2026-11", Loc: noumea(t)}
			out := string(writeCSV(t, e))
			var hs []string
			for _, c := range columnsOf(k) {
				hs = append(hs, c.header)
			}
			if want := bom + strings.Join(hs, ";") + "\r\n"; out != want {
				t.Errorf("got %q, want %q", out, want)
			}
		})
	}
}
