package export

import (
	"pointage/internal/civil"
	"strconv"
	"strings"
	"time"
)

// A cell is one value of a row before it is rendered: as French text for
// the CSV, as a typed Excel value for the XLSX. Both writers read the same
// columns (layout), so the two formats cannot drift apart.
type cell struct {
	kind cellKind
	s    string        // cText, cLabel
	date civil.Date    // cDate; cClock: the row's day
	t    time.Time     // cClock, already in the export's zone
	d    time.Duration // cHours, cHHMM, rounded to the minute
	b    bool          // cBool
}

type cellKind uint8

const (
	cEmpty cellKind = iota
	cText           // free text from the roster or the hub: guarded in the CSV
	cLabel          // text this package composes (French labels, clock-in pairs)
	cDate           // a day: dd/mm/yyyy
	cClock          // a time of day: HH:MM, or dd/mm/yyyy HH:MM on another day than the row's
	cHours          // a duration in decimal hours: 7,50
	cHHMM           // a duration in hours and minutes: 7:30
	cBool           // oui / non
)

func text(s string) cell             { return cell{kind: cText, s: s} }
func label(s string) cell            { return cell{kind: cLabel, s: s} }
func dateCell(d civil.Date) cell     { return cell{kind: cDate, date: d} }
func boolCell(b bool) cell           { return cell{kind: cBool, b: b} }
func hoursCell(d time.Duration) cell { return cell{kind: cHours, d: roundMinute(d)} }
func hhmmCell(d time.Duration) cell  { return cell{kind: cHHMM, d: roundMinute(d)} }
func clockCell(day civil.Date, t time.Time, loc *time.Location) cell {
	return cell{kind: cClock, date: day, t: t.In(loc)}
}

// roundMinute rounds a duration to the nearest minute. Decimal hours and
// hh:mm are both derived from the rounded value, so 7:30 is always 7,50,
// and an XLSX column's SUM equals the summary's total.
func roundMinute(d time.Duration) time.Duration { return d.Round(time.Minute) }

// column is one column of a data sheet.
type column struct {
	header string
	width  float64  // XLSX column width, in characters
	kind   cellKind // what the column holds, for the XLSX column style
}

// The columns of each kind, in order (the CSV and XLSX headers).
var (
	mealColumns = []column{
		{"Date", 11, cDate},
		{"Site", 18, cText},
		{"Identifiant", 14, cText},
		{"Nom", 22, cText},
		{"Prénom", 18, cText},
		{"Famille", 12, cText},
		{"Classe", 10, cText},
		{"Régime", 13, cText},
		{"Statut", 13, cLabel},
		{"À vérifier", 11, cBool},
		{"Corrigé", 10, cBool},
	}
	garderieColumns = []column{
		{"Date", 11, cDate},
		{"Site", 18, cText},
		{"Séance", 19, cLabel},
		{"Identifiant", 14, cText},
		{"Nom", 22, cText},
		{"Prénom", 18, cText},
		{"Famille", 12, cText},
		{"Classe", 10, cText},
		{"Arrivée", 9, cClock},
		{"Départ", 9, cClock},
		{"Durée (h)", 10, cHours},
		{"Retard", 8, cBool},
		{"Encore présent", 15, cBool},
		{"À vérifier", 11, cBool},
	}
	staffColumns = []column{
		{"Date", 11, cDate},
		{"Site", 18, cText},
		{"Identifiant", 14, cText},
		{"Nom", 22, cText},
		{"Prénom", 18, cText},
		{"Pointages", 34, cLabel},
		{"Heures", 9, cHours},
		{"Heures (hh:mm)", 15, cHHMM},
		{"Anomalies", 32, cText},
	}
)

func columnsOf(k Kind) []column {
	switch k {
	case Meals:
		return mealColumns
	case Garderie:
		return garderieColumns
	}
	return staffColumns
}

// fillMeal, fillGarderie and fillStaff put a row's cells in dst, which has
// one cell per column of its kind.
func fillMeal(r *MealRow, dst []cell) {
	dst[0] = dateCell(r.Date)
	dst[1] = text(r.Site)
	dst[2] = text(r.PersonID)
	dst[3] = text(r.LastName)
	dst[4] = text(r.FirstName)
	dst[5] = text(r.FamilyID)
	dst[6] = text(r.Class)
	dst[7] = text(r.Regime)
	dst[8] = statusCell(r.Status)
	dst[9] = boolCell(r.Review)
	dst[10] = boolCell(r.Corrected)
}

