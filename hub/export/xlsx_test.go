package export

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// openXLSX writes e and opens the result as Excel would get it.
func openXLSX(t *testing.T, e Export) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, e, nil); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func rows(t *testing.T, f *excelize.File, sheet string, raw bool) [][]string {
	t.Helper()
	rs, err := f.GetRows(sheet, excelize.Options{RawCellValue: raw})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// cellFormat returns a cell's number format: a custom code, or the
// built-in format's id as a string.
func cellFormat(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	idx, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(idx)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomNumFmt != nil {
		return *st.CustomNumFmt
	}
	return map[int]string{0: "General", 2: "0.00"}[st.NumFmt]
}

func headers(k Kind) []string {
	var hs []string
	for _, c := range columnsOf(k) {
		hs = append(hs, c.header)
	}
	return hs
}

func TestXLSXMeals(t *testing.T) {
	f := openXLSX(t, mealsFixture(t))

	if got, want := f.GetSheetList(), []string{"Résumé", "ecole-a", "ecole-b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}
	shown := rows(t, f, "ecole-a", false)
	if !reflect.DeepEqual(shown[0], headers(Meals)) {
		t.Errorf("header = %q", shown[0])
	}
	if len(shown) != 5 {
		t.Errorf("ecole-a has %d rows, want header + 4", len(shown))
	}

	// A real date: the serial number, shown dd/mm/yyyy.
	if v, _ := f.GetCellValue("ecole-a", "A2", excelize.Options{RawCellValue: true}); v != "46349" {
		t.Errorf("A2 raw = %q, want 46349 (23/11/2026)", v)
	}
	if got := shown[1][0]; got != "23/11/2026" {
		t.Errorf("A2 shown = %q", got)
	}
	if got := cellFormat(t, f, "ecole-a", "A2"); got != "dd/mm/yyyy" {
		t.Errorf("A2 number format = %q", got)
	}

	// A name that is a formula stays text: no formula, no apostrophe.
	if got := shown[1][3]; got != `=HYPERLINK("http://x.example","clic")` {
		t.Errorf("D2 = %q", got)
	}
	if fm, _ := f.GetCellFormula("ecole-a", "D2"); fm != "" {
		t.Errorf("D2 became a formula: %q", fm)
	}
	if got := shown[4][6]; got != "CE1; groupe B" {
		t.Errorf("class = %q", got)
	}
	if got := shown[4][8:]; !reflect.DeepEqual(got, []string{"occasionnel", "oui", "non"}) {
		t.Errorf("Statut, À vérifier, Corrigé = %q", got)
	}

	// Bold header, frozen first row, widths, autofilter over the data.
	st, _ := f.GetCellStyle("ecole-a", "A1")
	if s, _ := f.GetStyle(st); s.Font == nil || !s.Font.Bold {
		t.Errorf("header not bold")
	}
	if p, _ := f.GetPanes("ecole-a"); !p.Freeze || p.YSplit != 1 || p.TopLeftCell != "A2" {
		t.Errorf("panes = %+v, want the header row frozen", p)
	}
	if w, _ := f.GetColWidth("ecole-a", "D"); w != 22 {
		t.Errorf("Nom width = %v", w)
	}
	filters := map[string]string{}
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm._FilterDatabase" {
			filters[d.Scope] = d.RefersTo
		}
	}
	if want := map[string]string{"ecole-a": "'ecole-a'!$A$1:$K$5", "ecole-b": "'ecole-b'!$A$1:$K$3"}; !reflect.DeepEqual(filters, want) {
		t.Errorf("autofilters = %q, want %q", filters, want)
	}

	sum := rows(t, f, SummarySheet, false)
	want := [][]string{
		{"Site", "Repas", "Prévus", "Occasionnels", "Corrigés", "À vérifier"},
		{"ecole-a", "4", "3", "1", "1", "1"},
		{"ecole-b", "2", "1", "1", "0", "0"},
		{"Total", "6", "4", "2", "1", "1"},
		nil,
		{"Export", "Repas"},
		{"Mois", "novembre 2026"},
		{"Site", "tous les sites"},
		{"Généré le", "02/12/2026 08:30"}, // in Nouméa
	}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("summary:\n got %q\nwant %q", sum, want)
	}
	if p, _ := f.GetPanes(SummarySheet); !p.Freeze {
		t.Errorf("summary header not frozen")
	}
	if idx := f.GetActiveSheetIndex(); idx != 0 {
		t.Errorf("active sheet %d, want the summary", idx)
	}
}

