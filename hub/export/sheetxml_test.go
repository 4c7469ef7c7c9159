package export

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// referenceXLSX writes e's data sheets as excelize's StreamWriter writes
// rows (how WriteXLSX wrote them before it rendered rows itself): the
// reference its own cells must match.
func referenceXLSX(t *testing.T, e Export) *excelize.File {
	t.Helper()
	f := excelize.NewFile()
	t.Cleanup(func() { f.Close() })
	st, err := newStyles(f)
	if err != nil {
		t.Fatal(err)
	}
	tb := newTable(&e)
	idx := tb.order(true)
	cols, widen := tb.cols, (func(base, dst []cell))(nil)
	if e.Names != nil {
		cols, widen = withNames(e.Kind, e.Names)
	}
	var sites []string
	for k, i := range idx {
		if s := tb.site(int(i)); k == 0 || s != sites[len(sites)-1] {
			sites = append(sites, s)
		}
	}
	names := sheetNames(sites)
	x := xlsxRow{st: st, cells: make([]cell, len(cols)), values: make([]any, len(cols))}
	base := make([]cell, len(tb.cols))
	pos := 0
	for k, site := range sites {
		sw, err := newDataSheet(f, names[k], cols, st)
		if err != nil {
			t.Fatal(err)
		}
		row := 2
		for ; pos < len(idx) && tb.site(int(idx[pos])) == site; pos++ {
			if widen == nil {
				tb.fill(int(idx[pos]), x.cells)
			} else {
				tb.fill(int(idx[pos]), base)
				widen(base, x.cells)
			}
			vals := x.render()
			for j, v := range vals {
				if c, ok := v.(cellWithStyle); ok {
					vals[j] = excelize.Cell{StyleID: c.style, Value: c.value}
				}
			}
			if err := sw.SetRow(cellName(1, row), vals); err != nil {
				t.Fatal(err)
			}
			row++
		}
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// trickyMeals holds text that XML, Excel's inline strings and its _xHHHH_
// escapes each treat specially, and a name longer than a cell holds.
func trickyMeals(t *testing.T) Export {
	e := mealsFixture(t)
	for i, name := range []string{" Espace devant", "Espace derrière\t", "Ligne\nsuivante", `<&>"'`, "_x0041_ et _x005F_", "Contrôle\x01\x1f",
		strings.Repeat("é", 40000), "日本語", "𝄞 clef", "", "octet\xffperdu", "non-caractère\ufffe", "retour\r chariot"} {
		e.Meals = append(e.Meals, MealRow{Date: day(25), Site: "ecole-c", PersonID: fmt.Sprintf("T%02d", i), LastName: name,
			FirstName: "Prénom", Class: "CP", Regime: "standard", Status: StatusExpected})
	}
	return e
}

// Every cell of every data sheet WriteXLSX writes has the value, the type
// and the style excelize's StreamWriter gives the same row: Excel sees the
// rows it saw before WriteXLSX rendered them itself.
func TestDataSheetsAsExcelizeWritesThem(t *testing.T) {
	late := garderieFixture(t)
	late.Garderie = append(late.Garderie, GarderieRow{Date: day(24), Site: "ecole-a", Session: SessionEvening, PersonID: "P009",
		LastName: "Minuit", FirstName: "Lou", In: at(t, 24, 17, 0), Out: atp(t, 25, 0, 30), Duration: 7*time.Hour + 30*time.Minute, Late: true})
	named := mealsFixture(t)
	named.Names = &Names{Sites: map[string]string{"ecole-a": "École A"}, Diets: map[string]string{"standard": "Standard"}}
	for name, e := range map[string]Export{"meals": trickyMeals(t), "garderie": late, "staff": staffFixture(t), "meals with names": named} {
		t.Run(name, func(t *testing.T) {
			got, want := openXLSX(t, e), referenceXLSX(t, e)
			sheets := want.GetSheetList()[1:] // the reference's first sheet is excelize's empty Sheet1
			if len(sheets) == 0 {
				t.Fatal("the reference has no data sheet")
			}
			for _, sheet := range sheets {
				wantRows := rows(t, want, sheet, true)
				gotRows := rows(t, got, sheet, true)
				if len(gotRows) != len(wantRows) {
					t.Fatalf("%s: %d rows, want %d", sheet, len(gotRows), len(wantRows))
				}
				cells := 0
				for r, wr := range wantRows {
					for c := range max(len(wr), len(gotRows[r])) {
						ref := cellName(c+1, r+1)
						for _, raw := range []bool{true, false} {
							gv, _ := got.GetCellValue(sheet, ref, excelize.Options{RawCellValue: raw})
							wv, _ := want.GetCellValue(sheet, ref, excelize.Options{RawCellValue: raw})
							if gv != wv {
								t.Fatalf("%s!%s (raw %v) = %.60q, want %.60q", sheet, ref, raw, gv, wv)
							}
						}
						gt, _ := got.GetCellType(sheet, ref)
						wt, _ := want.GetCellType(sheet, ref)
						gs, _ := got.GetCellStyle(sheet, ref)
						ws, _ := want.GetCellStyle(sheet, ref)
						if gt != wt || gs != ws {
							t.Fatalf("%s!%s: type %v style %d, want type %v style %d", sheet, ref, gt, gs, wt, ws)
						}
						if fm, _ := got.GetCellFormula(sheet, ref); fm != "" {
							t.Fatalf("%s!%s became a formula: %q", sheet, ref, fm)
						}
						cells++
					}
				}
				t.Logf("%s: %d cells alike", sheet, cells)
			}
		})
	}
}

// The rows go in at </sheetData> even when a write cuts the marker in two.
func TestInjectorFindsACutMarker(t *testing.T) {
	doc := `<worksheet><sheetData><row r="1"/></sheetData><autoFilter/></worksheet>`
	for cut := 1; cut < len(doc); cut++ {
		var out bytes.Buffer
		in := &injector{w: &out, rows: func(w *bufio.Writer) error { _, err := w.WriteString("ROWS"); return err }}
		for _, part := range []string{doc[:cut], doc[cut:]} {
			if _, err := io.WriteString(in, part); err != nil {
				t.Fatal(err)
			}
		}
		if want := strings.Replace(doc, "</sheetData>", "ROWS</sheetData>", 1); out.String() != want || !in.wrote {
			t.Fatalf("cut at %d: %q, want %q", cut, out.String(), want)
		}
	}
}

// appendEscaped escapes text as encoding/xml does, a newline kept as it is.
func FuzzAppendEscaped(f *testing.F) {
	for _, s := range []string{"Émery", `<&>"'`, "a\nb\r\tc", "\x01\xff\ufffe", "𝄞", "_x0041_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, []byte(s))
		want := strings.ReplaceAll(esc.String(), "&#xA;", "\n")
		if got := string(appendEscaped(nil, s)); got != want {
			t.Fatalf("appendEscaped(%q) = %q, want %q", s, got, want)
		}
	})
}
