package roster

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// maxUnzipped bounds a workbook's unzipped size: a roster of 10,000
// people is a few MB.
var maxUnzipped int64 = 256 << 20

// parseXLSX reads the first sheet of an Excel workbook as a roster: the
// same columns as the CSV (docs/DESIGN.md §10), a row's line being the sheet's row
// number, cells as Excel shows them (a badge typed as a number keeps its
// digits). Offices keep the roster in Excel; saving it as CSV is a step
// less to get wrong.
func parseXLSX(data []byte) (*ParseResult, error) {
	// A workbook is a ZIP: bounded unzipped, or a few MB sent to the API
	// could unzip to gigabytes (excelize's default bound is 16 GB).
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzipped})
	if err != nil {
		return nil, fmt.Errorf("%w: classeur Excel (.xlsx) illisible (%v) ; enregistrez la liste en .xlsx ou en CSV UTF-8", ErrInvalidFile, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("%w: le classeur n'a aucune feuille", ErrInvalidFile)
	}
	rows, err := f.GetRows(sheets[0]) // every row up to the last, empty ones included: row i is line i+1
	if err != nil {
		return nil, fmt.Errorf("%w: feuille %s illisible : %v", ErrInvalidFile, quote(sheets[0]), err)
	}
	line := 0
	for line < len(rows) && blank(rows[line]) {
		line++
	}
	if line == len(rows) {
		return nil, fmt.Errorf("%w: la première feuille (%s) est vide ; il faut une ligne d'en-tête : %s", ErrInvalidFile, quote(sheets[0]), strings.Join(RequiredColumns, ";"))
	}
	header := rows[line]
	cols, err := mapColumns(header, line+1, ';')
	if err != nil {
		return nil, fmt.Errorf("%w (première feuille, %s)", err, quote(sheets[0]))
	}
	next := line + 1
	return parseRows(cols, len(header), ';', func() ([]string, int, error) {
		if next >= len(rows) {
			return nil, 0, io.EOF
		}
		next++
		return rows[next-1], next, nil
	})
}
