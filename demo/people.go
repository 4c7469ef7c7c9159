package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"pointage/hub/roster"
)

// school is one simulated school: its site, device and readers' profiles.
type school struct {
	site, name, device string
	prefix             string // person ids
	badgeHi            uint32 // high bits of the children's card ids
	staffProfile       string // wiegand26-ascii or line-hex
	children, staff    []roster.Person
}

func schools() []*school {
	return []*school{
		{site: "jules-ferry", name: "École Jules Ferry", device: "jf-boitier-1", prefix: "JF", badgeHi: 0x0A00, staffProfile: "wiegand26-ascii"},
		{site: "riviere-salee", name: "École de Rivière-Salée", device: "rs-boitier-1", prefix: "RS", badgeHi: 0x0A01, staffProfile: "line-hex"},
		{site: "vallee-du-tir", name: "École de la Vallée-du-Tir", device: "vt-boitier-1", prefix: "VT", badgeHi: 0x0A02, staffProfile: "line-hex"},
	}
}

// Family names of Nouméa: French and Caldoche, Kanak, Wallisian and
// Futunian, Tahitian, Vietnamese, Indonesian (Javanese).
var familyNames = [][]string{
	{"Martin", "Dubois", "Lefèvre", "Bernard", "Petit", "Moreau", "Laurent", "Fontaine", "Rousseau", "Garnier",
		"Pentecost", "Lèques", "Boyer", "Frogier", "Gaillard", "Martinez", "Ohlen", "Metzdorf", "Lafleur", "Delathière"},
	{"Wamytan", "Gorodey", "Naisseline", "Wéa", "Kasarhérou", "Tjibaou", "Poigoune", "Hnawia", "Wahetra", "Kaloï",
		"Ounou", "Goa", "Wapotro", "Néaoutyine", "Trolue", "Waheo", "Xowie", "Pidjot"},
	{"Tuifua", "Taofifenua", "Mulikihaamea", "Takatai", "Vakalepu", "Felomaki", "Tialetagi", "Manufekai", "Falelavaki", "Lauhea", "Tauhavili"},
	{"Teriitehau", "Tehei", "Temarii", "Tetuanui", "Maitere", "Tauhiro", "Tehaamoana", "Raapoto"},
	{"Nguyen", "Tran", "Le", "Pham", "Vu", "Dang", "Do", "Hoang"},
	{"Sarimin", "Wiryo", "Kromo", "Sutomo", "Karto", "Marsudi", "Soekardi", "Darmo", "Suparman"},
}

var firstNames = [][]string{
	{"Lucas", "Léa", "Emma", "Noah", "Chloé", "Jade", "Enzo", "Manon", "Hugo", "Kylian", "Maëlys", "Louis", "Inès", "Théo", "Camille", "Nathan"},
	{"Wassissi", "Marie-Rose", "Jean-Baptiste", "Eloïse", "Kiamu", "Waya", "Joseph", "Célestine", "Hnadrune", "Yeiwéné", "Sylvain", "Tidjine"},
	{"Soane", "Malia", "Petelo", "Sosefo", "Losa", "Kalepo", "Telesia", "Atonio", "Falakika", "Vaimua"},
	{"Hinano", "Vaimiti", "Teva", "Heimana", "Moana", "Tehani", "Raitea", "Manua", "Hiro", "Poehere"},
	{"Minh", "Linh", "Thanh", "Mai", "Anh", "Khoa", "Lan"},
	{"Dewi", "Sari", "Budi", "Wulan", "Agus", "Ratna", "Yanti"},
}

// community weights: French/Caldoche, Kanak, Wallisian, Tahitian,
// Vietnamese, Indonesian.
var communityWeights = []int{36, 30, 16, 7, 5, 6}

func pickWeighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func name(r *rand.Rand) (last, first string) {
	c := pickWeighted(r, communityWeights)
	last = familyNames[c][r.IntN(len(familyNames[c]))]
	// a quarter of the children have a first name from another community
	fc := c
	if r.IntN(4) == 0 {
		fc = pickWeighted(r, communityWeights)
	}
	return last, firstNames[fc][r.IntN(len(firstNames[fc]))]
}

var (
	classes  = []string{"CP", "CE1", "CE2", "CM1", "CM2"}
	regimes  = []string{"standard", "sans-porc", "vegetarien", "pai"}
	regimeW  = []int{74, 17, 6, 3}
	fourDays = roster.Weekdays(0).With(time.Monday).With(time.Tuesday).With(time.Thursday).With(time.Friday)
	fiveDays = fourDays.With(time.Wednesday)
	twoDays  = roster.Weekdays(0).With(time.Monday).With(time.Thursday)
)

// makeRoster fills every school's children and staff, the same every run
// (a fixed seed), so a data folder kept between runs keeps its roster.
func makeRoster(sc []*school, perSchool, staffPerSchool int) []roster.Person {
	r := rand.New(rand.NewPCG(2026, 988))
	var all []roster.Person
	for si, s := range sc {
		s.children, s.staff = nil, nil
		for i := range perSchool {
			last, first := name(r)
			p := roster.Person{PersonID: fmt.Sprintf("E-%s-%03d", s.prefix, i+1), Role: roster.RoleChild,
				LastName: last, FirstName: first, Site: s.site, Class: classes[i*len(classes)/perSchool],
				Regime: regimes[pickWeighted(r, regimeW)], FamilyID: fmt.Sprintf("F-%s-%03d", s.prefix, i/2+1)}
			switch n := r.IntN(100); {
			case n < 62:
				p.CanteenDays = fourDays
			case n < 80:
				p.CanteenDays = fiveDays
			case n < 90:
				p.CanteenDays = twoDays
			}
			switch n := r.IntN(100); {
			case n < 12:
				p.Garderie = roster.GarderieMatin
			case n < 30:
				p.Garderie = roster.GarderieSoir
			case n < 40:
				p.Garderie = roster.GarderieMatin | roster.GarderieSoir
			}
			p.Match, _ = roster.ParseBadge(fmt.Sprintf("%04X%06X", s.badgeHi, 0x3B0000+si*0x1000+i*37))
			s.children = append(s.children, p)
		}
		for i := range staffPerSchool {
			last, first := name(r)
			p := roster.Person{PersonID: fmt.Sprintf("A-%s-%02d", s.prefix, i+1), Role: roster.RoleStaff,
				LastName: last, FirstName: first, Site: s.site, Regime: "standard"}
			if s.staffProfile == "wiegand26-ascii" {
				// Wiegand 26: facility code 42, card number
				p.Match, _ = roster.ParseBadge(fmt.Sprintf("2A%04X", 0x1D00+si*64+i))
			} else {
				p.Match, _ = roster.ParseBadge(fmt.Sprintf("5E%02X%04X", si, 0xC100+i))
			}
			s.staff = append(s.staff, p)
		}
		all = append(all, s.children...)
		all = append(all, s.staff...)
	}
	return all
}