func fillGarderie(r *GarderieRow, loc *time.Location, dst []cell) {
	dst[0] = dateCell(r.Date)
	dst[1] = text(r.Site)
	dst[2] = sessionCell(r.Session)
	dst[3] = text(r.PersonID)
	dst[4] = text(r.LastName)
	dst[5] = text(r.FirstName)
	dst[6] = text(r.FamilyID)
	dst[7] = text(r.Class)
	dst[8] = clockCell(r.Date, r.In, loc)
	if r.Out != nil {
		dst[9] = clockCell(r.Date, *r.Out, loc)
		dst[10] = hoursCell(r.Duration)
	} else {
		dst[9], dst[10] = cell{}, cell{}
	}
	dst[11] = boolCell(r.Late)
	dst[12] = boolCell(r.StillPresent)
	dst[13] = boolCell(r.Review)
}

func fillStaff(r *StaffRow, loc *time.Location, dst []cell) {
	dst[0] = dateCell(r.Date)
	dst[1] = text(r.Site)
	dst[2] = text(r.PersonID)
	dst[3] = text(r.LastName)
	dst[4] = text(r.FirstName)
	dst[5] = label(pairsText(r.Date, r.Pairs, loc))
	dst[6] = hoursCell(r.Hours)
	dst[7] = hhmmCell(r.Hours)
	dst[8] = text(flagsText(r.Flags))
}

func statusCell(s string) cell {
	switch s {
	case StatusExpected:
		return label("prévu")
	case StatusOccasional:
		return label("occasionnel")
	}
	return text(s)
}

func sessionCell(s string) cell {
	if l, ok := sessionLabels[s]; ok {
		return label(l)
	}
	return text(s)
}

var sessionLabels = map[string]string{
	SessionMorning: "Garderie du matin",
	SessionEvening: "Garderie du soir",
}

// sessionName is how the summary names a session.
func sessionName(s string) string {
	if l, ok := sessionLabels[s]; ok {
		return l
	}
	return s
}

var flagLabels = map[string]string{
	FlagMissingClockOut: "sortie manquante",
	FlagMissingClockIn:  "entrée manquante",
	FlagClockOutUnused:  "correction de sortie inutilisée",
	FlagReview:          "à vérifier",
	FlagCorrected:       "corrigé",
}

// flagsText lists a staff row's flags in French, unknown ones as given.
func flagsText(flags []string) string {
	switch len(flags) {
	case 0:
		return ""
	case 1:
		if l, ok := flagLabels[flags[0]]; ok {
			return l
		}
		return flags[0]
	}
	parts := make([]string, len(flags))
	for i, f := range flags {
		if l, ok := flagLabels[f]; ok {
			parts[i] = l
		} else {
			parts[i] = f
		}
	}
	return strings.Join(parts, ", ")
}

// pairsText writes clock-in pairs as "07:02–11:30 / 12:15–16:05", with
// "07:02–?" for a missing clock-out.
func pairsText(day civil.Date, pairs []Pair, loc *time.Location) string {
	b := make([]byte, 0, 16*len(pairs))
	for i, p := range pairs {
		if i > 0 {
			b = append(b, " / "...)
		}
		b = appendClock(b, day, p.In.In(loc))
		b = append(b, "–"...)
		if p.Out == nil {
			b = append(b, '?')
		} else {
			b = appendClock(b, day, p.Out.In(loc))
		}
	}
	return string(b)
}

// appendDate appends d as dd/mm/yyyy.
func appendDate(b []byte, d civil.Date) []byte {
	b = append2(b, d.Day)
	b = append(b, '/')
	b = append2(b, int(d.Month))
	b = append(b, '/')
	for p := 1000; p > 1 && d.Year < p; p /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(d.Year), 10)
}

// appendClock appends t's time as HH:MM, preceded by its date when t is
// not on day (a check-out after midnight must not read as the same day).
func appendClock(b []byte, day civil.Date, t time.Time) []byte {
	if civil.DateOf(t) != day {
		b = appendDate(b, civil.DateOf(t))
		b = append(b, ' ')
	}
	b = append2(b, t.Hour())
	b = append(b, ':')
	return append2(b, t.Minute())
}

func append2(b []byte, n int) []byte {
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// decimalHours writes d in hours with two decimals and a decimal comma.
func decimalHours(d time.Duration) string {
	s := strconv.FormatFloat(d.Hours(), 'f', 2, 64)
	return strings.Replace(s, ".", ",", 1)
}

// hoursMinutes writes d as h:mm (7:30, 151:05).
func hoursMinutes(d time.Duration) string {
	m := int64(d / time.Minute)
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	b := append([]byte(sign), strconv.FormatInt(m/60, 10)...)
	b = append(b, ':')
	return string(append2(b, int(m%60)))
}

func yesNo(b bool) string {
	if b {
		return "oui"
	}
	return "non"
}

// frenchMonth names a YYYY-MM month in French: "novembre 2026".
func frenchMonth(month string) string {
	m, err := civil.ParseMonth(month)
	if err != nil {
		return month
	}
	return m.French()
}
