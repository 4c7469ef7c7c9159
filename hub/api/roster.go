package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/internal/civil"
)

// MaxRosterUpload bounds the body of POST /api/v1/roster: 20 MB, far more
// than a roster of 10,000 people (about 1 MB as CSV, less as XLSX). A
// larger upload is refused (413) before it is read; the command
// `roster import` reads files up to roster.MaxFileSize.
const MaxRosterUpload = 20 << 20

// RosterImports imports a parsed roster, or says what an import would do.
type RosterImports interface {
	ImportParsed(ctx context.Context, pr *roster.ParseResult, from civil.Date, progress func(done, total int)) (roster.ImportResult, error)
	DryRun(ctx context.Context, pr *roster.ParseResult, from civil.Date) (roster.ImportResult, error)
}

// RosterAnswer is the answer of POST /api/v1/roster (docs/DESIGN.md §12): the
// figures `roster import` prints. Additions: Kept (current people whose
// row was rejected, who stay as they were), and who is behind the
// figures, the first roster.MaxListed people of each kind.
type RosterAnswer struct {
	DryRun        bool           `json:"dry_run"`
	From          string         `json:"from"`
	Added         int            `json:"added"`
	Changed       int            `json:"changed"`
	Unchanged     int            `json:"unchanged"`
	Removed       int            `json:"removed"`
	Kept          int            `json:"kept"`
	Rejected      []RejectedRow  `json:"rejected"`
	AddedPeople   []RosterPerson `json:"added_people"`
	ChangedPeople []RosterChange `json:"changed_people"`
	RemovedPeople []RosterPerson `json:"removed_people"`
	Listed        int            `json:"listed_max"`
}

// RejectedRow is a roster row that was not imported, and why (in French).
type RejectedRow struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// RosterPerson is a person an import adds or removes.
type RosterPerson struct {
	PersonID string `json:"person_id"`
	Name     string `json:"name"` // "Léa Wamytan"
	Role     string `json:"role"`
	Site     string `json:"site"`
	Class    string `json:"class"`
	Line     int    `json:"line,omitempty"` // the file's row (added people)
}

// RosterChange is a person an import changes: each field, before and after.
type RosterChange struct {
	PersonID string        `json:"person_id"`
	Name     string        `json:"name"`
	Site     string        `json:"site"`
	Line     int           `json:"line"`
	Changes  []FieldChange `json:"changes"`
}

// FieldChange is one field of a person that an import changes, named as
// the roster file's column.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// registerRoster adds POST /api/v1/roster?from=YYYY-MM-DD&dry_run=true|false
// (office only): the body is the file, CSV or XLSX, told apart by its
// content whatever the Content-Type.
func (a *API) registerRoster(mux *http.ServeMux) {
	if a.opts.Roster == nil {
		return
	}
	mux.Handle("POST /api/v1/roster", a.auth(a.importRoster, auth.RoleOffice))
}

