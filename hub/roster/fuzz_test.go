package roster

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary files to the roster parser: no panic; a file
// is refused with an error, or every data row is either a person that
// validates or a row error with a line number; a person id appears once.
// fuzzHead and fuzzRow start the seeds of FuzzParse and FuzzImport.
const (
	fuzzHead = "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n"
	fuzzRow  = "0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir;F12\n"
)

// parseSeeds are the roster files both fuzz targets start from.
var parseSeeds = []string{
	fuzzHead + fuzzRow,
	fuzzHead + fuzzRow + "0A00000001;E002;child;X;Y;jules-ferry;CP;standard;lu;;\n",
	fuzzHead + "zz;E001;child;;;Bad Site;;;jamais;nuit;\n",
	"\xef\xbb\xbf" + fuzzHead + "\"0A 00 00 00 01\";E001;staff;Nom;Prénom;pasteur;;;;;\n",
	"badge,person_id,role\n1,2,3\n",
	fuzzHead + "0A00000001;E001;child;Wamytan;L\xe9a;jules-ferry;CP;standard;lu;;\n", // Latin-1
	"",
	fuzzHead,
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data))
		if err != nil {
			if res != nil {
				t.Fatalf("an error and a result")
			}
			return
		}
		// A duplicate id may be reported on both of its rows, but there
		// are never more people than rows.
		if len(res.People) > res.Rows {
			t.Fatalf("%d people from %d rows", len(res.People), res.Rows)
		}
		seen := map[string]bool{}
		for _, p := range res.People {
			if err := p.Validate(); err != nil {
				t.Fatalf("a person that does not validate: %+v: %v", p, err)
			}
			if seen[p.PersonID] {
				t.Fatalf("person %q twice", p.PersonID)
			}
			seen[p.PersonID] = true
		}
		for _, e := range res.Errors {
			if e.Line < 1 {
				t.Fatalf("row error without a line: %+v", e)
			}
		}
	})
}
