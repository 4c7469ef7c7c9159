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

// RosterImports imports a parsed roster, or says what an import would do.
type RosterImports interface {
	ImportParsed(ctx context.Context, pr *roster.ParseResult, from civil.Date, progress func(done, total int)) (roster.ImportResult, error)
	DryRun(ctx context.Context, pr *roster.ParseResult, from civil.Date) (roster.ImportResult, error)
}

// RosterAnswer is the answer of POST /api/v1/roster (docs/DESIGN.md §12): the
// figures `roster import` prints. Kept is an addition: current people
// whose row was rejected, who stay as they were.
type RosterAnswer struct {
	DryRun    bool          `json:"dry_run"`
	From      string        `json:"from"`
	Added     int           `json:"added"`
	Changed   int           `json:"changed"`
	Unchanged int           `json:"unchanged"`
	Removed   int           `json:"removed"`
	Kept      int           `json:"kept"`
	Rejected  []RejectedRow `json:"rejected"`
}

// RejectedRow is a roster row that was not imported, and why.
type RejectedRow struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
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
		if err != nil {
			writeError(w, http.StatusBadRequest, "from: want YYYY-MM-DD, like 2026-11-28")
			return
		}
		from = d
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, roster.MaxFileSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Fichier trop gros : %d Mo au plus.", roster.MaxFileSize>>20))
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
	var res roster.ImportResult
	if dryRun {
		res, err = a.opts.Roster.DryRun(r.Context(), pr, from)
	} else {
		res, err = a.opts.Roster.ImportParsed(r.Context(), pr, from, nil)
	}
	if err != nil {
		if errors.Is(err, roster.ErrInvalidFile) || errors.Is(err, roster.ErrBackdated) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		a.respond(w, r, nil, err)
		return
	}
	out := RosterAnswer{DryRun: dryRun, From: from.String(), Added: res.Added, Changed: res.Changed, Unchanged: res.Unchanged,
		Removed: res.Removed, Kept: res.Kept, Rejected: []RejectedRow{}}
	for _, e := range pr.Errors {
		out.Rejected = append(out.Rejected, RejectedRow{Line: e.Line, Reason: e.Reason})
	}
	if !dryRun {
		a.log.Info("roster imported", "from", from, "added", res.Added, "changed", res.Changed, "removed", res.Removed, "rejected", len(pr.Errors), "user", u.Name)
		a.record(r, u, audit.RosterImport, from.String(), fmt.Sprintf("added %d, changed %d, unchanged %d, removed %d, rejected rows %d",
			res.Added, res.Changed, res.Unchanged, res.Removed, len(pr.Errors)))
	}
	writeJSON(w, http.StatusOK, out)
}

// notARoster says in French what a roster file needs, with the reason
// the file was refused.
func notARoster(err error) string {
	return "Ce fichier n'est pas une liste d'élèves et d'agents lisible : il faut un classeur Excel (.xlsx, première feuille) " +
		"ou un fichier CSV UTF-8 dont la première ligne nomme les colonnes " + strings.Join(roster.RequiredColumns, ";") +
		" (dans n'importe quel ordre). Détail : " + err.Error()
}
