package roster

import (
	"strings"
	"testing"
)

// The RDM6300 vectors of READERS.md: canonical id, 8H10D, W26.
var readerVectors = []struct{ id, h10d, w26 string }{
	{"13005D1DA5", "0006102437", "093,07589"},
	{"01026F6C3A", "0040856634", "111,27706"},
	{"0B0012D687", "0001234567", ""},
}

func TestParseCardNumber(t *testing.T) {
	tests := []struct {
		in   string
		want Match
		err  string
	}{
		{"0006102437", Match{"005D1DA5", MatchLow32}, ""},
		{"0040856634", Match{"026F6C3A", MatchLow32}, ""},
		{"0001234567", Match{"0012D687", MatchLow32}, ""},
		{"6102437", Match{"005D1DA5", MatchLow32}, ""}, // leading zeros dropped by a spreadsheet
		{" 4294967295 ", Match{"FFFFFFFF", MatchLow32}, ""},
		{"093,07589", Match{"5D1DA5", MatchLow24}, ""},
		{"93,07589", Match{"5D1DA5", MatchLow24}, ""},
		{"111,27706", Match{"6F6C3A", MatchLow24}, ""},
		{"111.27706", Match{"6F6C3A", MatchLow24}, ""},
		{"111/27706", Match{"6F6C3A", MatchLow24}, ""},
		{"000,00001", Match{"000001", MatchLow24}, ""},
		{"4294967296", Match{}, "ni un numéro 8H10D"},
		{"00061024370", Match{}, "ni un numéro 8H10D"},
		{"0x5D1DA5", Match{}, "ni un numéro 8H10D"},
		{"256,00001", Match{}, "ni un numéro 8H10D"},
		{"093,65536", Match{}, "ni un numéro 8H10D"},
		{"093,7589", Match{}, "avec 5 chiffres"},
		{"093,", Match{}, "ni un numéro 8H10D"},
		{"-12", Match{}, "ni un numéro 8H10D"},
		{"", Match{}, "ni un numéro 8H10D"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseCardNumber(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseCardNumber(%q) = %v, %v; want error saying %q", tc.in, m, err, tc.err)
				}
				return
			}
			if err != nil || m != tc.want {
				t.Fatalf("ParseCardNumber(%q) = %v, %v; want %v", tc.in, m, err, tc.want)
			}
		})
	}
}

func TestParseBadge(t *testing.T) {
	tests := []struct {
		in   string
		want Match
		ok   bool
	}{
		{"13005D1DA5", Match{"13005D1DA5", MatchExact}, true},
		{"13005d1da5", Match{"13005D1DA5", MatchExact}, true},
		{" 0x13005D1DA5 ", Match{"13005D1DA5", MatchExact}, true},
		{"DE:AD:BE:EF", Match{"DEADBEEF", MatchExact}, true},
		{"04 A2 2B 1A 3C 5D 80", Match{"04A22B1A3C5D80", MatchExact}, true},
		{"7BB26E", Match{"7BB26E", MatchLow24}, true}, // a Wiegand 26 reader's 3 bytes
		{"13005D1DA", Match{}, false},
		{"13005D1DG5", Match{}, false},
		{"6F6C", Match{}, false},
		{strings.Repeat("AB", 33), Match{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseBadge(tc.in)
			if (err == nil) != tc.ok || m != tc.want {
				t.Fatalf("ParseBadge(%q) = %v, %v", tc.in, m, err)
			}
		})
	}
}

func TestMatchMatches(t *testing.T) {
	tests := []struct {
		name    string
		m       Match
		scanned string
		want    bool
	}{
		{"exact", Match{"13005D1DA5", MatchExact}, "13005D1DA5", true},
		{"exact, lowercase scan", Match{"13005D1DA5", MatchExact}, "13005d1da5", true},
		{"exact, other card with the same low bits", Match{"13005D1DA5", MatchExact}, "01005D1DA5", false},
		{"8H10D against the full id", Match{"005D1DA5", MatchLow32}, "13005D1DA5", true},
		{"8H10D against a 4-byte scan", Match{"005D1DA5", MatchLow32}, "005D1DA5", true},
		{"8H10D against another card", Match{"005D1DA5", MatchLow32}, "13015D1DA5", false},
		{"8H10D against a 7-byte UID's last 4 bytes", Match{"005D1DA5", MatchLow32}, "040102005D1DA5", true},
		{"W26 against the full id", Match{"5D1DA5", MatchLow24}, "13005D1DA5", true},
		{"W26 against a card differing above 24 bits", Match{"5D1DA5", MatchLow24}, "13FF5D1DA5", true},
		{"W26 against a Wiegand reader", Match{"5D1DA5", MatchLow24}, "5D1DA5", true},
		{"W26 against another card", Match{"5D1DA5", MatchLow24}, "13005D1DA6", false},
		{"Wiegand reader against a full id", Match{"13005D1DA5", MatchExact}, "5D1DA5", true},
		{"Wiegand reader against an 8H10D", Match{"026F6C3A", MatchLow32}, "6F6C3A", true},
		{"barcode, exact only", Match{"13005D1DA5", MatchExact}, "ELEVE-0042", false},
		{"odd-length hex is not hex", Match{"005D1DA5", MatchLow32}, "3005D1DA5", false},
		{"empty scan", Match{"005D1DA5", MatchLow32}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.Matches(tc.scanned); got != tc.want {
				t.Errorf("%v.Matches(%q) = %v, want %v", tc.m, tc.scanned, got, tc.want)
			}
		})
	}
}