func TestXLSXGarderie(t *testing.T) {
	f := openXLSX(t, garderieFixture(t))
	shown := rows(t, f, "ecole-a", false)
	raw := rows(t, f, "ecole-a", true)

	// Row 2: morning session, 06:45–07:30 in Nouméa, 0.75 h.
	if got := shown[1][2:]; got[0] != "Garderie du matin" || got[6] != "06:45" || got[7] != "07:30" || got[8] != "0.75" {
		t.Errorf("morning row = %q", shown[1])
	}
	if raw[1][8] != "46350.28125" { // 24/11/2026 06:45
		t.Errorf("Arrivée raw = %q, want the day + 06:45 as a serial", raw[1][8])
	}
	if got := cellFormat(t, f, "ecole-a", "I2"); got != "hh:mm" {
		t.Errorf("Arrivée format = %q", got)
	}
	if got := cellFormat(t, f, "ecole-a", "K2"); got != "0.00" {
		t.Errorf("Durée format = %q", got)
	}
	if raw[1][10] != "0.75" {
		t.Errorf("Durée raw = %q, want the number 0.75", raw[1][10])
	}
	// Row 3: never checked out: no departure, no duration, still present.
	if got := shown[2]; got[9] != "" || got[10] != "" || got[12] != "oui" {
		t.Errorf("still-present row = %q", got)
	}

	// A check-out on the next day shows its date.
	b := rows(t, f, "ecole-b", false)
	if got := b[2][9]; got != "26/11/2026 07:00" {
		t.Errorf("next-day departure shown %q", got)
	}
	if got := cellFormat(t, f, "ecole-b", "J3"); got != "dd/mm/yyyy hh:mm" {
		t.Errorf("next-day departure format = %q", got)
	}

	sum := rows(t, f, SummarySheet, false)
	want := [][]string{
		{"Site", "Séance", "Présences", "Heures", "Sans départ", "Retards", "À vérifier"},
		{"ecole-a", "Garderie du matin", "1", "0.75", "0", "0", "0"},
		{"ecole-a", "Garderie du soir", "2", "2.87", "1", "1", "1"},
		{"ecole-b", "Garderie du soir", "1", "13.50", "0", "0", "1"},
		{"ecole-b", "atelier-théâtre", "1", "1.02", "0", "0", "0"},
		{"Total", "", "5", "18.13", "1", "1", "2"},
	}
	if !reflect.DeepEqual(sum[:6], want) {
		t.Errorf("summary:\n got %q\nwant %q", sum[:6], want)
	}
}

