package roster

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// How many low bits of a scanned badge a Match compares (Match.Bits).
const (
	MatchExact = 0  // the whole canonical id
	MatchLow32 = 32 // the low 32 bits: an EM4100 card known by its 8H10D number
	MatchLow24 = 24 // the low 24 bits: a card known by its Wiegand 26 number
)

// Match is a person's badge and how scanned badges are compared with it.
//
// Bits 0: Badge is a canonical uppercase hex id and a scan matches when it
// is the same id. Bits 32: Badge is 8 hex digits, the low 32 bits of the
// card (from an 8H10D number), and a hex scan of at least 4 bytes matches
// when its low 32 bits are these. Bits 24: Badge is 6 hex digits (from a
// Wiegand facility,card number, or a 3-byte id read by a Wiegand reader)
// and a hex scan of at least 3 bytes matches on its low 24 bits.
//
// A scan of exactly 3 bytes is what a Wiegand 26 reader sends: the low 24
// bits of whatever card it read. It therefore also matches a badge of any
// kind whose low 24 bits are the same. Scans that are not even-length hex
// (barcodes) only ever match exactly.
type Match struct {
	Badge string
	Bits  int
}

// String returns the badge, with "/32" or "/24" when only low bits count.
func (m Match) String() string {
	if m.Bits == MatchExact {
		return m.Badge
	}
	return fmt.Sprintf("%s/%d", m.Badge, m.Bits)
}

// Matches reports whether the scanned badge (a canonical id from a check-in)
// is this badge.
func (m Match) Matches(scanned string) bool {
	s := normalizeScan(scanned)
	if s == "" || m.Badge == "" {
		return false
	}
	if m.Bits == MatchExact && s == m.Badge {
		return true
	}
	sv, sn, ok := hexLow32(s)
	if !ok {
		return false
	}
	mv, mn, ok := hexLow32(m.Badge)
	if !ok {
		return false
	}
	switch {
	case m.Bits == MatchLow32 && sn >= 4 && sv == mv:
		return true
	case m.Bits == MatchLow24 && sn >= 3 && sv&mask24 == mv&mask24:
		return true
	case sn == 3 && mn >= 3 && sv == mv&mask24:
		return true
	}
	return false
}

func (m Match) validate() error {
	n := len(m.Badge)
	_, _, hexOK := hexLow32(m.Badge)
	switch {
	case m.Bits == MatchExact && hexOK && n >= 8 && n <= 64 && m.Badge == strings.ToUpper(m.Badge):
	case m.Bits == MatchLow32 && hexOK && n == 8 && m.Badge == strings.ToUpper(m.Badge):
	case m.Bits == MatchLow24 && hexOK && n == 6 && m.Badge == strings.ToUpper(m.Badge):
	default:
		return fmt.Errorf("badge %q with match bits %d is not a canonical id (uppercase hex: 8 to 64 digits exact, 8 digits for /32, 6 for /24)", m.Badge, m.Bits)
	}
	return nil
}

const mask24 = 1<<24 - 1

// normalizeScan trims and uppercases a scanned badge.
func normalizeScan(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// hexLow32 decodes an even-length hex id and returns the value of its last
// (up to) 4 bytes and its length in bytes.
func hexLow32(s string) (v uint32, n int, ok bool) {
	if len(s) < 2 || len(s)%2 != 0 || len(s) > 128 {
		return 0, 0, false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return 0, 0, false
	}
	for _, c := range b[max(0, len(b)-4):] {
		v = v<<8 | uint32(c)
	}
	return v, len(b), true
}

var badgeSeparators = strings.NewReplacer(" ", "", ":", "", "-", "")

// ParseBadge parses the badge column: a hex id, in any case, with optional
// separators (spaces, colons, dashes) and 0x prefix. Six hex digits (3
// bytes, what a Wiegand 26 reader reports) give a MatchLow24 badge, any
// other even length from 8 to 64 digits an exact one. The error says in
// French what is wrong: it is a rejected row's reason.
func ParseBadge(s string) (Match, error) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && (t[:2] == "0x" || t[:2] == "0X") {
		t = t[2:]
	}
	t = strings.ToUpper(badgeSeparators.Replace(t))
	for _, r := range t {
		if !strings.ContainsRune("0123456789ABCDEF", r) {
			return Match{}, fmt.Errorf("badge %s : ce n'est pas de l'hexadécimal (chiffres 0-9 et lettres A-F seulement)", quote(s))
		}
	}
	switch {
	case len(t)%2 != 0:
		return Match{}, fmt.Errorf("badge %s : nombre impair de chiffres hexadécimaux (%d), il en manque un (si le tableur a supprimé un zéro en tête, mettez la colonne au format texte)", quote(s), len(t))
	case len(t) < 6 || len(t) > 64:
		return Match{}, fmt.Errorf("badge %s : %d chiffres hexadécimaux ; un identifiant de badge en a de 6 à 64 (10 pour une carte RDM6300, par ex. 13005D1DA5)", quote(s), len(t))
	case len(t) == 6:
		return Match{Badge: t, Bits: MatchLow24}, nil
	}
	return Match{Badge: t, Bits: MatchExact}, nil
}

