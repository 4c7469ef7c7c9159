package export

import (
	"archive/zip"
	"bufio"
	"cmp"
	"compress/flate"
	"fmt"
	"io"
	"pointage/internal/civil"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// SummarySheet is the name of the XLSX workbook's first sheet.
const SummarySheet = "Résumé"

// emptySheet names the data sheet of an export of every site with no row,
// so the workbook still shows the columns.
const emptySheet = "Données"

// WriteXLSX writes e as an Excel workbook: a first sheet "Résumé" with
// figures per site (and per session for the garderie), then one sheet per
// site, named after the site id, with the same columns as the CSV. Headers
// are bold and frozen, columns have widths and an autofilter; days, times
// and durations are real Excel numbers with formats (dd/mm/yyyy, hh:mm,
// 0.00 hours, [h]:mm), not text.
//
// excelize writes the workbook with each data sheet's header only; the
// rows are rendered one at a time into the archive as it is written
// straight to w (sheetxml.go), so neither the workbook nor a sheet is ever
// held whole in memory (see doc.go).
//
// progress, if not nil, is called every 5,000 rows and once the file is
// written.
func WriteXLSX(w io.Writer, e Export, progress func(done, total int)) error {
	if err := validate(e); err != nil {
		return err
	}
	t := newTable(&e)
	idx := t.order(true)

	f := excelize.NewFile()
	defer f.Close() // removes excelize's temporary files
	st, err := newStyles(f)
	if err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	if err := f.SetSheetName(f.GetSheetName(0), SummarySheet); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}

	// One sheet per site, in site order; rows are sorted site first.
	var sites []string
	for k, i := range idx {
		if s := t.site(int(i)); k == 0 || s != sites[len(sites)-1] {
			sites = append(sites, s)
		}
	}
	if e.Site != "" && len(sites) == 0 {
		sites = append(sites, e.Site)
	}
	names := sheetNames(sites)

	cols, widen := t.cols, (func(base, dst []cell))(nil)
	if e.Names != nil {
		cols, widen = withNames(e.Kind, e.Names)
	}
	// The summary first: its figures need every row, which are then
	// written site by site when the archive is (sheetxml.go).
	sum := newSummary(e.Kind)
	bounds := make([]int, len(sites)+1) // site k's rows are idx[bounds[k]:bounds[k+1]]
	pos := 0
	for k, site := range sites {
		bounds[k] = pos
		for ; pos < len(idx) && t.site(int(idx[pos])) == site; pos++ {
			sum.add(&e, int(idx[pos]))
		}
		if pos == bounds[k] {
			sum.group(site, "") // a site without rows still has its line
		}
	}
	bounds[len(sites)] = pos

	rep := reporter{fn: progress, total: len(idx)}
	x := xlsxRow{st: st, cells: make([]cell, len(cols)), values: make([]any, len(cols))}
	colStyles := make([]int, len(cols))
	for j, c := range cols {
		colStyles[j] = st.columnStyle(c.kind)
	}
	base := make([]cell, len(t.cols))
	var cx cellXML
	inject := map[string]*injector{}
	for k := range sites {
		sw, err := newDataSheet(f, names[k], cols, st)
		if err != nil {
			return fmt.Errorf("write xlsx: sheet %q: %w", names[k], err)
		}
		rows := idx[bounds[k]:bounds[k+1]]
		if err := endDataSheet(f, sw, names[k], len(cols), 1+len(rows)); err != nil {
			return fmt.Errorf("write xlsx: sheet %q: %w", names[k], err)
		}
		path, err := sheetPath(f, names[k])
		if err != nil {
			return fmt.Errorf("write xlsx: %w", err)
		}
		inject[path] = &injector{rows: func(w *bufio.Writer) error {
			for n, i := range rows {
				if widen == nil {
					t.fill(int(i), x.cells)
				} else {
					t.fill(int(i), base)
					widen(base, x.cells)
				}
				if err := cx.row(w, n+2, x.render(), colStyles); err != nil {
					return fmt.Errorf("sheet %q row %d: %w", names[k], n+2, err)
				}
				rep.row()
			}
			return nil
		}}
	}
	if len(sites) == 0 {
		sw, err := newDataSheet(f, emptySheet, cols, st)
		if err == nil {
			err = endDataSheet(f, sw, emptySheet, len(cols), 1)
		}
		if err != nil {
			return fmt.Errorf("write xlsx: sheet %q: %w", emptySheet, err)
		}
	}
	if err := writeSummary(f, st, sum, &e); err != nil {
		return fmt.Errorf("write xlsx: summary: %w", err)
	}
	if err := setDocProps(f, &e); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	// The summary, excelize's first sheet, is already the active one. Not
	// f.SetActiveSheet: it reads every worksheet back, the streamed ones
	// included, into excelize's in-memory model (gigabytes for a month).

	// excelize's File.Write builds the whole archive in a bytes.Buffer
	// before copying it (qax-os/excelize#2357). Its zip writer hook lets the
	// archive go straight to w instead: the buffer it is handed stays
	// empty, and Write's own copy of that buffer goes nowhere.
	cw := &countingWriter{w: w}
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		z := newZipWriter(cw, e.GeneratedAt)
		z.inject = inject
		return z
	})
	if err := f.Write(io.Discard); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	if cw.n == 0 {
		return fmt.Errorf("write xlsx: excelize wrote no archive through its zip writer hook")
	}
	for path, in := range inject {
		if !in.wrote {
			return fmt.Errorf("write xlsx: %s: %w", path, errNoSheetData)
		}
	}
	rep.end()
	return nil
}