func (a *API) importRoster(w http.ResponseWriter, r *http.Request, u User) {
	q := r.URL.Query()
	dryRun := false
	if s := q.Get("dry_run"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "dry_run: true or false")
			return
		}
		dryRun = b
	}
	from := a.opts.Days.Today()
	if s := q.Get("from"); s != "" {
		d, err := civil.ParseDate(s)
		if err != nil || !d.After(civil.MinDate) || !d.Before(civil.MaxDate) {
			writeError(w, http.StatusBadRequest, "from: want YYYY-MM-DD, like 2026-11-28")
			return
		}
		from = d
	}
	tooLarge := fmt.Sprintf("Fichier trop gros : %d Mo au plus. Une liste de 10 000 personnes fait environ 1 Mo ; enregistrez seulement la liste (première feuille) en .xlsx ou en CSV.", MaxRosterUpload>>20)
	if r.ContentLength > MaxRosterUpload { // refused unread; the server then closes the connection
		writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRosterUpload))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, tooLarge)
		} else {
			writeError(w, http.StatusBadRequest, "Envoi du fichier interrompu : réessayez.")
		}
		return
	}
	pr, err := roster.Parse(bytes.NewReader(body))
	if err != nil {
		if errors.Is(err, roster.ErrInvalidFile) {
			writeError(w, http.StatusBadRequest, notARoster(err))
			return
		}
		a.respond(w, r, nil, err)
		return
	}
	rejected := []RejectedRow{}
	for _, e := range pr.Errors {
		rejected = append(rejected, RejectedRow{Line: e.Line, Reason: e.Reason})
	}
	var res roster.ImportResult
	if dryRun {
		res, err = a.opts.Roster.DryRun(r.Context(), pr, from)
	} else {
		res, err = a.opts.Roster.ImportParsed(r.Context(), pr, from, nil)
	}
	var late *roster.BackdatedError
	switch {
	case errors.Is(err, roster.ErrInvalidFile): // no row can be imported: the reasons say why
		writeJSON(w, http.StatusBadRequest, struct {
			Error    string        `json:"error"`
			Rejected []RejectedRow `json:"rejected"`
		}{fmt.Sprintf("Aucune ligne de ce fichier ne peut être importée (%d rejetée(s)) : rien n'a changé. Corrigez les lignes ci-dessous.", len(pr.Errors)), rejected})
		return
	case errors.As(err, &late):
		writeError(w, http.StatusBadRequest, backdated(late))
		return
	case err != nil:
		a.respond(w, r, nil, err)
		return
	}
	out := RosterAnswer{DryRun: dryRun, From: from.String(), Added: res.Added, Changed: res.Changed, Unchanged: res.Unchanged,
		Removed: res.Removed, Kept: res.Kept, Rejected: rejected, Listed: roster.MaxListed,
		AddedPeople: rosterPeople(res.AddedPeople), RemovedPeople: rosterPeople(res.RemovedPeople), ChangedPeople: []RosterChange{}}
	for _, c := range res.ChangedPeople {
		rc := RosterChange{PersonID: c.New.PersonID, Name: displayName(c.New), Site: c.New.Site, Line: c.New.Line, Changes: []FieldChange{}}
		for _, f := range c.Fields {
			rc.Changes = append(rc.Changes, FieldChange{Field: f.Field, Old: f.Old, New: f.New})
		}
		out.ChangedPeople = append(out.ChangedPeople, rc)
	}
	if !dryRun {
		a.log.Info("roster imported", "from", from, "added", res.Added, "changed", res.Changed, "removed", res.Removed, "rejected", len(pr.Errors), "user", u.Name)
		a.record(r, u, audit.RosterImport, from.String(), fmt.Sprintf("added %d, changed %d, unchanged %d, removed %d, rejected rows %d",
			res.Added, res.Changed, res.Unchanged, res.Removed, len(pr.Errors)))
	}
	writeJSON(w, http.StatusOK, out)
}

func rosterPeople(ps []roster.Person) []RosterPerson {
	out := make([]RosterPerson, 0, len(ps))
	for _, p := range ps {
		out = append(out, RosterPerson{PersonID: p.PersonID, Name: displayName(p), Role: string(p.Role), Site: p.Site, Class: p.Class, Line: p.Line})
	}
	return out
}

// displayName is a person as the dashboard names them: "Léa Wamytan".
func displayName(p roster.Person) string { return strings.TrimSpace(p.FirstName + " " + p.LastName) }

// notARoster says in French what a roster file needs, with the reason
// the file was refused (French too, after the sentinel's text).
func notARoster(err error) string {
	detail := err.Error()
	if _, after, ok := strings.Cut(detail, roster.ErrInvalidFile.Error()+": "); ok {
		detail = after
	}
	return "Ce fichier n'est pas une liste d'élèves et d'agents lisible : il faut un classeur Excel (.xlsx, première feuille) " +
		"ou un fichier CSV UTF-8 dont la première ligne nomme les colonnes " + strings.Join(roster.RequiredColumns, ";") +
		" (dans n'importe quel ordre). Détail : " + detail
}

// backdated says in French that the import date is before the roster's
// history, and which date works.
func backdated(e *roster.BackdatedError) string {
	why := fmt.Sprintf("%s a une fiche valable depuis le %s", e.PersonID, dayFR(e.Since))
	if e.Left {
		why = fmt.Sprintf("%s a quitté le registre le %s", e.PersonID, dayFR(e.Since))
	}
	others := ""
	if e.Others > 0 {
		others = fmt.Sprintf(" (et %d autre(s) personne(s))", e.Others)
	}
	return fmt.Sprintf("Date trop ancienne : %s, après le %s%s ; l'historique n'est jamais réécrit. Appliquez à partir du %s ou plus tard.",
		why, dayFR(e.From), others, dayFR(e.Earliest))
}

// dayFR is a day as French readers write it: 28/11/2026.
func dayFR(d civil.Date) string { return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year) }
