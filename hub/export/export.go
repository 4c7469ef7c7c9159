package export

import (
	"fmt"
	"io"
	"pointage/internal/civil"
	"strings"
	"time"
)

// Kind says which monthly figures an Export holds.
type Kind string

// The three kinds of export (docs/DESIGN.md §7: `export meals|garderie|staff`).
const (
	Meals    Kind = "meals"
	Garderie Kind = "garderie"
	Staff    Kind = "staff"
)

// Valid reports whether k is one of the three kinds.
func (k Kind) Valid() bool { return k == Meals || k == Garderie || k == Staff }

// The formats WriteTo and FileName know.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// The statuses of a MealRow.
const (
	StatusExpected   = "expected"   // enrolled that day (roster canteen_days)
	StatusOccasional = "occasional" // served, not expected: billed as an occasional meal
)

// The staff flags this package translates into French; others are shown
// as given. The first three are the hub's counting flags (pointage/hub/counts).
const (
	FlagMissingClockOut = "missing_clock_out"           // sortie manquante
	FlagMissingClockIn  = "missing_clock_in"            // entrée manquante
	FlagClockOutUnused  = "clock_out_correction_unused" // correction de sortie inutilisée
	FlagReview          = "review"                      // à vérifier
	FlagCorrected       = "corrected"                   // corrigé
)

// The default garderie sessions (docs/DESIGN.md §5), shown with a French label.
const (
	SessionMorning = "garderie-matin"
	SessionEvening = "garderie-soir"
)

// MealRow is one meal served (or expected) to one child on one day.
type MealRow struct {
	Date      civil.Date
	Site      string
	PersonID  string
	LastName  string
	FirstName string
	FamilyID  string // roster family_id, for the billing software
	Class     string
	Regime    string
	Status    string // StatusExpected or StatusOccasional
	Review    bool   // an edit check asks the office to look at it
	Corrected bool   // added by a correction
}

// GarderieRow is one child's stay in one garderie session.
type GarderieRow struct {
	Date         civil.Date
	Site         string
	Session      string // SessionMorning, SessionEvening or a site's own name
	PersonID     string
	LastName     string
	FirstName    string
	FamilyID     string
	Class        string
	In           time.Time
	Out          *time.Time    // nil = never checked out
	Duration     time.Duration // 0 when Out is nil
	Late         bool          // checked out after the session's end
	StillPresent bool
	Review       bool
}

// Pair is one clock-in and its clock-out (nil when missing: flagged, never
// guessed).
type Pair struct {
	In  time.Time
	Out *time.Time
}

// StaffRow is one member of staff's clock-ins on one day.
type StaffRow struct {
	Date      civil.Date
	Site      string
	PersonID  string
	LastName  string
	FirstName string
	Pairs     []Pair
	Hours     time.Duration
	Flags     []string // FlagMissingClockOut, FlagReview, FlagCorrected, …
}

// Export is one month of one kind of figures, for one site or every site.
// Only the slice that matches Kind is read. Rows may come in any order; the
// writers sort them and never modify the slices.
type Export struct {
	Kind        Kind
	Month       string         // YYYY-MM
	Site        string         // "" = every site
	Loc         *time.Location // the sites' time zone (Pacific/Noumea); required
	Meals       []MealRow
	Garderie    []GarderieRow
	Staff       []StaffRow
	GeneratedAt time.Time // shown in the XLSX summary when set
	// Names, when set, are the display names the XLSX shows beside the
	// ids (docs/DESIGN.md §12); the CSV never reads them. nil: the ids alone.
	Names *Names
}

// Names are the display names of sites and diets. An id or code not in
// them is shown as it is.
type Names struct {
	Sites map[string]string // site id -> "École de Rivière-Salée"
	Diets map[string]string // diet code (MealRow.Regime) -> "Végétarien"
}

// site is a site's display name, or its id.
func (n *Names) site(id string) string { return lookup(n.Sites, id) }

func lookup(m map[string]string, id string) string {
	if v := m[id]; v != "" {
		return v
	}
	return id
}

// Len returns the number of rows of the export's kind.
func (e Export) Len() int {
	switch e.Kind {
	case Meals:
		return len(e.Meals)
	case Garderie:
		return len(e.Garderie)
	case Staff:
		return len(e.Staff)
	}
	return 0
}

