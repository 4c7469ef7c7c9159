package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"pointage/internal/wire"
)

// MaxFileSize is the largest roster file Parse reads (10,000 people take
// about 1 MB).
const MaxFileSize = 64 << 20

// Column names of the roster CSV (docs/DESIGN.md §10).
const (
	ColBadge       = "badge"
	ColPersonID    = "person_id"
	ColRole        = "role"
	ColLastName    = "last_name"
	ColFirstName   = "first_name"
	ColSite        = "site"
	ColClass       = "class"
	ColRegime      = "regime"
	ColCanteenDays = "canteen_days"
	ColGarderie    = "garderie"
	ColCardNumber  = "card_number" // optional
	ColFamilyID    = "family_id"   // optional
)

// RequiredColumns must all be in the header, in any order.
var RequiredColumns = []string{ColBadge, ColPersonID, ColRole, ColLastName, ColFirstName,
	ColSite, ColClass, ColRegime, ColCanteenDays, ColGarderie}

// ParseResult is what Parse found in a roster file.
type ParseResult struct {
	// People are the good rows, in file order, normalized and checked.
	People []Person
	// Errors are the bad rows, in file order.
	Errors []RowError
	// Rows counts the data rows (blank rows aside).
	Rows int
}

// RowError is a bad row: its line and what to fix.
type RowError struct {
	Line   int    // 1-based physical line in the file; the header is line 1
	Reason string // in English, says what is wrong and how to fix it
	// PersonID is the row's person_id when it had one: an import leaves a
	// known person whose row is bad as they were instead of removing them.
	PersonID string
}

func (e RowError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Parse reads a roster CSV (docs/DESIGN.md §10): a header row naming the columns
// (any case and order; spaces or dashes in names count as underscores;
// unknown columns are ignored), separated by ";" or "," (or tab) as the
// header line shows (an Excel "sep=;" first line is honoured), UTF-8 with
// or without a byte-order mark, CRLF, LF or CR line ends. Blank rows are
// skipped. Each bad row becomes a RowError and the other rows still count.
// A file that cannot be read as a roster at all (not UTF-8, no header, a
// required column missing) is an error wrapping ErrInvalidFile.
func Parse(r io.Reader) (*ParseResult, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: larger than %d MB", ErrInvalidFile, MaxFileSize>>20)
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) { // a ZIP: an Excel workbook
		return parseXLSX(data)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		return nil, fmt.Errorf("%w: line %d is not UTF-8 text: save the file as \"CSV UTF-8\" (in Excel: Save As, CSV UTF-8 (comma delimited))", ErrInvalidFile, line)
	}
	if bytes.IndexByte(data, '\n') < 0 {
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n")) // old Mac line ends
	}

	lineOffset := 0
	sep, hinted := sepHint(data)
	if hinted {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data) - 1
		}
		data, lineOffset = data[i+1:], 1
	} else {
		sep = detectSep(data)
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true // a stray quote in a name is kept as typed
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the file is empty; it needs a header row: %s", ErrInvalidFile, strings.Join(RequiredColumns, ";"))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrInvalidFile, err)
	}
	headerLine, _ := cr.FieldPos(0)
	cols, err := mapColumns(header, headerLine+lineOffset, sep)
	if err != nil {
		return nil, err
	}

	return parseRows(cols, len(header), sep, func() ([]string, int, error) {
		rec, err := cr.Read()
		if err != nil { // LazyQuotes and FieldsPerRecord -1 leave only EOF and I/O errors
			return nil, 0, err
		}
		start, _ := cr.FieldPos(0)
		start += lineOffset
		return rec, start, checkSpan(rec, start, len(header), cols)
	})
}

// parseRows parses the rows next returns (with their line number) until
// io.EOF, in columns cols of a header width wide.
func parseRows(cols map[string]int, width int, sep rune, next func() ([]string, int, error)) (*ParseResult, error) {
	p := &rowParser{cols: cols, width: width, sep: sep,
		ids: map[string]int{}, cards: newCardSet[cardRef]()}
	res := &ParseResult{}
	for {
		rec, start, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrInvalidFile) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("read roster: %w", err)
		}
		if blank(rec) {
			continue
		}
		res.Rows++
		person, rowErr := p.parse(rec, start)
		if rowErr != nil {
			res.Errors = append(res.Errors, *rowErr)
			continue
		}
		res.People = append(res.People, person)
	}
	return res, nil
}