// ParseCardNumber parses the number printed on a card: an EM4100 8H10D
// decimal (up to 10 digits, at most 4294967295; leading zeros optional)
// gives the low 32 bits; a Wiegand 26 "facility,card" (facility 0-255, card
// printed with 5 digits, 0-65535; separated by a comma, dot, slash or
// space) gives the low 24 bits. The error is in French, as ParseBadge's.
func ParseCardNumber(s string) (Match, error) {
	t := strings.TrimSpace(s)
	if i := strings.IndexAny(t, ",./ "); i >= 0 {
		fac, card := strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+1:])
		f, ferr := strconv.ParseUint(fac, 10, 8)
		c, cerr := strconv.ParseUint(card, 10, 16)
		if ferr != nil || cerr != nil || !allDigits(fac) || !allDigits(card) {
			return Match{}, fmt.Errorf("card_number %s : ni un numéro 8H10D (10 chiffres, par ex. 0006102437) ni un numéro Wiegand (site 0-255, carte 0-65535, par ex. 093,07589) ; si le tableur l'a modifié, mettez la colonne au format texte et recopiez le numéro de la carte", quote(s))
		}
		if len(card) != 5 {
			return Match{}, fmt.Errorf("card_number %s : la partie carte d'un numéro Wiegand s'écrit avec 5 chiffres (par ex. 093,07589) ; le tableur l'a peut-être lu comme un nombre décimal et a supprimé des zéros : mettez la colonne au format texte et recopiez le numéro de la carte", quote(s))
		}
		return Match{Badge: fmt.Sprintf("%06X", f<<16|c), Bits: MatchLow24}, nil
	}
	v, err := strconv.ParseUint(t, 10, 32)
	if err != nil || !allDigits(t) || len(t) > 10 {
		return Match{}, fmt.Errorf("card_number %s : ni un numéro 8H10D (10 chiffres au plus, 4294967295 au plus, par ex. 0006102437) ni un numéro Wiegand (par ex. 093,07589) ; si le tableur l'affiche comme 6,10E+06, mettez la colonne au format texte", quote(s))
	}
	return Match{Badge: fmt.Sprintf("%08X", v), Bits: MatchLow32}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Index finds the person a scanned badge belongs to.
type Index struct {
	exact map[string]*Person
	low32 map[uint32]*Person // MatchLow32 badges
	low24 map[uint32]*Person // MatchLow24 badges
	// any24 holds every hex badge by its low 24 bits, for 3-byte scans;
	// nil when two people share the key (such a scan is ambiguous).
	any24 map[uint32]*Person
}

// NewIndex indexes people; the Index points into the slice, which must not
// change afterwards. Where two people would match the same scan, the one
// earlier in the slice wins (a Snapshot puts first the versions of earlier
// imports, the roster that was in force then).
func NewIndex(people []Person) *Index {
	ptrs := make([]*Person, len(people))
	for i := range people {
		ptrs[i] = &people[i]
	}
	return newIndex(ptrs)
}