func TestXLSXStaff(t *testing.T) {
	f := openXLSX(t, staffFixture(t))
	shown := rows(t, f, "ecole-a", false)
	raw := rows(t, f, "ecole-a", true)

	// 24/11 Leroy: 8 h 18 = 8.30 h, and 8:18 as a duration (8.3/24 day).
	if got := shown[2][5:]; !reflect.DeepEqual(got, []string{"07:02–11:30 / 12:15–16:05", "8.30", "8:18"}) {
		t.Errorf("Leroy 24/11 = %q", shown[2])
	}
	if raw[2][6] != "8.3" {
		t.Errorf("Heures raw = %q, want the number 8.3", raw[2][6])
	}
	if got := cellFormat(t, f, "ecole-a", "H3"); got != "[h]:mm" {
		t.Errorf("Heures (hh:mm) format = %q", got)
	}
	if got := shown[3][8]; got != "sortie manquante, à vérifier" {
		t.Errorf("anomalies = %q", got)
	}

	sum := rows(t, f, SummarySheet, false)
	want := [][]string{
		{"Site", "Agents", "Journées", "Heures", "Heures (hh:mm)", "Sorties manquantes", "Anomalies"},
		{"ecole-a", "2", "3", "16.30", "16:18", "1", "1"},
		{"ecole-b", "1", "1", "7.50", "7:30", "0", "1"},
		{"Total", "3", "4", "23.80", "23:48", "1", "2"},
	}
	if !reflect.DeepEqual(sum[:4], want) {
		t.Errorf("summary:\n got %q\nwant %q", sum[:4], want)
	}
	// Hours over 24 stay hours, not days.
	if v, _ := f.GetCellValue(SummarySheet, "E4", excelize.Options{RawCellValue: true}); !strings.HasPrefix(v, "0.99166") {
		t.Errorf("total hh:mm raw = %q, want 23:48 as a fraction of a day", v)
	}
}

func TestXLSXEmptyIsValidWithHeaders(t *testing.T) {
	tests := []struct {
		name, site string
		sheets     []string
	}{
		{"every site", "", []string{SummarySheet, emptySheet}},
		{"one site", "ecole-a", []string{SummarySheet, "ecole-a"}},
	}
	for _, k := range []Kind{Meals, Garderie, Staff} {
		for _, tt := range tests {
			t.Run(string(k)+"/"+tt.name, func(t *testing.T) {
				f := openXLSX(t, Export{Kind: k, Month: "2026-11", Site: tt.site, Loc: noumea(t)})
				if got := f.GetSheetList(); !reflect.DeepEqual(got, tt.sheets) {
					t.Fatalf("sheets = %q, want %q", got, tt.sheets)
				}
				data := rows(t, f, tt.sheets[1], false)
				if len(data) != 1 || !reflect.DeepEqual(data[0], headers(k)) {
					t.Errorf("data sheet = %q, want the header only", data)
				}
				sum := rows(t, f, SummarySheet, false)
				if len(sum) == 0 || sum[0][0] != "Site" {
					t.Errorf("summary = %q", sum)
				}
			})
		}
	}
}

func TestSheetNames(t *testing.T) {
	long := strings.Repeat("a", 40)
	tests := []struct {
		name  string
		sites []string
		want  []string
	}{
		{"site ids", []string{"ecole-a", "jules-ferry"}, []string{"ecole-a", "jules-ferry"}},
		{"too long", []string{long}, []string{strings.Repeat("a", 31)}},
		{"cut alike", []string{long, long + "b"}, []string{strings.Repeat("a", 31), strings.Repeat("a", 29) + "~2"}},
		{"invalid characters", []string{"a/b:c?d*e[f]g\\h'i"}, []string{"a_b_c_d_e_f_g_h_i"}},
		{"summary and reserved", []string{"RÉSUMÉ", "history"}, []string{"RÉSUMÉ~2", "history~2"}},
		{"case-insensitive", []string{"Ecole", "ecole"}, []string{"Ecole", "ecole~2"}},
		{"empty", []string{""}, []string{"_"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sheetNames(tt.sites); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sheetNames(%q) = %q, want %q", tt.sites, got, tt.want)
			}
		})
	}
}

// A site id longer than Excel allows still gets its sheet, and the
// summary names it in full.
func TestXLSXLongSiteID(t *testing.T) {
	e := mealsFixture(t)
	long := "groupe-scolaire-de-la-vallee-des-colons-nord"
	for i := range e.Meals {
		if e.Meals[i].Site == "ecole-b" {
			e.Meals[i].Site = long
		}
	}
	f := openXLSX(t, e)
	if got := f.GetSheetList(); got[2] != long[:31] {
		t.Errorf("sheets = %q", got)
	}
	if v, _ := f.GetCellValue(SummarySheet, "A3"); v != long {
		t.Errorf("summary site = %q", v)
	}
}
