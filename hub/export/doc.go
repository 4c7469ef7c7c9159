// Package export owns the monthly exports the office opens in French Excel
// and feeds to the billing and payroll software (docs/DESIGN.md §7 `pointage-hub
// export meals|garderie|staff`): meals and garderie sessions billed to
// families (with the roster's family_id, docs/DESIGN.md §10), staff hours paid from
// their clock-ins.
//
// It only formats. The hub counts (docs/DESIGN.md §5) and fills an Export with
// plain rows (MealRow, GarderieRow, StaffRow); WriteCSV and WriteXLSX (or
// WriteTo with a format name) write it; FileName and ContentType name the
// download. The package reads no store, starts no goroutine, keeps no
// state, never modifies the rows it is given and never logs.
//
// # CSV, for billing software and French Excel
//
// UTF-8 with a BOM, ';' separators, CRLF line ends, quoting by
// encoding/csv (a field holding ';', '"' or a line break is quoted). Days
// are dd/mm/yyyy; times HH:MM (24 h) in Export.Loc, prefixed with their
// day when it is not the row's (a garderie check-out closed the next
// morning: "26/11/2026 07:00"); durations in decimal hours with a comma
// ("7,50"); booleans oui/non. Rows are sorted by day, site, then name in
// French collation order (accents and case do not send "Émery" after
// "Zola"), then person id and time. A text cell starting with = + - @, a
// tab or a carriage return gets a leading apostrophe, so a name from the
// roster file is never run by Excel as a formula.
//
//	meals:    Date;Site;Identifiant;Nom;Prénom;Famille;Classe;Régime;Statut;À vérifier;Corrigé
//	garderie: Date;Site;Séance;Identifiant;Nom;Prénom;Famille;Classe;Arrivée;Départ;Durée (h);Retard;Encore présent;À vérifier
//	staff:    Date;Site;Identifiant;Nom;Prénom;Pointages;Heures;Heures (hh:mm);Anomalies
//
// Statut is prévu or occasionnel; Séance is "Garderie du matin" or
// "Garderie du soir" for the default sessions, the raw name otherwise;
// Départ and Durée are empty for a child never checked out; Pointages reads
// "07:02–11:30 / 12:15–16:05", "07:02–?" for a missing clock-out; Anomalies
// lists the flags in French (sortie manquante, entrée manquante, à
// vérifier, corrigé, …). Durations are rounded to the minute first, so
// "7:30" is always "7,50".
//
// # XLSX, for the office
//
// A first sheet "Résumé" with a line per site (per site and session for
// the garderie) and a total: meals, expected and occasional, corrected, to
// review; garderie stays, hours, no check-out, late, to review; staff,
// days, hours (decimal and [h]:mm), missing clock-outs, days with an
// anomaly; then what the file is (kind, month, site, when generated). Then
// one sheet per site, named after its id (cut to Excel's 31 characters and
// numbered if two ids collide), with the CSV's columns. Headers are bold
// and frozen, columns sized, an autofilter covers each data sheet. Days,
// times and durations are Excel numbers with formats (dd/mm/yyyy, hh:mm,
// 0.00, [h]:mm), so they sort, filter and add up; text is stored as text,
// never as a formula. An export with no row still has its header row.
//
// Names. With Export.Names (docs/DESIGN.md §12), the XLSX shows what a
// person reads beside the ids: a column "École" (the site's display name)
// after "Site" on the data sheets and the summary, and "Libellé du régime"
// after the meals' "Régime" (the diet's code); an id without a name is
// repeated, the id columns and the sheets' names keep the ids, and one
// site's summary names it "École de Rivière-Salée (riviere-salee)". The
// CSV never shows names: its columns are a contract for scripts.
//
// Memory. excelize writes the workbook (styles, summary, each data sheet's
// columns, frozen header row and autofilter), and the archive goes
// straight to the caller's writer through excelize's zip-writer hook
// rather than File.Write's in-memory copy of the whole file
// (qax-os/excelize#2357). The data rows never go through excelize: its
// StreamWriter keeps each streamed sheet's XML in memory until that sheet
// passes 16 MB (StreamChunkSize, not configurable: qax-os/excelize#1927),
// so a citywide month of meals (60 sheets) held all its sheets' XML until
// the end. The hook instead finds each data sheet's </sheetData> as
// excelize writes it and renders that sheet's rows there, one at a time,
// into the compressed entry, with the cells excelize's StreamWriter would
// write (sheetxml.go; a test compares the two cell by cell). Beyond the
// rows themselves, an XLSX needs the summary and a row's buffer, like the
// CSV's 16 bytes a row (see bench_test.go).
//
// Do not call File.SetActiveSheet or any other function that visits every
// worksheet after streaming: excelize reads streamed sheets back into its
// in-memory model (gigabytes for a month).
package export