// withNames returns a kind's columns with a display name beside each id
// the office reads (docs/DESIGN.md §12): "École" after "Site" and, for
// meals, "Libellé du régime" after "Régime"; and the function that fills
// a row of them from the kind's cells. An id without a name is repeated.
func withNames(k Kind, n *Names) ([]column, func(base, dst []cell)) {
	type named struct {
		after string // the id column's header
		col   column
		names map[string]string
	}
	extra := []named{{"Site", column{"École", 28, cText}, n.Sites}}
	if k == Meals {
		extra = append(extra, named{"Régime", column{"Libellé du régime", 17, cText}, n.Diets})
	}
	type source struct {
		from  int               // the kind's cell
		names map[string]string // nil: the cell itself; else its display name
		name  bool
	}
	var cols []column
	var srcs []source
	for j, c := range columnsOf(k) {
		cols = append(cols, c)
		srcs = append(srcs, source{from: j})
		for _, x := range extra {
			if x.after == c.header {
				cols = append(cols, x.col)
				srcs = append(srcs, source{from: j, names: x.names, name: true})
			}
		}
	}
	return cols, func(base, dst []cell) {
		for i, s := range srcs {
			if s.name {
				dst[i] = text(lookup(s.names, base[s.from].s))
			} else {
				dst[i] = base[s.from]
			}
		}
	}
}

// zipWriter is archive/zip's writer with a real modification time on every
// entry (zip.Writer.Create leaves it at zero, which zip tools show as the
// invalid 1980-00-00).
type zipWriter struct {
	*zip.Writer
	modified time.Time
	inject   map[string]*injector // by entry name: data sheets whose rows go in when written
}

func newZipWriter(w io.Writer, modified time.Time) zipWriter {
	if modified.IsZero() {
		modified = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC) // the first DOS date
	}
	zw := zip.NewWriter(w)
	// Deflate at its fastest level: a month's sheets compress 15:1 anyway,
	// and the default level doubles the time spent writing the workbook.
	// One compressor for every entry, reset for each (zip closes an entry
	// before it opens the next): a new one is about 1 MB, 60 sheets' worth.
	var fw *flate.Writer
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		if fw == nil {
			var err error
			fw, err = flate.NewWriter(out, flate.BestSpeed)
			return fw, err
		}
		fw.Reset(out)
		return fw, nil
	})
	return zipWriter{Writer: zw, modified: modified.UTC()}
}

