package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestInvalidExportWritesNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Export)
		msg    string
	}{
		{"unknown kind", func(e *Export) { e.Kind = "absences" }, `kind "absences"`},
		{"no zone", func(e *Export) { e.Loc = nil }, "no time zone"},
		{"bad month", func(e *Export) { e.Month = "11/2026" }, `month "11/2026"`},
		{"day outside the month", func(e *Export) { e.Meals[2].Date = day(1).AddDays(-1) }, "day 2026-10-31 is not in month 2026-11"},
		{"another site", func(e *Export) { e.Site = "ecole-a" }, `site "ecole-b" in an export of site "ecole-a"`},
	}
	for _, tt := range tests {
		for _, format := range []string{FormatCSV, FormatXLSX} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				e := mealsFixture(t)
				tt.change(&e)
				var buf bytes.Buffer
				err := WriteTo(&buf, format, e, nil)
				if !errors.Is(err, ErrInvalidExport) || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("err = %v, want ErrInvalidExport saying %q", err, tt.msg)
				}
				if buf.Len() != 0 {
					t.Errorf("%d bytes written", buf.Len())
				}
			})
		}
	}
}

func TestWriteToUnknownFormat(t *testing.T) {
	err := WriteTo(io.Discard, "ods", mealsFixture(t), nil)
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("err = %v, want ErrUnknownFormat", err)
	}
	if ValidFormat("ods") || !ValidFormat("XLSX") || !ValidFormat("csv") {
		t.Errorf("ValidFormat is wrong")
	}
}

func TestProgress(t *testing.T) {
	e := Export{Kind: Meals, Month: "2026-11", Loc: noumea(t)}
	for i := range 12345 {
		e.Meals = append(e.Meals, MealRow{Date: day(1 + i%30), Site: "ecole-a", PersonID: fmt.Sprint("P", i), LastName: "Nom", Status: StatusExpected})
	}
	for _, format := range []string{FormatCSV, FormatXLSX} {
		t.Run(format, func(t *testing.T) {
			var calls [][2]int
			if err := WriteTo(io.Discard, format, e, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
				t.Fatal(err)
			}
			want := [][2]int{{5000, 12345}, {10000, 12345}, {12345, 12345}}
			if !reflect.DeepEqual(calls, want) {
				t.Errorf("progress calls = %v, want %v", calls, want)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		var calls [][2]int
		e := Export{Kind: Staff, Month: "2026-11", Loc: noumea(t)}
		if err := WriteCSV(io.Discard, e, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
			t.Fatal(err)
		}
		if want := [][2]int{{0, 0}}; !reflect.DeepEqual(calls, want) {
			t.Errorf("progress calls = %v, want %v", calls, want)
		}
	})
}

func TestWritersLeaveRowsAlone(t *testing.T) {
	e := mealsFixture(t)
	before := append([]MealRow(nil), e.Meals...)
	for _, format := range []string{FormatCSV, FormatXLSX} {
		if err := WriteTo(io.Discard, format, e, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(e.Meals, before) {
		t.Errorf("the caller's rows were reordered or changed")
	}
}

// Times are Nouméa wall-clock times whatever the zone of the time.Time:
// 19:45 UTC on the 23rd is 06:45 on the 24th.
func TestTimesAreInTheExportZone(t *testing.T) {
	e := Export{Kind: Garderie, Month: "2026-11", Loc: noumea(t), Garderie: []GarderieRow{{
		Date: day(24), Site: "ecole-a", Session: SessionMorning, PersonID: "P1", LastName: "A",
		In: time.Date(2026, 11, 23, 19, 45, 0, 0, time.UTC), Out: ptr(time.Date(2026, 11, 23, 20, 30, 0, 0, time.UTC)), Duration: 45 * time.Minute,
	}}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, e, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n24/11/2026;ecole-a;Garderie du matin;P1;A;;;;06:45;07:30;0,75;") {
		t.Errorf("got %q", buf.String())
	}
}

func TestFrenchFormats(t *testing.T) {
	tests := []struct {
		name    string
		d       time.Duration
		decimal string
		hhmm    string
	}{
		{"half hour", 7*time.Hour + 30*time.Minute, "7,50", "7:30"},
		{"third", 20 * time.Minute, "0,33", "0:20"},
		{"rounded to the minute first", 7*time.Hour + 29*time.Minute + 40*time.Second, "7,50", "7:30"},
		{"over a day", 151*time.Hour + 5*time.Minute, "151,08", "151:05"},
		{"zero", 0, "0,00", "0:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f csvFormatter
			if got := f.format(hoursCell(tt.d)); got != tt.decimal {
				t.Errorf("decimal hours = %q, want %q", got, tt.decimal)
			}
			if got := f.format(hhmmCell(tt.d)); got != tt.hhmm {
				t.Errorf("hh:mm = %q, want %q", got, tt.hhmm)
			}
		})
	}
}

func TestFlagsInFrench(t *testing.T) {
	got := flagsText([]string{FlagMissingClockIn, FlagMissingClockOut, FlagClockOutUnused, FlagReview, FlagCorrected, "new_flag"})
	want := "entrée manquante, sortie manquante, correction de sortie inutilisée, à vérifier, corrigé, new_flag"
	if got != want {
		t.Errorf("flagsText = %q, want %q", got, want)
	}
}

func TestFileNameAndContentType(t *testing.T) {
	tests := []struct {
		kind         Kind
		site, format string
		want         string
	}{
		{Meals, "", "csv", "pointage-repas-2026-11.csv"},
		{Garderie, "jules-ferry", "xlsx", "pointage-garderie-2026-11-jules-ferry.xlsx"},
		{Staff, "", "XLSX", "pointage-agents-2026-11.xlsx"},
		{Meals, `a"b/c`, "csv", "pointage-repas-2026-11-a-b-c.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FileName(Export{Kind: tt.kind, Month: "2026-11", Site: tt.site}, tt.format); got != tt.want {
				t.Errorf("FileName = %q, want %q", got, tt.want)
			}
		})
	}
	if got := ContentType("csv"); got != "text/csv; charset=utf-8" {
		t.Errorf("csv: %q", got)
	}
	if got := ContentType("xlsx"); got != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("xlsx: %q", got)
	}
}

// French collation: accents and case do not move a name to the end of the
// list; the same names sort the same whatever the input order.
func TestNameOrder(t *testing.T) {
	names := [][2]string{{"Zola", "Émile"}, {"Émery", "Zoé"}, {"dupont", "Emma"}, {"Dupont", "Élodie"}, {"Durand", "Éric"}, {"Eiffel", "Gustave"}}
	want := []string{"Dupont Élodie", "dupont Emma", "Durand Éric", "Eiffel Gustave", "Émery Zoé", "Zola Émile"}
	for _, reverse := range []bool{false, true} {
		e := Export{Kind: Meals, Month: "2026-11", Loc: noumea(t)}
		for i := range names {
			n := names[i]
			if reverse {
				n = names[len(names)-1-i]
			}
			e.Meals = append(e.Meals, MealRow{Date: day(2), Site: "s", PersonID: n[0], LastName: n[0], FirstName: n[1]})
		}
		tb := newTable(&e)
		var got []string
		for _, i := range tb.order(false) {
			got = append(got, e.Meals[i].LastName+" "+e.Meals[i].FirstName)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("order = %q, want %q", got, want)
		}
	}
}
