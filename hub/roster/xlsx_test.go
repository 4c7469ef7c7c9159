package roster

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// workbook writes rows (a header and data) on the first sheet of a new
// workbook; a row of nil is left empty.
func workbook(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		if r == nil {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An .xlsx roster reads as its CSV does: the same people, each bad row
// with the sheet's row number; a workbook that is no roster says what the
// header needs.
func TestParseXLSX(t *testing.T) {
	head := []any{"badge", "person_id", "role", "last_name", "first_name", "site", "class", "regime", "canteen_days", "garderie"}
	data := workbook(t, [][]any{
		head,
		{"0A00000001", "E001", "child", "Wamytan", "Léa", "jules-ferry", "CP", "standard", "lu ma me je ve", "soir"},
		nil, // an empty row: skipped, the line numbers go on
		{"0A00000002", "E002", "child", "Gowé", "Noa", "jules-ferry", "CE1", "Sans porc", "lu ma je ve"},
		{"0A00000003", "E003", "pupil", "Martin", "Jade", "jules-ferry", "CE1", "standard", "lu"},
	})
	got, err := Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	csv := strings.Join([]string{
		"badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie",
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir",
		"",
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;Sans porc;lu ma je ve;",
		"0A00000003;E003;pupil;Martin;Jade;jules-ferry;CE1;standard;lu;",
	}, "\n")
	want, err := Parse(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.People, want.People) || len(got.People) != 2 {
		t.Errorf("people from the workbook:\n%+v\nfrom the CSV:\n%+v", got.People, want.People)
	}
	if len(got.Errors) != 1 || got.Errors[0].Line != 5 || !reflect.DeepEqual(got.Errors, want.Errors) {
		t.Errorf("rejected rows: %+v, want line 5 as in the CSV (%+v)", got.Errors, want.Errors)
	}

	_, err = Parse(bytes.NewReader(workbook(t, [][]any{{"Nom", "Prénom"}, {"Wamytan", "Léa"}})))
	if !errors.Is(err, ErrInvalidFile) || !strings.Contains(err.Error(), "colonne(s) obligatoire(s) absente(s)") {
		t.Errorf("a workbook that is no roster: %v", err)
	}
	if _, err := Parse(bytes.NewReader(append([]byte("PK\x03\x04"), "not a zip"...))); !errors.Is(err, ErrInvalidFile) {
		t.Errorf("a broken workbook: %v", err)
	}
}

// A workbook that unzips to more than maxUnzipped is refused before it is
// unzipped (a ZIP bomb sent to POST /api/v1/roster).
func TestParseXLSXUnzippedLimit(t *testing.T) {
	head := []any{"badge", "person_id", "role", "last_name", "first_name", "site", "class", "regime", "canteen_days", "garderie", "notes"}
	rows := [][]any{head}
	padding := strings.Repeat("x", 1000) // in a column the roster ignores
	for i := 0; i < 300; i++ {
		rows = append(rows, []any{"0A0000" + strconv.Itoa(1000+i), "E" + strconv.Itoa(i), "child", "Wamytan", "Léa", "jules-ferry", "CP", "standard", "lu", "", padding + strconv.Itoa(i)})
	}
	data := workbook(t, rows) // 300 KB of cells, compressed to a few KB
	defer func(old int64) { maxUnzipped = old }(maxUnzipped)
	maxUnzipped = 200 << 10
	if _, err := Parse(bytes.NewReader(data)); !errors.Is(err, ErrInvalidFile) || !strings.Contains(err.Error(), "unzip") {
		t.Fatalf("a workbook over the unzipped limit: %v", err)
	}
	maxUnzipped = 8 << 20
	if pr, err := Parse(bytes.NewReader(data)); err != nil || len(pr.People) != 300 {
		t.Fatalf("the same workbook under the limit: %v", err)
	}
}
