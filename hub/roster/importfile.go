package roster

import (
	"context"
	"fmt"
	"io"
	"os"
	"pointage/internal/civil"
)

// ImportParsed imports the good rows of a parsed file from the day from
// (Import's rules), leaving as they were the current people whose row was
// rejected: a typo in a child's row does not take the child off the roster.
// A file with no good row is refused (ErrInvalidFile): importing it would
// remove everyone.
func (r *Roster) ImportParsed(ctx context.Context, pr *ParseResult, from civil.Date, progress func(done, total int)) (ImportResult, error) {
	return r.importParsed(ctx, pr, from, false, progress)
}

// DryRun is ImportParsed without writing anything: the figures the import
// would give (added, changed, unchanged, removed, kept), or its error.
func (r *Roster) DryRun(ctx context.Context, pr *ParseResult, from civil.Date) (ImportResult, error) {
	return r.importParsed(ctx, pr, from, true, nil)
}

func (r *Roster) importParsed(ctx context.Context, pr *ParseResult, from civil.Date, dryRun bool, progress func(done, total int)) (ImportResult, error) {
	if len(pr.People) == 0 {
		return ImportResult{}, fmt.Errorf("%w: aucune ligne ne peut être importée (%d rejetée(s)) ; rien n'a changé", ErrInvalidFile, len(pr.Errors))
	}
	var keep []string
	for _, e := range pr.Errors {
		if e.PersonID != "" {
			keep = append(keep, e.PersonID)
		}
	}
	return r.importPeople(ctx, pr.People, keep, from, dryRun, progress)
}

// progressEvery is how often ImportFile reports progress: every 1,000
// people, or every tenth of the file when that is more.
func progressEvery(total int) int { return max(1000, (total+9)/10) }

// ImportFile is `pointage-hub roster import`: it parses the CSV file at
// path, prints each bad row as "line N: reason" to out, imports the good
// rows from the day from (ImportParsed), printing progress on large files
// and a summary line:
//
//	added: N, changed: N, unchanged: N, removed: N, rejected rows: N
//
// It returns what the import did and what the parse found (nil if the file
// could not be read); the exit code is the command's to decide. An error
// means nothing was imported.
func ImportFile(ctx context.Context, r *Roster, path string, from civil.Date, out io.Writer) (ImportResult, *ParseResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImportResult{}, nil, fmt.Errorf("roster import: %w", err)
	}
	defer f.Close()
	pr, err := Parse(f)
	if err != nil {
		return ImportResult{}, nil, fmt.Errorf("roster import %s: %w", path, err)
	}
	for _, e := range pr.Errors {
		fmt.Fprintf(out, "line %d: %s\n", e.Line, e.Reason)
	}
	total := len(pr.People)
	if total >= 1000 {
		fmt.Fprintf(out, "importing %d people, changes from %s\n", total, from)
	}
	step, printed := progressEvery(total), 0
	progress := func(done, total int) {
		if total < 1000 || done <= printed {
			return
		}
		if done == total || done/step > printed/step {
			fmt.Fprintf(out, "%d/%d\n", done, total)
			printed = done
		}
	}
	res, err := r.ImportParsed(ctx, pr, from, progress)
	if err != nil {
		return res, pr, fmt.Errorf("roster import %s: %w", path, err)
	}
	if res.Removed > 0 {
		fmt.Fprintf(out, "%d people not in this file are off the roster from %s (known before)\n", res.Removed, from)
	}
	if res.Kept > 0 {
		fmt.Fprintf(out, "%d people whose row was rejected keep their current entry\n", res.Kept)
	}
	fmt.Fprintf(out, "added: %d, changed: %d, unchanged: %d, removed: %d, rejected rows: %d\n",
		res.Added, res.Changed, res.Unchanged, res.Removed, len(pr.Errors))
	return res, pr, nil
}
