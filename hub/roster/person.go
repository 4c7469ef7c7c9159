package roster

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"pointage/internal/wire"
)

// Role says whether a person is a child or a member of staff.
type Role string

// The two roles of the roster's role column.
const (
	RoleChild Role = "child"
	RoleStaff Role = "staff"
)

// Person is one row of the roster: who carries a badge, where, and what
// they are enrolled for. A Person read from the database is one version of
// that person, valid on the day asked for.
type Person struct {
	PersonID  string
	Role      Role
	LastName  string
	FirstName string
	Site      string // a site id (wire.ValidSiteOrDevice)
	Class     string // free text, may be empty (staff)
	// Regime is the diet: lowercase, accents folded, spaces as dashes
	// ("standard", "sans-porc", "vegetarien", "pai"); never empty.
	Regime      string
	CanteenDays Weekdays // the weekdays the child is enrolled at the canteen
	Garderie    Garderie // the garderie sessions the child is enrolled in
	// Match is the person's badge and how a scanned badge is compared with
	// it (exactly, or on its low 32 or 24 bits when the roster gave only
	// the number printed on the card).
	Match Match
	// CardNumber is the number printed on the card, as the row gave it
	// (8H10D "0006102437" or Wiegand "093,07589"); empty if none.
	CardNumber string
	FamilyID   string // passes through to the exports
	// Line is the row's line in the CSV file it was parsed from; 0 when the
	// person was read from the database. It is not part of the person's
	// data: two versions that differ only by Line are the same.
	Line int
}

// Matches reports whether a scanned badge is this person's (see Match.Matches).
func (p Person) Matches(scanned string) bool { return p.Match.Matches(scanned) }

// sameAs reports whether p and q hold the same data (Line aside).
func (p Person) sameAs(q Person) bool {
	p.Line, q.Line = 0, 0
	return p == q
}

// Validate checks the fields of a person built by hand (Parse only returns
// valid people). The error names the field.
func (p Person) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if msg := checkText(p.PersonID, maxIDLen, true).english("person_id", maxIDLen); msg != "" {
		add("%s", msg)
	}
	if p.Role != RoleChild && p.Role != RoleStaff {
		add("role %q is not child or staff", p.Role)
	}
	for _, f := range []struct{ name, v string }{{"last_name", p.LastName}, {"first_name", p.FirstName}} {
		if msg := checkText(f.v, maxNameLen, true).english(f.name, maxNameLen); msg != "" {
			add("%s", msg)
		}
	}
	if !wire.ValidSiteOrDevice(p.Site) {
		add("site %q is not a site id", p.Site)
	}
	if msg := checkText(p.Class, maxIDLen, false).english("class", maxIDLen); msg != "" {
		add("%s", msg)
	}
	if p.Regime == "" || p.Regime != normalizeRegime(p.Regime) {
		add("regime %q is not normalized (lowercase, no accents, dashes for spaces)", p.Regime)
	}
	if p.CanteenDays&^allWeekdays != 0 {
		add("canteen_days %#x has unknown bits", uint8(p.CanteenDays))
	}
	if p.Garderie&^(GarderieMatin|GarderieSoir) != 0 {
		add("garderie %#x has unknown bits", uint8(p.Garderie))
	}
	if err := p.Match.validate(); err != nil {
		add("%v", err)
	}
	if msg := checkText(p.CardNumber, maxIDLen, false).english("card_number", maxIDLen); msg != "" {
		add("%s", msg)
	}
	if msg := checkText(p.FamilyID, maxIDLen, false).english("family_id", maxIDLen); msg != "" {
		add("%s", msg)
	}
	if len(errs) > 0 {
		return fmt.Errorf("person %q: %s", p.PersonID, strings.Join(errs, "; "))
	}
	return nil
}

const (
	maxIDLen   = 64
	maxNameLen = 100
)

// textProblem is what is wrong with a text field.
type textProblem int

const (
	textOK textProblem = iota
	textEmpty
	textTooLong
	textControl // a line break or another control character
)

// checkText returns what is wrong with a text field.
func checkText(v string, maxLen int, required bool) textProblem {
	switch {
	case required && v == "":
		return textEmpty
	case utf8.RuneCountInString(v) > maxLen:
		return textTooLong
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return textControl
	}
	return textOK
}

// english says it for Validate (a person built by code), or "".
func (pb textProblem) english(field string, maxLen int) string {
	switch pb {
	case textEmpty:
		return field + " is empty"
	case textTooLong:
		return fmt.Sprintf("%s is longer than %d characters", field, maxLen)
	case textControl:
		return field + " contains a line break or control character"
	}
	return ""
}

// french says it for a rejected row (the office reads it), or "".
func (pb textProblem) french(field string, maxLen int) string {
	switch pb {
	case textEmpty:
		return "colonne " + field + " vide"
	case textTooLong:
		return fmt.Sprintf("colonne %s trop longue : %d caractères au plus", field, maxLen)
	case textControl:
		return "colonne " + field + " : retour à la ligne ou caractère de contrôle à enlever"
	}
	return ""
}

// quote puts a value as typed in a French message: « value », cut after
// 40 characters, control characters shown as spaces.
func quote(v string) string {
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, v)
	if utf8.RuneCountInString(v) > 40 {
		v = string([]rune(v)[:40]) + "…"
	}
	return "« " + v + " »"
}

// Weekdays is a set of days of the week, bit 1<<time.Weekday.
type Weekdays uint8