// WriteTo writes e to w in the given format ("csv" or "xlsx"); progress,
// if not nil, is called every 5,000 rows and at the end.
func WriteTo(w io.Writer, format string, e Export, progress func(done, total int)) error {
	switch strings.ToLower(format) {
	case FormatCSV:
		return WriteCSV(w, e, progress)
	case FormatXLSX:
		return WriteXLSX(w, e, progress)
	}
	return fmt.Errorf("format %q (want csv or xlsx): %w", format, ErrUnknownFormat)
}

// ValidFormat reports whether format is "csv" or "xlsx" (any case).
func ValidFormat(format string) bool {
	f := strings.ToLower(format)
	return f == FormatCSV || f == FormatXLSX
}

// ContentType returns the HTTP Content-Type of a format.
func ContentType(format string) string {
	switch strings.ToLower(format) {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatXLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/octet-stream"
}

// FileName returns the name the office sees for e in format:
// pointage-repas-2026-11.csv, pointage-garderie-2026-11-jules-ferry.xlsx,
// pointage-agents-2026-11.csv. Every part is reduced to [a-z0-9-], so the
// name is safe in a Content-Disposition header and on any file system.
func FileName(e Export, format string) string {
	var b strings.Builder
	b.WriteString("pointage-")
	b.WriteString(kindLabel(e.Kind))
	b.WriteString("-")
	b.WriteString(safeName(e.Month))
	if e.Site != "" {
		b.WriteString("-")
		b.WriteString(safeName(e.Site))
	}
	b.WriteString(".")
	b.WriteString(safeName(format))
	return b.String()
}

// kindLabel is the French word for a kind, used in file names.
func kindLabel(k Kind) string {
	switch k {
	case Meals:
		return "repas"
	case Garderie:
		return "garderie"
	case Staff:
		return "agents"
	}
	return safeName(string(k))
}

// safeName lowercases s and replaces whatever is not [a-z0-9-] by a dash.
func safeName(s string) string {
	s = strings.ToLower(s)
	b := []byte(s)
	out := b[:0]
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			out = append(out, c)
		} else {
			out = append(out, '-')
		}
	}
	if len(out) == 0 {
		return "x"
	}
	return string(out)
}

// validate checks what both writers rely on, before anything is written.
func validate(e Export) error {
	if !e.Kind.Valid() {
		return fmt.Errorf("kind %q (want meals, garderie or staff): %w", e.Kind, ErrInvalidExport)
	}
	if e.Loc == nil {
		return fmt.Errorf("no time zone (Loc): %w", ErrInvalidExport)
	}
	m, err := civil.ParseMonth(e.Month)
	if err != nil {
		return fmt.Errorf("month %q (want YYYY-MM): %w", e.Month, ErrInvalidExport)
	}
	year, month := m.Year, m.Month
	check := func(i int, d civil.Date, site string) error {
		if d.Year != year || d.Month != month || !d.Valid() {
			return fmt.Errorf("%s row %d: day %s is not in month %s: %w", e.Kind, i, d, e.Month, ErrInvalidExport)
		}
		if e.Site != "" && site != e.Site {
			return fmt.Errorf("%s row %d: site %q in an export of site %q: %w", e.Kind, i, site, e.Site, ErrInvalidExport)
		}
		return nil
	}
	switch e.Kind {
	case Meals:
		for i := range e.Meals {
			if err := check(i, e.Meals[i].Date, e.Meals[i].Site); err != nil {
				return err
			}
		}
	case Garderie:
		for i := range e.Garderie {
			if err := check(i, e.Garderie[i].Date, e.Garderie[i].Site); err != nil {
				return err
			}
		}
	case Staff:
		for i := range e.Staff {
			if err := check(i, e.Staff[i].Date, e.Staff[i].Site); err != nil {
				return err
			}
		}
	}
	return nil
}

// progressEvery is how many rows pass between two progress calls.
const progressEvery = 5000

// reporter calls progress every progressEvery rows and once at the end.
type reporter struct {
	fn          func(done, total int)
	done, total int
}

func (r *reporter) row() {
	r.done++
	if r.fn != nil && r.done%progressEvery == 0 {
		r.fn(r.done, r.total)
	}
}

func (r *reporter) end() {
	if r.fn != nil && (r.done == 0 || r.done%progressEvery != 0) {
		r.fn(r.done, r.total)
	}
}