func newIndex(people []*Person) *Index {
	ix := &Index{
		exact: make(map[string]*Person, len(people)),
		low32: map[uint32]*Person{},
		low24: map[uint32]*Person{},
		any24: make(map[uint32]*Person, len(people)),
	}
	putFirst := func(m map[uint32]*Person, k uint32, p *Person) {
		if _, ok := m[k]; !ok {
			m[k] = p
		}
	}
	for _, p := range people {
		m := p.Match
		v, _, isHex := hexLow32(m.Badge)
		switch m.Bits {
		case MatchExact:
			if _, ok := ix.exact[m.Badge]; !ok {
				ix.exact[m.Badge] = p
			}
		case MatchLow32:
			putFirst(ix.low32, v, p)
		case MatchLow24:
			putFirst(ix.low24, v&mask24, p)
		}
		if isHex {
			k := v & mask24
			if q, ok := ix.any24[k]; ok && q != nil && q.PersonID != p.PersonID {
				ix.any24[k] = nil
			} else if !ok {
				ix.any24[k] = p
			}
		}
	}
	return ix
}

// Lookup returns the person whose badge matches the scanned one: an exact
// id first, then a card known by its low 32 bits, then by its low 24 bits;
// a 3-byte scan (Wiegand 26 reader) last matches any badge with the same
// low 24 bits, if only one person has them. The *Person is shared: do not
// modify it.
func (ix *Index) Lookup(scanned string) (*Person, bool) {
	s := normalizeScan(scanned)
	if p, ok := ix.exact[s]; ok {
		return p, true
	}
	v, n, ok := hexLow32(s)
	if !ok {
		return nil, false
	}
	if n >= 4 {
		if p, ok := ix.low32[v]; ok {
			return p, true
		}
	}
	if p, ok := ix.low24[v&mask24]; ok {
		return p, true
	}
	if n == 3 {
		if p := ix.any24[v]; p != nil {
			return p, true
		}
	}
	return nil, false
}

// cardSet detects two badges that one scan would match (the same card
// given twice, or once by id and once by its printed number). Badges must
// be valid (Match.validate: exact ids have at least 4 bytes). The 3-byte
// scan rule is left out: two different cards may share their low 24 bits,
// and Lookup treats such a scan as ambiguous rather than wrong.
type cardSet[T any] struct {
	exact map[string]T
	x32   map[uint32]T // exact hex badges of >= 4 bytes, by low 32 bits
	x24   map[uint32]T // exact hex badges, by low 24 bits
	b32   map[uint32]T // MatchLow32 badges
	b32l  map[uint32]T // MatchLow32 badges, by low 24 bits
	b24   map[uint32]T // MatchLow24 badges
}

func newCardSet[T any]() *cardSet[T] {
	return &cardSet[T]{map[string]T{}, map[uint32]T{}, map[uint32]T{}, map[uint32]T{}, map[uint32]T{}, map[uint32]T{}}
}

// find returns what was added for a badge that shares a card with m.
func (cs *cardSet[T]) find(m Match) (t T, ok bool) {
	v, _, _ := hexLow32(m.Badge)
	k24 := v & mask24
	switch m.Bits {
	case MatchExact:
		if t, ok = cs.exact[m.Badge]; !ok {
			if t, ok = cs.b32[v]; !ok {
				t, ok = cs.b24[k24]
			}
		}
	case MatchLow32:
		if t, ok = cs.x32[v]; !ok {
			if t, ok = cs.b32[v]; !ok {
				t, ok = cs.b24[k24]
			}
		}
	case MatchLow24:
		if t, ok = cs.x24[k24]; !ok {
			if t, ok = cs.b32l[k24]; !ok {
				t, ok = cs.b24[k24]
			}
		}
	}
	return t, ok
}

// add records m (first one wins).
func (cs *cardSet[T]) add(m Match, t T) {
	v, _, _ := hexLow32(m.Badge)
	put := func(mp map[uint32]T, k uint32) {
		if _, ok := mp[k]; !ok {
			mp[k] = t
		}
	}
	switch m.Bits {
	case MatchExact:
		if _, ok := cs.exact[m.Badge]; !ok {
			cs.exact[m.Badge] = t
		}
		put(cs.x32, v)
		put(cs.x24, v&mask24)
	case MatchLow32:
		put(cs.b32, v)
		put(cs.b32l, v&mask24)
	case MatchLow24:
		put(cs.b24, v&mask24)
	}
}
