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
	Line int // 1-based physical line in the file; the header is line 1
	// Reason says, in French (the office reads it, in the dashboard and
	// in the command's output), what is wrong and how to fix it, naming
	// the columns as the file's header does: "colonne person_id vide".
	Reason string
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
		return nil, fmt.Errorf("%w: fichier de plus de %d Mo", ErrInvalidFile, MaxFileSize>>20)
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) { // a ZIP: an Excel workbook
		return parseXLSX(data)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		return nil, fmt.Errorf("%w: la ligne %d n'est pas du texte UTF-8 : enregistrez le fichier au format « CSV UTF-8 » (dans Excel : Enregistrer sous, CSV UTF-8 (délimité par des virgules))", ErrInvalidFile, line)
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
		return nil, fmt.Errorf("%w: le fichier est vide ; il faut une ligne d'en-tête : %s", ErrInvalidFile, strings.Join(RequiredColumns, ";"))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: en-tête illisible : %v", ErrInvalidFile, err)
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
		return fmt.Errorf("%w: les lignes %d à %d se lisent comme une seule : un guillemet ouvert ligne %d n'est sans doute pas refermé (ou une valeur contient un retour à la ligne) ; corrigez les guillemets, rien n'a été importé",
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
			return nil, fmt.Errorf("%w: ligne %d : la colonne %s apparaît deux fois (colonnes %d et %d) : n'en gardez qu'une", ErrInvalidFile, line, name, j+1, i+1)
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
			hint = " (l'en-tête n'a qu'une colonne : séparez les colonnes par ; ou ,)"
		}
		return nil, fmt.Errorf("%w: ligne %d : colonne(s) obligatoire(s) absente(s) : %s%s ; l'en-tête doit nommer %s (dans n'importe quel ordre ; card_number et family_id sont facultatives)",
			ErrInvalidFile, line, strings.Join(missing, ", "), hint, strings.Join(RequiredColumns, string(sep)))
	}
	return cols, nil
}

// parseCard sets p.Match from the badge column, or from card_number when
// the badge is empty, and returns how to name the card in a message.
func (rp *rowParser) parseCard(p *Person, badge string, bad func(string, ...any)) string {
	switch {
	case badge == "" && p.CardNumber == "":
		bad("colonnes badge et card_number vides : indiquez l'identifiant hexadécimal du badge (par ex. 13005D1DA5) ou le numéro imprimé sur la carte (par ex. 0006102437)")
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
				bad("badge %s et card_number %s : ce n'est pas la même carte ; corrigez l'un des deux, ou laissez card_number vide", m.Badge, p.CardNumber)
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

// cardRef says where a card was first seen in the file, and whose it is.
type cardRef struct {
	line     int
	desc     string // "badge 13005D1DA5" or "card_number 0006102437"
	personID string
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
		bad("%d valeurs alors que l'en-tête a %d colonnes : une valeur contient le séparateur « %c » ; mettez-la entre guillemets", len(rec), rp.width, rp.sep)
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
		if msg := checkText(v, maxLen, required).french(field, maxLen); msg != "" {
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
		bad("colonne role vide : indiquez child (ou enfant) ou staff (ou agent)")
	default:
		bad("rôle inconnu : %s ; indiquez child (ou enfant) ou staff (ou agent)", quote(get(ColRole)))
	}
	text(ColLastName, p.LastName, maxNameLen, true)
	text(ColFirstName, p.FirstName, maxNameLen, true)
	switch {
	case p.Site == "":
		bad("colonne site vide : indiquez l'identifiant de l'école (par ex. jules-ferry)")
	case !wire.ValidSiteOrDevice(p.Site):
		bad("site %s : ce n'est pas un identifiant d'école (lettres minuscules, chiffres et tirets, commençant par une lettre ou un chiffre, 63 caractères au plus, par ex. jules-ferry)", quote(get(ColSite)))
	}
	text(ColClass, p.Class, maxIDLen, false)
	text(ColRegime, p.Regime, maxIDLen, false)
	if days, err := ParseWeekdays(get(ColCanteenDays)); err != nil {
		bad("canteen_days : %v", err)
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
			bad("person_id %s déjà présent (ligne %d) : une seule ligne par personne", p.PersonID, first)
		}
		if ref, dup := rp.cards.find(p.Match); dup {
			if ref.desc == cardDesc {
				bad("%s déjà utilisé par %s (ligne %d) : une carte n'appartient qu'à une personne", cardDesc, ref.personID, ref.line)
			} else {
				bad("%s : même carte que %s de %s (ligne %d) ; une carte n'appartient qu'à une personne", cardDesc, ref.desc, ref.personID, ref.line)
			}
		}
	}
	if len(problems) > 0 {
		return Person{}, &RowError{Line: line, Reason: strings.Join(problems, " ; "), PersonID: p.PersonID}
	}
	rp.ids[p.PersonID] = line
	rp.cards.add(p.Match, cardRef{line, cardDesc, p.PersonID})
	return p, nil
}
