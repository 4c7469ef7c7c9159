package roster

import (
	"strings"
	"unicode"
)

// classRanks are the French school's classes in school order: maternelle
// (toute petite, petite, moyenne, grande section), then élémentaire.
var classRanks = map[string]int{"TPS": 1, "PS": 2, "MS": 3, "GS": 4, "CP": 5, "CE1": 6, "CE2": 7, "CM1": 8, "CM2": 9}

// classRank is the rank of a class name by its first word ("CE1 B",
// "CE1-CE2" and "ce1" are CE1's); a class no school level starts is
// ranked after all of them, and no class at all last.
func classRank(class string) int {
	if strings.TrimSpace(class) == "" {
		return len(classRanks) + 2
	}
	first := strings.FieldsFunc(strings.ToUpper(class), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(first) > 0 {
		if r, ok := classRanks[first[0]]; ok {
			return r
		}
	}
	return len(classRanks) + 1
}

// CompareClasses orders class names in school order (PS, MS, GS, CP, CE1,
// CE2, CM1, CM2, then any other class by name, then no class), not
// alphabetically (which puts CP after CM2).
func CompareClasses(a, b string) int {
	if ra, rb := classRank(a), classRank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}