const allWeekdays Weekdays = 1<<7 - 1

// Has reports whether d is in the set.
func (w Weekdays) Has(d time.Weekday) bool { return w&(1<<d) != 0 }

// With returns the set plus d.
func (w Weekdays) With(d time.Weekday) Weekdays { return w | 1<<d }

// weekOrder is Monday first, as French timetables are written.
var weekOrder = [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

var frenchShort = map[time.Weekday]string{
	time.Monday: "lu", time.Tuesday: "ma", time.Wednesday: "me", time.Thursday: "je",
	time.Friday: "ve", time.Saturday: "sa", time.Sunday: "di",
}

// String returns the canonical form, the contract's short French names in
// week order: "lu ma je ve". The empty set is "".
func (w Weekdays) String() string {
	var b strings.Builder
	for _, d := range weekOrder {
		if w.Has(d) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(frenchShort[d])
		}
	}
	return b.String()
}

// dayNames maps every accepted spelling (lowercase) to its day.
var dayNames = func() map[string]time.Weekday {
	m := map[string]time.Weekday{}
	for d, names := range map[time.Weekday][]string{
		time.Monday:    {"lu", "lun", "lundi", "mon", "monday"},
		time.Tuesday:   {"ma", "mar", "mardi", "tue", "tues", "tuesday"},
		time.Wednesday: {"me", "mer", "mercredi", "wed", "wednesday"},
		time.Thursday:  {"je", "jeu", "jeudi", "thu", "thur", "thurs", "thursday"},
		time.Friday:    {"ve", "ven", "vendredi", "fri", "friday"},
		time.Saturday:  {"sa", "sam", "samedi", "sat", "saturday"},
		time.Sunday:    {"di", "dim", "dimanche", "sun", "sunday"},
	} {
		for _, n := range names {
			m[n] = d
		}
	}
	return m
}()

// ParseWeekdays parses days separated by spaces or commas (also ; / +):
// lu ma me je ve sa di, mon tue wed thu fri sat sun, the full French or
// English names, or the three-letter French ones, in any case. Empty text
// is the empty set (enrolled on no day). The error says in French what to
// type: it is a rejected row's reason.
func ParseWeekdays(s string) (Weekdays, error) {
	var w Weekdays
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;/+", r)
	}) {
		d, ok := dayNames[strings.ToLower(strings.TrimSuffix(tok, "."))]
		if !ok {
			return 0, fmt.Errorf("%s n'est pas un jour (lu ma me je ve sa di, ou mon tue wed thu fri sat sun)", quote(tok))
		}
		w = w.With(d)
	}
	return w, nil
}

// Garderie is the set of garderie sessions a child is enrolled in.
type Garderie uint8

// The two sessions of the roster's garderie column.
const (
	GarderieMatin Garderie = 1 << iota // morning, before class
	GarderieSoir                       // evening, after class
)

// String returns "", "matin", "soir" or "matin+soir".
func (g Garderie) String() string {
	switch g {
	case 0:
		return ""
	case GarderieMatin:
		return "matin"
	case GarderieSoir:
		return "soir"
	case GarderieMatin | GarderieSoir:
		return "matin+soir"
	}
	return fmt.Sprintf("Garderie(%#x)", uint8(g))
}

// Has reports whether every session of s is in g.
func (g Garderie) Has(s Garderie) bool { return s != 0 && g&s == s }

// ParseGarderie parses matin, soir, matin+soir (also "soir+matin", or the
// two words separated by a space or comma), case-insensitive; empty means
// no garderie. The error is in French, as ParseWeekdays'.
func ParseGarderie(s string) (Garderie, error) {
	var g Garderie
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;/+", r)
	}) {
		switch strings.ToLower(tok) {
		case "matin":
			g |= GarderieMatin
		case "soir":
			g |= GarderieSoir
		default:
			return 0, fmt.Errorf("garderie inconnue : %s ; indiquez matin, soir ou matin+soir, ou laissez vide", quote(s))
		}
	}
	return g, nil
}

// parseRole accepts child and staff, and the French enfant and agent.
func parseRole(s string) (Role, bool) {
	switch strings.ToLower(s) {
	case "child", "enfant":
		return RoleChild, true
	case "staff", "agent":
		return RoleStaff, true
	}
	return "", false
}

// accentFold maps the accented letters of French to plain ones.
var accentFold = strings.NewReplacer(
	"à", "a", "â", "a", "ä", "a", "á", "a",
	"ç", "c",
	"é", "e", "è", "e", "ê", "e", "ë", "e",
	"î", "i", "ï", "i", "í", "i",
	"ô", "o", "ö", "o", "ó", "o",
	"ù", "u", "û", "u", "ü", "u", "ú", "u",
	"ÿ", "y", "œ", "oe", "æ", "ae",
)

// DietCode is a diet as typed turned into the roster's code for it
// (normalizeRegime): "Végétarien" is "vegetarien". The sites file's diet
// labels are keyed by it.
func DietCode(s string) string { return normalizeRegime(s) }

// normalizeRegime turns a diet as typed into its key: lowercase, trimmed,
// French accents folded, runs of spaces and underscores turned into one
// dash, so "Sans porc", "sans_porc" and "sans-porc" are one diet and
// "Végétarien" is "vegetarien". Empty is "standard".
func normalizeRegime(s string) string {
	s = accentFold.Replace(strings.ToLower(strings.TrimSpace(s)))
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '_' }), "-")
	if s == "" {
		return "standard"
	}
	return s
}