func (z zipWriter) Create(name string) (io.Writer, error) {
	w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.modified})
	if in := z.inject[name]; in != nil && err == nil {
		in.w = w
		return in, nil
	}
	return w, err
}

// sheetPath is the archive entry of a sheet excelize added with NewSheet
// (xl/worksheets/sheet<ID>.xml).
func sheetPath(f *excelize.File, name string) (string, error) {
	for id, n := range f.GetSheetMap() {
		if n == name {
			return fmt.Sprintf("xl/worksheets/sheet%d.xml", id), nil
		}
	}
	return "", fmt.Errorf("sheet %q is not in the workbook", name)
}

// countingWriter counts what reaches w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// styles are the workbook's cell styles.
type styles struct {
	header, date, clock, dateTime, hours, hhmm  int
	total, totalHours, totalHHMM, metadataLabel int
}

func newStyles(f *excelize.File) (styles, error) {
	var s styles
	var err error
	mk := func(dst *int, style *excelize.Style) {
		if err == nil {
			*dst, err = f.NewStyle(style)
		}
	}
	bold := &excelize.Font{Bold: true}
	headerFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}
	headerBorder := []excelize.Border{{Type: "bottom", Color: "808080", Style: 1}}
	mk(&s.header, &excelize.Style{Font: bold, Fill: headerFill, Border: headerBorder})
	mk(&s.date, &excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy")})
	mk(&s.clock, &excelize.Style{CustomNumFmt: ptr("hh:mm")})
	mk(&s.dateTime, &excelize.Style{CustomNumFmt: ptr("dd/mm/yyyy hh:mm")})
	mk(&s.hours, &excelize.Style{NumFmt: 2}) // 0.00, shown 7,50 by a French Excel
	mk(&s.hhmm, &excelize.Style{CustomNumFmt: ptr("[h]:mm")})
	mk(&s.total, &excelize.Style{Font: bold})
	mk(&s.totalHours, &excelize.Style{Font: bold, NumFmt: 2})
	mk(&s.totalHHMM, &excelize.Style{Font: bold, CustomNumFmt: ptr("[h]:mm")})
	mk(&s.metadataLabel, &excelize.Style{Font: bold})
	return s, err
}

func ptr[T any](v T) *T { return &v }

// columnStyle is the style a data column's cells get.
func (s styles) columnStyle(k cellKind) int {
	switch k {
	case cDate:
		return s.date
	case cClock:
		return s.clock
	case cHours:
		return s.hours
	case cHHMM:
		return s.hhmm
	}
	return 0
}

// newDataSheet adds a sheet, sets its columns and frozen header, and writes
// the header row.
func newDataSheet(f *excelize.File, name string, cols []column, st styles) (*excelize.StreamWriter, error) {
	if _, err := f.NewSheet(name); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	// Each call puts its column first in the sheet's <cols>, which Excel
	// wants in ascending order: set them from the last to the first.
	for j := len(cols) - 1; j >= 0; j-- {
		if s := st.columnStyle(cols[j].kind); s != 0 {
			if err := sw.SetColStyle(j+1, j+1, s); err != nil {
				return nil, err
			}
		}
		if err := sw.SetColWidth(j+1, j+1, cols[j].width); err != nil {
			return nil, err
		}
	}
	header := make([]any, len(cols))
	for j, c := range cols {
		header[j] = excelize.Cell{StyleID: st.header, Value: c.header}
	}
	if err := sw.SetPanes(frozenHeader()); err != nil {
		return nil, err
	}
	return sw, sw.SetRow("A1", header)
}

func frozenHeader() *excelize.Panes {
	return &excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}
}

// endDataSheet puts the autofilter on the header and data, and ends the
// stream. The autofilter is set after the rows (the range is known then)
// and before Flush, which writes it.
func endDataSheet(f *excelize.File, sw *excelize.StreamWriter, name string, ncols, lastRow int) error {
	if err := f.AutoFilter(name, "A1:"+cellName(ncols, lastRow), nil); err != nil {
		return err
	}
	return sw.Flush()
}