// sepHint reads Excel's optional first line "sep=X".
func sepHint(data []byte) (rune, bool) {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	first = bytes.TrimRight(first, "\r")
	if len(first) == 5 && strings.EqualFold(string(first[:4]), "sep=") && strings.ContainsRune(";,\t", rune(first[4])) {
		return rune(first[4]), true
	}
	return 0, false
}

// detectSep picks, among ; , and tab, the one the header line holds most
// often (outside quotes); ";" wins ties.
func detectSep(data []byte) rune {
	counts := map[rune]int{}
	inQuote := false
	for _, c := range string(data) {
		if c == '"' {
			inQuote = !inQuote
		}
		if !inQuote && (c == '\n' || c == '\r') {
			break
		}
		if !inQuote {
			counts[c]++
		}
	}
	best := ';'
	for _, c := range []rune{',', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// checkSpan refuses the file when a record runs over several lines in a way
// that shows an unclosed double quote: a line break in a column the roster
// uses, or a field count that differs from the header's. Rows swallowed by
// such a quote would otherwise silently drop out of the roster. (A line
// break inside an ignored column, such as a note typed with Alt+Enter in
// Excel, is fine.)
func checkSpan(rec []string, start, width int, cols map[string]int) error {
	extra := 0
	for _, f := range rec {
		extra += strings.Count(strings.TrimRight(f, "\n"), "\n")
	}
	if extra == 0 {
		return nil
	}
	used := false
	for _, i := range cols {
		if i < len(rec) && strings.Contains(rec[i], "\n") {
			used = true
		}
	}
	if used || len(rec) != width {
		return fmt.Errorf("%w: lines %d to %d read as one row: a double quote opened on line %d is probably not closed (or a value has a line break); fix the quotes, nothing was imported",
			ErrInvalidFile, start, start+extra, start)
	}
	return nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func normalizeColumn(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

// mapColumns returns the index of every known column in the header.
func mapColumns(header []string, line int, sep rune) (map[string]int, error) {
	known := append(slices.Clone(RequiredColumns), ColCardNumber, ColFamilyID)
	cols := map[string]int{}
	for i, h := range header {
		name := normalizeColumn(h)
		if !slices.Contains(known, name) {
			continue
		}
		if j, dup := cols[name]; dup {
			return nil, fmt.Errorf("%w: line %d: column %s appears twice (columns %d and %d): keep one", ErrInvalidFile, line, name, j+1, i+1)
		}
		cols[name] = i
	}
	var missing []string
	for _, c := range RequiredColumns {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		hint := ""
		if len(header) == 1 {
			hint = " (the header has a single column: separate the columns with ; or ,)"
		}
		return nil, fmt.Errorf("%w: line %d: missing required column(s) %s%s; the header needs %s (any order; card_number and family_id are optional)",
			ErrInvalidFile, line, strings.Join(missing, ", "), hint, strings.Join(RequiredColumns, string(sep)))
	}
	return cols, nil
}

// parseCard sets p.Match from the badge column, or from card_number when
// the badge is empty, and returns how to name the card in a message.
func (rp *rowParser) parseCard(p *Person, badge string, bad func(string, ...any)) string {
	switch {
	case badge == "" && p.CardNumber == "":
		bad("badge and card_number are both empty: give the badge's hex id (e.g. 13005D1DA5) or the number printed on the card (e.g. 0006102437)")
	case badge != "":
		m, err := ParseBadge(badge)
		if err != nil {
			bad("%v", err)
			return ""
		}
		p.Match = m
		if p.CardNumber != "" {
			c, err := ParseCardNumber(p.CardNumber)
			if err != nil {
				bad("%v", err)
			} else if !c.Matches(m.Badge) {
				bad("badge %s and card_number %s are not the same card: correct one of them, or leave card_number empty", m.Badge, p.CardNumber)
			}
		}
		return "badge " + m.Badge
	default:
		m, err := ParseCardNumber(p.CardNumber)
		if err != nil {
			bad("%v", err)
			return ""
		}
		p.Match = m
		return "card_number " + p.CardNumber
	}
	return ""
}

// cardRef says where a card was first seen in the file.
type cardRef struct {
	line int
	desc string // "badge 13005D1DA5" or "card_number 0006102437"
}

type rowParser struct {
	cols  map[string]int
	width int
	sep   rune
	ids   map[string]int // person_id -> first line
	cards *cardSet[cardRef]
}

// parse checks one record and returns the person, or every problem of the
// row in one RowError.
func (rp *rowParser) parse(rec []string, line int) (Person, *RowError) {
	get := func(col string) string {
		i, ok := rp.cols[col]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if len(rec) > rp.width && !blank(rec[rp.width:]) {
		bad("%d fields but the header has %d: a value contains the separator %q; put it between double quotes", len(rec), rp.width, rp.sep)
	}
	p := Person{
		PersonID:   get(ColPersonID),
		LastName:   get(ColLastName),
		FirstName:  get(ColFirstName),
		Site:       strings.ToLower(get(ColSite)),
		Class:      get(ColClass),
		Regime:     normalizeRegime(get(ColRegime)),
		CardNumber: get(ColCardNumber),
		FamilyID:   get(ColFamilyID),
		Line:       line,
	}
	text := func(field, v string, maxLen int, required bool) {
		if msg := checkText(field, v, maxLen, required); msg != "" {
			bad("%s", msg)
		}
	}

	// Problems are listed in the contract's column order.
	cardDesc := rp.parseCard(&p, get(ColBadge), bad)
	text(ColPersonID, p.PersonID, maxIDLen, true)
	switch role, ok := parseRole(get(ColRole)); {
	case ok:
		p.Role = role
	case get(ColRole) == "":
		bad("role is empty: use child or staff")
	default:
		bad("role %q is not child or staff", get(ColRole))
	}
	text(ColLastName, p.LastName, maxNameLen, true)
	text(ColFirstName, p.FirstName, maxNameLen, true)
	switch {
	case p.Site == "":
		bad("site is empty: give the school's site id (e.g. jules-ferry)")
	case !wire.ValidSiteOrDevice(p.Site):
		bad("site %q is not a site id: use lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters (e.g. jules-ferry)", get(ColSite))
	}
	text(ColClass, p.Class, maxIDLen, false)
	text(ColRegime, p.Regime, maxIDLen, false)
	if days, err := ParseWeekdays(get(ColCanteenDays)); err != nil {
		bad("canteen_days: %v", err)
	} else {
		p.CanteenDays = days
	}
	if g, err := ParseGarderie(get(ColGarderie)); err != nil {
		bad("%v", err)
	} else {
		p.Garderie = g
	}
	text(ColCardNumber, p.CardNumber, maxIDLen, false)
	text(ColFamilyID, p.FamilyID, maxIDLen, false)

	// Duplicates are checked against the rows already accepted.
	if len(problems) == 0 {
		if first, dup := rp.ids[p.PersonID]; dup {
			bad("person_id %s is already on line %d: each person has one row", p.PersonID, first)
		}
		if ref, dup := rp.cards.find(p.Match); dup {
			if ref.desc == cardDesc {
				bad("%s is already on line %d: each card belongs to one person", cardDesc, ref.line)
			} else {
				bad("%s is the same card as %s on line %d: each card belongs to one person", cardDesc, ref.desc, ref.line)
			}
		}
	}
	if len(problems) > 0 {
		return Person{}, &RowError{Line: line, Reason: strings.Join(problems, "; "), PersonID: p.PersonID}
	}
	rp.ids[p.PersonID] = line
	rp.cards.add(p.Match, cardRef{line, cardDesc})
	return p, nil
}
