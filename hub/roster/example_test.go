package roster_test

import (
	"fmt"
	"strings"

	"pointage/hub/roster"
)

func ExampleParse() {
	const csv = "\ufeffbadge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;card_number\r\n" +
		"13005D1DA5;E1;child;Dupont;Léa;jules-ferry;CP-A;Sans porc;lundi mardi jeudi vendredi;matin+soir;\r\n" +
		";E2;child;Nguyen;Élodie;jules-ferry;CM1;;mon,tue,thu,fri;;0040856634\r\n" +
		";E3;staff;Tein;Marie;jules-ferry;;;;midi;\r\n"
	res, err := roster.Parse(strings.NewReader(csv))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range res.People {
		fmt.Printf("line %d: %s %s %s [%s] garderie=%q badge=%s\n", p.Line, p.PersonID, p.Role, p.Regime, p.CanteenDays, p.Garderie, p.Match)
	}
	for _, e := range res.Errors {
		fmt.Println(e)
	}
	// Output:
	// line 2: E1 child sans-porc [lu ma je ve] garderie="matin+soir" badge=13005D1DA5
	// line 3: E2 child standard [lu ma je ve] garderie="" badge=026F6C3A/32
	// line 4: colonnes badge et card_number vides : indiquez l'identifiant hexadécimal du badge (par ex. 13005D1DA5) ou le numéro imprimé sur la carte (par ex. 0006102437) ; garderie inconnue : « midi » ; indiquez matin, soir ou matin+soir, ou laissez vide
}

func ExampleIndex_Lookup() {
	m, _ := roster.ParseCardNumber("0006102437") // printed on the card (8H10D)
	ix := roster.NewIndex([]roster.Person{{PersonID: "E1", Match: m}})
	p, ok := ix.Lookup("13005D1DA5") // what the RDM6300 reads
	fmt.Println(p.PersonID, ok)
	// Output: E1 true
}