func cellName(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row) // col and row are ours, in range
	return name
}

// xlsxRow renders a row's cells as excelize values, reusing its slices.
type xlsxRow struct {
	st     styles
	cells  []cell
	values []any
}

func (x *xlsxRow) render() []any {
	for j, c := range x.cells {
		x.values[j] = x.value(c)
	}
	return x.values
}

func (x *xlsxRow) value(c cell) any {
	switch c.kind {
	case cText, cLabel:
		if c.s == "" {
			return nil
		}
		return c.s // an inline string: never evaluated as a formula
	case cDate:
		return excelDay(c.date)
	case cClock:
		v := excelTime(c.t)
		if civil.DateOf(c.t) != c.date {
			return cellWithStyle{style: x.st.dateTime, value: v}
		}
		return v
	case cHours:
		return excelHours(c.d)
	case cHHMM:
		return excelDuration(c.d)
	case cBool:
		return yesNo(c.b)
	}
	return nil
}

// Excel stores a day as the number of days since 1899-12-30 (serial 25569
// is 1970-01-01) and a time as a fraction of a day. Times are wall-clock
// times in the export's zone: Excel has no time zones.
const unixEpochSerial = 25569

func excelDay(d civil.Date) float64 {
	return float64(d.Time().Unix()/86400 + unixEpochSerial)
}

func excelTime(t time.Time) float64 {
	secs := t.Hour()*3600 + t.Minute()*60 + t.Second()
	return excelDay(civil.DateOf(t)) + float64(secs)/86400
}

func excelHours(d time.Duration) float64 { return float64(d/time.Minute) / 60 }

func excelDuration(d time.Duration) float64 { return float64(d/time.Minute) / 1440 }

