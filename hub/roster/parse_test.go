package roster

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const header = "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie"

func parseString(t *testing.T, s string) *ParseResult {
	t.Helper()
	res, err := Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return res
}

func ids(people []Person) []string {
	var out []string
	for _, p := range people {
		out = append(out, p.PersonID)
	}
	return out
}

func TestParseFormats(t *testing.T) {
	lea := Person{PersonID: "E1", Role: RoleChild, LastName: "Dupont", FirstName: "Léa", Site: "jules-ferry",
		Class: "CP-A", Regime: "sans-porc", CanteenDays: mustDays(t, "lu ma je ve"), Garderie: GarderieMatin | GarderieSoir,
		Match: Match{"13005D1DA5", MatchExact}, Line: 2}
	tests := []struct {
		name  string
		input string
		want  []string // person ids
		lines []int
	}{
		{"semicolon", header + "\n13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP-A;sans-porc;lu ma je ve;matin+soir\n" +
			"01026F6C3A;E2;staff;Tein;Marie;jules-ferry;;;;\n", []string{"E1", "E2"}, []int{2, 3}},
		{"comma with quoted values", strings.ReplaceAll(header, ";", ",") +
			"\n13005D1DA5,E1,child,Dupont,Léa,jules-ferry,CP-A,sans-porc,\"lu,ma,je,ve\",matin+soir\n" +
			",E2,child,\"Nguyen, dite \"\"Lili\"\"\",Élodie,jules-ferry,CE1,,lu,,\n", []string{"E1"}, []int{2}},
		{"byte order mark and CRLF", "\ufeff" + header + "\r\n13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP-A;sans-porc;lu ma je ve;matin+soir\r\n", []string{"E1"}, []int{2}},
		{"old Mac CR line ends", header + "\r\r13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP-A;sans-porc;lu ma je ve;matin+soir\r", []string{"E1"}, []int{3}},
		{"no final newline", header + "\n13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP-A;sans-porc;lu ma je ve;matin+soir", []string{"E1"}, []int{2}},
		{"other order, extra columns, any case", " Garderie ;Notes;CANTEEN_DAYS;Regime;Class;Site;First_Name;Last Name;Role;Person-ID;Badge;Famille\n" +
			"matin+soir;allergie;lu ma je ve;Sans porc;CP-A;Jules-Ferry;Léa;Dupont;CHILD;E1;13005d1da5;F9\n", []string{"E1"}, []int{2}},
		{"Excel sep= line", "sep=,\n" + strings.ReplaceAll(header, ";", ",") + "\n13005D1DA5,E1,child,Dupont,Léa,jules-ferry,CP-A,sans-porc,lu ma je ve,matin+soir\n", []string{"E1"}, []int{3}},
		{"tab separated", strings.ReplaceAll(header, ";", "\t") + "\n13005D1DA5\tE1\tchild\tDupont\tLéa\tjules-ferry\tCP-A\tsans-porc\tlu ma je ve\tmatin+soir\n", []string{"E1"}, []int{2}},
		{"blank rows and a note over two lines in an ignored column", header + ";notes\n\n;;;;;;;;;;\n" +
			"13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP-A;sans-porc;lu ma je ve;matin+soir;\"first line\nsecond line\"\n" +
			"01026F6C3A;E2;staff;Tein;Marie;jules-ferry;;;;;\n", []string{"E1", "E2"}, []int{4, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseString(t, tc.input)
			if len(res.Errors) > 0 && tc.name != "comma with quoted values" {
				t.Fatalf("errors: %v", res.Errors)
			}
			if got := ids(res.People); !slices.Equal(got, tc.want) {
				t.Fatalf("people = %v, want %v (errors %v)", got, tc.want, res.Errors)
			}
			for i, p := range res.People {
				if p.Line != tc.lines[i] {
					t.Errorf("%s: line %d, want %d", p.PersonID, p.Line, tc.lines[i])
				}
			}
			got := res.People[0]
			want := lea
			want.Line = got.Line
			if got != want {
				t.Errorf("first person\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseCommaFileQuotedNames(t *testing.T) {
	res := parseString(t, strings.ReplaceAll(header, ";", ",")+",card_number\n"+
		",E2,child,\"Nguyen, dite \"\"Lili\"\"\",Élodie,jules-ferry,CE1,,lu,,\"093,07589\"\n")
	if len(res.Errors) != 0 || len(res.People) != 1 {
		t.Fatalf("people %v errors %v", res.People, res.Errors)
	}
	p := res.People[0]
	if p.LastName != `Nguyen, dite "Lili"` || p.Match != (Match{"5D1DA5", MatchLow24}) || p.CardNumber != "093,07589" || p.Regime != "standard" {
		t.Fatalf("got %+v", p)
	}
}

func mustDays(t *testing.T, s string) Weekdays {
	t.Helper()
	w, err := ParseWeekdays(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // substrings of the error
	}{
		{"empty", "", []string{"vide"}},
		{"only a BOM", "\ufeff\r\n", []string{"vide"}},
		{"missing columns", "badge;person_id;role;last_name;first_name;site;class\n", []string{"ligne 1", "absente(s) : regime, canteen_days, garderie"}},
		{"wrong separator", "badge|person_id|role|last_name|first_name|site|class|regime|canteen_days|garderie\n", []string{"qu'une colonne", "badge, person_id"}},
		{"duplicate column", header + ";Badge\n", []string{"badge apparaît deux fois", "colonnes 1 et 11"}},
		{"not UTF-8", header + "\nA;E1;child;Dupont;L\xe9a;jules-ferry;;;;\n", []string{"ligne 2 n'est pas du texte UTF-8", "CSV UTF-8"}},
		{"unclosed quote", header + "\n13005D1DA5;E1;child;\"Dupont;Léa;jules-ferry;;;;\n01026F6C3A;E2;staff;Tein;Marie;jules-ferry;;;;\n",
			[]string{"lignes 2 à 3 se lisent comme une seule", "guillemet ouvert ligne 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(tc.input))
			if !errors.Is(err, ErrInvalidFile) {
				t.Fatalf("err = %v (result %+v), want ErrInvalidFile", err, res)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestParseBadRows(t *testing.T) {
	const cols = "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;card_number\n"
	rows := []struct {
		row  string
		want string // "" = a good row; else a substring of the reason
	}{
		{"13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP;;lu;;", ""}, // 2
		{";;;;;;;;;;", ""}, // 3: blank, skipped
		{"01026F6C3A;;child;Dupont;Hugo;jules-ferry;CP;;lu;;", "colonne person_id vide"},                                                                                                                           // 4
		{"01026F6C3A;E2;eleve;Dupont;Hugo;jules-ferry;CP;;lu;;", "rôle inconnu : « eleve »"},                                                                                                                       // 5
		{"01026F6C3A;E2;child;;Hugo;jules-ferry;CP;;lu;;", "colonne last_name vide"},                                                                                                                               // 6
		{"01026F6C3A;E2;child;Dupont;;jules-ferry;CP;;lu;;", "colonne first_name vide"},                                                                                                                            // 7
		{"01026F6C3A;E2;child;Dupont;Hugo;Jules Ferry;CP;;lu;;", "site « Jules Ferry » : ce n'est pas un identifiant d'école"},                                                                                     // 8
		{"01026F6C3A;E2;child;Dupont;Hugo;;CP;;lu;;", "colonne site vide"},                                                                                                                                         // 9
		{"01026F6C3A;E2;child;Dupont;Hugo;jules-ferry;CP;;lu mx;;", "canteen_days : « mx » n'est pas un jour"},                                                                                                     // 10
		{"01026F6C3A;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;midi;", "garderie inconnue : « midi » ; indiquez matin, soir"},                                                                                        // 11
		{";E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;", "colonnes badge et card_number vides"},                                                                                                                      // 12
		{"01026G6C3A;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;", "badge « 01026G6C3A » : ce n'est pas de l'hexadécimal"},                                                                                           // 13
		{"1026F6C3A;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;", "nombre impair de chiffres hexadécimaux (9)"},                                                                                                      // 14
		{"6F6C;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;", "4 chiffres hexadécimaux"},                                                                                                                              // 15
		{";E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;6,10E+06", "mettez la colonne au format texte"},                                                                                                                // 16
		{";E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;111,2770", "s'écrit avec 5 chiffres"},                                                                                                                          // 17
		{"01026F6C3A;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;0006102437", "ce n'est pas la même carte"},                                                                                                           // 18
		{"01026F6C3A;E1;child;Dupont;Hugo;jules-ferry;CP;;lu;;", "person_id E1 déjà présent (ligne 2)"},                                                                                                            // 19
		{"13005d1da5;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;", "badge 13005D1DA5 déjà utilisé par E1 (ligne 2)"},                                                                                                 // 20
		{";E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;0006102437", "card_number 0006102437 : même carte que badge 13005D1DA5 de E1 (ligne 2)"},                                                                       // 21
		{";E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;093,07589", "card_number 093,07589 : même carte que badge 13005D1DA5 de E1 (ligne 2)"},                                                                         // 22
		{"01026F6C3A;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;;x;y", "13 valeurs alors que l'en-tête a 11 colonnes"},                                                                                               // 23
		{"01026F6C3A;E2;child;Dupont;Hugo;jules-ferry;CP;;lu;;;;", ""},                                                                                                                                             // 24: empty extra fields are fine
		{"0B0012D687;E3;staff;Tein;Marie;jules-ferry;;;;;0001234567", ""},                                                                                                                                          // 25: badge and its card agree
		{";E4;child;Wamytan;Kévin;jules-ferry;CP;;lu;;0001234567", "même carte que badge 0B0012D687 de E3 (ligne 25)"},                                                                                             // 26
		{";E4;child;Wamytan;Kévin;jules-ferry;CP;;lu;;111,27706", "même carte que badge 01026F6C3A de E2 (ligne 24)"},                                                                                              // 27
		{";E4;child;Wamytan;Kévin;jules-ferry;CP;;lu;;0040856634", "même carte que badge 01026F6C3A de E2 (ligne 24)"},                                                                                             // 28
		{";E4;child;Wamytan;Kévin;jules-ferry;CP;;lu;;0012345678", ""},                                                                                                                                             // 29
		{";E5;child;Wamytan;Kévin;jules-ferry;CP;;lu;;12345678", "card_number 12345678 : même carte que card_number 0012345678 de E4 (ligne 29)"},                                                                  // 30
		{"0A00BC614E;E5;child;Wamytan;Kévin;jules-ferry;CP;;lu;;", "badge 0A00BC614E : même carte que card_number 0012345678 de E4 (ligne 29)"},                                                                    // 31
		{"01026F6C3A;;x;;;;CP;;zz;soir;", "colonne person_id vide ; rôle inconnu : « x » ; indiquez child (ou enfant) ou staff (ou agent) ; colonne last_name vide ; colonne first_name vide ; colonne site vide"}, // 32: every problem at once
	}
	var b strings.Builder
	b.WriteString(cols)
	wantErr := map[int]string{}
	var wantGood []int
	for i, r := range rows {
		line := i + 2
		b.WriteString(r.row + "\n")
		switch {
		case r.want != "":
			wantErr[line] = r.want
		case strings.Trim(r.row, ";") != "":
			wantGood = append(wantGood, line)
		}
	}
	res := parseString(t, b.String())
	var gotGood []int
	for _, p := range res.People {
		gotGood = append(gotGood, p.Line)
	}
	if !slices.Equal(gotGood, wantGood) {
		t.Errorf("good rows on lines %v, want %v", gotGood, wantGood)
	}
	if res.Rows != len(wantGood)+len(wantErr) {
		t.Errorf("Rows = %d, want %d", res.Rows, len(wantGood)+len(wantErr))
	}
	got := map[int]string{}
	for _, e := range res.Errors {
		got[e.Line] = e.Reason
	}
	for line, want := range wantErr {
		t.Run(want, func(t *testing.T) {
			reason, ok := got[line]
			if !ok {
				t.Fatalf("line %d: no error, want %q", line, want)
			}
			if !strings.Contains(reason, want) {
				t.Errorf("line %d: reason %q, want it to say %q", line, reason, want)
			}
		})
	}
	for line, reason := range got {
		if _, ok := wantErr[line]; !ok {
			t.Errorf("unexpected error on line %d: %s", line, reason)
		}
	}
	for _, e := range res.Errors {
		if e.Line == 5 && e.PersonID != "E2" {
			t.Errorf("line 5: PersonID = %q, want E2 (so an import keeps a known E2)", e.PersonID)
		}
	}
}

func TestParseWeekdays(t *testing.T) {
	tests := []struct {
		in   string
		want []time.Weekday
		str  string
	}{
		{"lu ma je ve", []time.Weekday{time.Monday, time.Tuesday, time.Thursday, time.Friday}, "lu ma je ve"},
		{"mon,tue, thu ,fri", []time.Weekday{time.Monday, time.Tuesday, time.Thursday, time.Friday}, "lu ma je ve"},
		{"LU MA ME JE VE SA DI", []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}, "lu ma me je ve sa di"},
		{"Sun Sat Wed", []time.Weekday{time.Sunday, time.Saturday, time.Wednesday}, "me sa di"},
		{"lundi, mardi, jeudi, vendredi", []time.Weekday{time.Monday, time.Tuesday, time.Thursday, time.Friday}, "lu ma je ve"},
		{"Mercredi Samedi Dimanche", []time.Weekday{time.Wednesday, time.Saturday, time.Sunday}, "me sa di"},
		{"monday wednesday", []time.Weekday{time.Monday, time.Wednesday}, "lu me"},
		{"lun. mar. jeu. ven.", []time.Weekday{time.Monday, time.Tuesday, time.Thursday, time.Friday}, "lu ma je ve"},
		{"lu lu ,, ma", []time.Weekday{time.Monday, time.Tuesday}, "lu ma"},
		{"", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			w, err := ParseWeekdays(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			for d := time.Sunday; d <= time.Saturday; d++ {
				if w.Has(d) != slices.Contains(tc.want, d) {
					t.Errorf("Has(%v) = %v", d, w.Has(d))
				}
			}
			if w.String() != tc.str {
				t.Errorf("String() = %q, want %q", w, tc.str)
			}
			if back, _ := ParseWeekdays(w.String()); back != w {
				t.Errorf("String does not parse back")
			}
		})
	}
	for _, bad := range []string{"lu-ve", "monday tuesdai", "l"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if _, err := ParseWeekdays(bad); err == nil {
				t.Errorf("ParseWeekdays(%q) accepted", bad)
			}
		})
	}
}

func TestParseGarderie(t *testing.T) {
	tests := []struct {
		in   string
		want Garderie
		ok   bool
	}{
		{"", 0, true},
		{"matin", GarderieMatin, true},
		{"soir", GarderieSoir, true},
		{"matin+soir", GarderieMatin | GarderieSoir, true},
		{"Soir + Matin", GarderieMatin | GarderieSoir, true},
		{"MATIN", GarderieMatin, true},
		{"matin soir", GarderieMatin | GarderieSoir, true},
		{"midi", 0, false},
		{"oui", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			g, err := ParseGarderie(tc.in)
			if (err == nil) != tc.ok || g != tc.want {
				t.Fatalf("ParseGarderie(%q) = %v, %v", tc.in, g, err)
			}
			if tc.ok {
				if back, _ := ParseGarderie(g.String()); back != g {
					t.Errorf("%q does not parse back", g)
				}
			}
		})
	}
	if !(GarderieMatin | GarderieSoir).Has(GarderieSoir) || GarderieMatin.Has(GarderieSoir) {
		t.Error("Has")
	}
}

func TestNormalizeRegime(t *testing.T) {
	for in, want := range map[string]string{
		"":             "standard",
		"  Standard ":  "standard",
		"Sans porc":    "sans-porc",
		"sans_porc":    "sans-porc",
		"sans-porc":    "sans-porc",
		"Végétarien":   "vegetarien",
		"PAI":          "pai",
		"sans  gluten": "sans-gluten",
	} {
		t.Run(in, func(t *testing.T) {
			if got := normalizeRegime(in); got != want {
				t.Errorf("normalizeRegime(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestExampleRosterFile(t *testing.T) {
	f, err := os.Open("../../firmware-config/roster.example.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 || len(res.People) < 6 {
		t.Fatalf("example roster: %d people, errors %v", len(res.People), res.Errors)
	}
	var staff, byCard int
	for _, p := range res.People {
		if p.Role == RoleStaff {
			staff++
		}
		if p.Match.Bits != MatchExact {
			byCard++
		}
	}
	if staff == 0 || byCard == 0 {
		t.Errorf("example should show a staff member (%d) and a card_number row (%d)", staff, byCard)
	}
}
