package export_test

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata"

	"pointage/hub/export"
	"pointage/internal/civil"
)

func ExampleWriteCSV() {
	loc, _ := time.LoadLocation("Pacific/Noumea")
	in := time.Date(2026, time.November, 24, 7, 2, 0, 0, loc)
	out := time.Date(2026, time.November, 24, 14, 32, 0, 0, loc)
	e := export.Export{
		Kind: export.Staff, Month: "2026-11", Site: "jules-ferry", Loc: loc,
		Staff: []export.StaffRow{
			{Date: civil.Date{Year: 2026, Month: time.November, Day: 24}, Site: "jules-ferry", PersonID: "A017",
				LastName: "Wamytan", FirstName: "Rose", Pairs: []export.Pair{{In: in, Out: &out}}, Hours: out.Sub(in)},
			{Date: civil.Date{Year: 2026, Month: time.November, Day: 25}, Site: "jules-ferry", PersonID: "A017",
				LastName: "Wamytan", FirstName: "Rose", Pairs: []export.Pair{{In: in.AddDate(0, 0, 1)}},
				Flags: []string{export.FlagMissingClockOut}},
		},
	}
	var buf bytes.Buffer
	if err := export.WriteCSV(&buf, e, nil); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(export.FileName(e, "csv"), export.ContentType("csv"))
	// The file starts with a BOM and ends its lines with CRLF, for Excel.
	fmt.Print(strings.ReplaceAll(strings.TrimPrefix(buf.String(), "\uFEFF"), "\r\n", "\n"))
	// Output:
	// pointage-agents-2026-11-jules-ferry.csv text/csv; charset=utf-8
	// Date;Site;Identifiant;Nom;Prénom;Pointages;Heures;Heures (hh:mm);Anomalies
	// 24/11/2026;jules-ferry;A017;Wamytan;Rose;07:02–14:32;7,50;7:30;
	// 25/11/2026;jules-ferry;A017;Wamytan;Rose;07:02–?;0,00;0:00;sortie manquante
}