func TestLookupPrintedCardNumbers(t *testing.T) {
	res := parseString(t, header+";card_number\n"+
		";E1;child;Dupont;Léa;jules-ferry;CP;;lu;;0006102437\n"+
		";E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;111,27706\n"+
		"0B0012D687;E3;child;Nguyen;Élodie;jules-ferry;CP;;lu;;\n"+
		"04A22B1A3C5D80;E4;staff;Tein;Marie;jules-ferry;;;;;\n")
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	ix := NewIndex(res.People)
	tests := []struct{ scanned, want string }{
		{"13005D1DA5", "E1"}, // RDM6300 frame 13005D1DA5F6, row gave 0006102437
		{"13005d1da5", "E1"},
		{"01026F6C3A", "E2"}, // row gave the W26 111,27706
		{"6F6C3A", "E2"},     // the same card on a Wiegand 26 reader
		{"0B0012D687", "E3"},
		{"12D687", "E3"},
		{"04A22B1A3C5D80", "E4"},
		{"04A22B1A3C5D81", ""},
		{"13015D1DA5", ""}, // differs in the low 32 bits' top byte
		{"ELEVE-0042", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.scanned, func(t *testing.T) {
			p, ok := ix.Lookup(tc.scanned)
			got := ""
			if ok {
				got = p.PersonID
			}
			if got != tc.want {
				t.Errorf("Lookup(%q) = %q, want %q", tc.scanned, got, tc.want)
			}
			if tc.want != "" && !p.Matches(tc.scanned) {
				t.Errorf("Lookup found %s but Person.Matches(%q) is false", got, tc.scanned)
			}
		})
	}
	for _, v := range readerVectors {
		t.Run("vector "+v.id, func(t *testing.T) {
			m32, err := ParseCardNumber(v.h10d)
			if err != nil || !m32.Matches(v.id) {
				t.Errorf("8H10D %s does not match %s (%v)", v.h10d, v.id, err)
			}
			if v.w26 != "" {
				m24, err := ParseCardNumber(v.w26)
				if err != nil || !m24.Matches(v.id) {
					t.Errorf("W26 %s does not match %s (%v)", v.w26, v.id, err)
				}
			}
		})
	}
}

func TestLookupOrderAndAmbiguity(t *testing.T) {
	people := []Person{
		{PersonID: "exact", Match: Match{"AA005D1DA5", MatchExact}},
		{PersonID: "low32", Match: Match{"005D1DA5", MatchLow32}},
		{PersonID: "low24", Match: Match{"5D1DA5", MatchLow24}},
		{PersonID: "x", Match: Match{"0100ABCDEF", MatchExact}},
		{PersonID: "y", Match: Match{"0200ABCDEF", MatchExact}},
		{PersonID: "barcode", Match: Match{"ELEVE-0042", MatchExact}},
	}
	ix := NewIndex(people)
	for _, tc := range []struct{ scanned, want string }{
		{"AA005D1DA5", "exact"},   // exact wins
		{"BB005D1DA5", "low32"},   // then the low 32 bits
		{"BB015D1DA5", "low24"},   // then the low 24 bits
		{"5D1DA5", "low24"},       // a 3-byte scan: the low-24 badge first
		{"ABCDEF", ""},            // x and y share their low 24 bits: ambiguous
		{"0100ABCDEF", "x"},       // but their full ids are not
		{"eleve-0042", "barcode"}, // scans are uppercased like the profiles do
	} {
		t.Run(tc.scanned, func(t *testing.T) {
			p, ok := ix.Lookup(tc.scanned)
			got := ""
			if ok {
				got = p.PersonID
			}
			if got != tc.want {
				t.Errorf("Lookup(%q) = %q, want %q", tc.scanned, got, tc.want)
			}
		})
	}
}