// sheetNames turns site ids into sheet names Excel accepts: at most 31
// characters, none of : \ / ? * [ ] or ', unique whatever the case, never
// the summary's name nor Excel's reserved "History". A long or clashing
// name is cut and numbered (…~2).
func sheetNames(sites []string) []string {
	used := map[string]bool{strings.ToLower(SummarySheet): true, "history": true}
	out := make([]string, len(sites))
	for k, site := range sites {
		base := strings.Map(func(r rune) rune {
			switch r {
			case ':', '\\', '/', '?', '*', '[', ']', '\'':
				return '_'
			}
			if r < ' ' || r == utf8.RuneError {
				return '_'
			}
			return r
		}, site)
		if base == "" {
			base = "_"
		}
		name := truncateRunes(base, excelize.MaxSheetNameLength)
		for n := 2; used[strings.ToLower(name)]; n++ {
			suffix := fmt.Sprintf("~%d", n)
			name = truncateRunes(base, excelize.MaxSheetNameLength-len(suffix)) + suffix
		}
		used[strings.ToLower(name)] = true
		out[k] = name
	}
	return out
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// summary accumulates the Résumé figures while the rows are written.
type summary struct {
	kind   Kind
	groups []*group            // in order of first appearance
	byKey  map[string]*group   // site + "\x00" + session
	all    map[string]struct{} // staff: distinct people over every site
}

// group is one line of the summary: a site, or a site's session.
type group struct {
	site, session                              string
	rows, expected, occasional, corrected      int
	review, noOut, late, missingOut, anomalies int
	total                                      time.Duration // rounded to the minute, as shown
	people                                     map[string]struct{}
}

func newSummary(k Kind) *summary {
	return &summary{kind: k, byKey: map[string]*group{}, all: map[string]struct{}{}}
}

func (s *summary) group(site, session string) *group {
	key := site + "\x00" + session
	g := s.byKey[key]
	if g == nil {
		g = &group{site: site, session: session, people: map[string]struct{}{}}
		s.byKey[key] = g
		s.groups = append(s.groups, g)
	}
	return g
}

func (s *summary) add(e *Export, i int) {
	switch s.kind {
	case Meals:
		r := &e.Meals[i]
		g := s.group(r.Site, "")
		g.rows++
		switch r.Status {
		case StatusExpected:
			g.expected++
		case StatusOccasional:
			g.occasional++
		}
		g.corrected += b2i(r.Corrected)
		g.review += b2i(r.Review)
	case Garderie:
		r := &e.Garderie[i]
		g := s.group(r.Site, r.Session)
		g.rows++
		if r.Out == nil {
			g.noOut++
		} else {
			g.total += roundMinute(r.Duration)
		}
		g.late += b2i(r.Late)
		g.review += b2i(r.Review)
	case Staff:
		r := &e.Staff[i]
		g := s.group(r.Site, "")
		g.rows++
		g.total += roundMinute(r.Hours)
		g.people[r.PersonID] = struct{}{}
		s.all[r.PersonID] = struct{}{}
		if slices.Contains(r.Flags, FlagMissingClockOut) {
			g.missingOut++
		}
		if len(r.Flags) > 0 {
			g.anomalies++
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sorted returns the summary lines by site, then session (morning,
// evening, then the others by name).
func (s *summary) sorted() []*group {
	rank := func(session string) int {
		switch session {
		case SessionMorning:
			return 0
		case SessionEvening:
			return 1
		}
		return 2
	}
	gs := slices.Clone(s.groups)
	slices.SortStableFunc(gs, func(a, b *group) int {
		return cmp.Or(strings.Compare(a.site, b.site), cmp.Compare(rank(a.session), rank(b.session)),
			strings.Compare(a.session, b.session))
	})
	return gs
}

// summaryColumn is one column of the Résumé.
type summaryColumn struct {
	header string
	width  float64
	kind   cellKind // cText, cHours, cHHMM, or cEmpty for a count
	value  func(g *group) any
}

func summaryColumns(k Kind, n *Names) []summaryColumn {
	cols := []summaryColumn{{"Site", 22, cText, func(g *group) any { return g.site }}}
	if n != nil {
		cols = append(cols, summaryColumn{"École", 28, cText, func(g *group) any { return n.site(g.site) }})
	}
	return append(cols, figureColumns(k)...)
}

// figureColumns are the summary's columns after the site's.
func figureColumns(k Kind) []summaryColumn {
	review := summaryColumn{"À vérifier", 11, cEmpty, func(g *group) any { return g.review }}
	switch k {
	case Meals:
		return []summaryColumn{
			{"Repas", 10, cEmpty, func(g *group) any { return g.rows }},
			{"Prévus", 10, cEmpty, func(g *group) any { return g.expected }},
			{"Occasionnels", 13, cEmpty, func(g *group) any { return g.occasional }},
			{"Corrigés", 10, cEmpty, func(g *group) any { return g.corrected }},
			review,
		}
	case Garderie:
		return []summaryColumn{
			{"Séance", 19, cText, func(g *group) any { return sessionName(g.session) }},
			{"Présences", 11, cEmpty, func(g *group) any { return g.rows }},
			{"Heures", 10, cHours, func(g *group) any { return excelHours(g.total) }},
			{"Sans départ", 12, cEmpty, func(g *group) any { return g.noOut }},
			{"Retards", 9, cEmpty, func(g *group) any { return g.late }},
			review,
		}
	}
	return []summaryColumn{
		{"Agents", 9, cEmpty, func(g *group) any { return len(g.people) }},
		{"Journées", 10, cEmpty, func(g *group) any { return g.rows }},
		{"Heures", 10, cHours, func(g *group) any { return excelHours(g.total) }},
		{"Heures (hh:mm)", 15, cHHMM, func(g *group) any { return excelDuration(g.total) }},
		{"Sorties manquantes", 19, cEmpty, func(g *group) any { return g.missingOut }},
		{"Anomalies", 11, cEmpty, func(g *group) any { return g.anomalies }},
	}
}

// writeSummary fills the Résumé: a header, a line per site (per site and
// session for the garderie), a total line, then what the export is.
func writeSummary(f *excelize.File, st styles, s *summary, e *Export) error {
	const sheet = SummarySheet
	cols := summaryColumns(s.kind, e.Names)
	for j, c := range cols {
		col, _ := excelize.ColumnNumberToName(j + 1)
		if err := f.SetColWidth(sheet, col, col, c.width); err != nil {
			return err
		}
		if err := f.SetCellStr(sheet, cellName(j+1, 1), c.header); err != nil {
			return err
		}
	}
	lastCol := cellName(len(cols), 1)
	if err := f.SetCellStyle(sheet, "A1", lastCol, st.header); err != nil {
		return err
	}
	if err := f.SetPanes(sheet, frozenHeader()); err != nil {
		return err
	}

	groups := s.sorted()
	total := &group{site: "Total", people: s.all}
	row := 2
	for _, g := range groups {
		if err := setSummaryRow(f, st, cols, row, g, false); err != nil {
			return err
		}
		total.rows += g.rows
		total.expected += g.expected
		total.occasional += g.occasional
		total.corrected += g.corrected
		total.review += g.review
		total.noOut += g.noOut
		total.late += g.late
		total.missingOut += g.missingOut
		total.anomalies += g.anomalies
		total.total += g.total
		row++
	}
	if len(groups) > 0 {
		if err := setSummaryRow(f, st, cols, row, total, true); err != nil {
			return err
		}
		row++
	}

	// What the export is, below the figures.
	row++
	scope := e.Site
	if scope == "" {
		scope = "tous les sites"
	} else if e.Names != nil && e.Names.site(e.Site) != e.Site {
		scope = e.Names.site(e.Site) + " (" + e.Site + ")"
	}
	meta := [][2]any{
		{"Export", kindTitle(e.Kind)},
		{"Mois", frenchMonth(e.Month)},
		{"Site", scope},
	}
	if !e.GeneratedAt.IsZero() {
		meta = append(meta, [2]any{"Généré le", excelTime(e.GeneratedAt.In(e.Loc))})
	}
	for _, m := range meta {
		if err := f.SetCellValue(sheet, cellName(1, row), m[0]); err != nil {
			return err
		}
		if err := f.SetCellStyle(sheet, cellName(1, row), cellName(1, row), st.metadataLabel); err != nil {
			return err
		}
		if err := f.SetCellValue(sheet, cellName(2, row), m[1]); err != nil {
			return err
		}
		if _, isTime := m[1].(float64); isTime {
			if err := f.SetCellStyle(sheet, cellName(2, row), cellName(2, row), st.dateTime); err != nil {
				return err
			}
		}
		row++
	}
	return nil
}

func setSummaryRow(f *excelize.File, st styles, cols []summaryColumn, row int, g *group, isTotal bool) error {
	for j, c := range cols {
		ref := cellName(j+1, row)
		v := c.value(g)
		if isTotal && j > 0 && c.kind == cText {
			v = "" // no session on the total line
		}
		if err := f.SetCellValue(SummarySheet, ref, v); err != nil {
			return err
		}
		style := 0
		switch {
		case c.kind == cHours:
			style = pick(isTotal, st.totalHours, st.hours)
		case c.kind == cHHMM:
			style = pick(isTotal, st.totalHHMM, st.hhmm)
		case isTotal:
			style = st.total
		}
		if style != 0 {
			if err := f.SetCellStyle(SummarySheet, ref, ref, style); err != nil {
				return err
			}
		}
	}
	return nil
}

func pick(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

func kindTitle(k Kind) string {
	switch k {
	case Meals:
		return "Repas"
	case Garderie:
		return "Garderie"
	}
	return "Heures des agents"
}

func setDocProps(f *excelize.File, e *Export) error {
	p := &excelize.DocProperties{
		Creator:  "pointage",
		Title:    fmt.Sprintf("%s — %s", kindTitle(e.Kind), frenchMonth(e.Month)),
		Language: "fr-FR",
	}
	if !e.GeneratedAt.IsZero() {
		p.Created = e.GeneratedAt.UTC().Format(time.RFC3339)
		p.Modified = p.Created
	}
	return f.SetDocProps(p)
}
