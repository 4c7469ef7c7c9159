package corrections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/internal/civil"
)

// Author is who records a correction, as authenticated: the office may
// correct any site and declare gaps lost; a school user only its own site.
type Author struct {
	auth.User
	Addr string // the client's address, for the audit log
}

// Sequences is what recording a declare_lost needs of the ingest
// pipeline: whether the declaration can apply (a known sequence, a range
// not too long), checked before it is recorded, and applying it so that
// the device's Ack moves past the range.
type Sequences interface {
	CanDeclareLost(device, epoch string, from, to uint64) error
	DeclareLost(ctx context.Context, site, device, epoch string, from, to uint64, correctionID string) error
}

// RecorderOptions wire a Recorder.
type RecorderOptions struct {
	Store     *Store
	Sequences Sequences         // nil: declare_lost is refused
	Today     func() civil.Date // the default day
	Corrected func()            // tells the read model (nil: nobody)
	Audit     *audit.Log        // nil: nothing recorded
	Logger    *slog.Logger
}

// Recorder is the one way a correction is recorded (the API's POST
// /api/v1/corrections): who may, what is valid, the record, its
// application (a declared gap), the read model told, the audit log.
type Recorder struct {
	opts RecorderOptions
	log  *slog.Logger
}

// NewRecorder returns a Recorder.
func NewRecorder(opts RecorderOptions) *Recorder {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Corrected == nil {
		opts.Corrected = func() {}
	}
	return &Recorder{opts: opts, log: opts.Logger}
}

// Refusal is why a correction was not recorded; Error is the message for
// the user.
type Refusal struct {
	Kind RefusalKind
	Msg  string
}

func (r *Refusal) Error() string { return r.Msg }

// RefusalKind sorts refusals for the API's status codes.
type RefusalKind int

// Kinds of refusal.
const (
	Forbidden      RefusalKind = iota + 1 // the author may not (403)
	Invalid                               // the correction is not valid or cannot apply (400)
	ClientIDReused                        // the client_id names another correction (409)
)

func refuse(kind RefusalKind, format string, args ...any) error {
	return &Refusal{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Record records c for by. The correction comes back as stored, with
// Replay set if the same client_id had recorded it already (then nothing
// new is written or audited). A *Refusal says why not; another error is
// the hub's.
func (r *Recorder) Record(ctx context.Context, by Author, c Correction) (Correction, error) {
	office := by.Role == auth.RoleOffice
	if !office && c.Site != by.Site {
		return Correction{}, refuse(Forbidden, "your account is limited to site %s", by.Site)
	}
	if c.Kind == DeclareLost && !office {
		return Correction{}, refuse(Forbidden, "only the office declares a gap lost")
	}
	c.User = by.Name // attributed to who is logged in, whatever the body says
	if c.Day == "" {
		c.Day = r.opts.Today().String()
	}
	if err := c.Validate(); err != nil {
		return Correction{}, refuse(Invalid, "%s", err)
	}
	if c.Kind == DeclareLost {
		// Refused before it is recorded: a correction is never deleted, so
		// one that cannot apply must not be written.
		if r.opts.Sequences == nil {
			return Correction{}, refuse(Invalid, "declare_lost: this hub has no ingest pipeline")
		}
		if err := r.opts.Sequences.CanDeclareLost(c.Device, c.Epoch, c.FromSeq, c.ToSeq); err != nil {
			return Correction{}, refuse(Invalid, "%s", err)
		}
	}
	saved, err := r.opts.Store.Add(ctx, c)
	if errors.Is(err, ErrClientIDReused) {
		return Correction{}, refuse(ClientIDReused, "%s", err)
	}
	if err != nil {
		return Correction{}, err
	}
	r.opts.Corrected()
	if saved.Kind == DeclareLost {
		// Applied on a replay too (it is idempotent): a retry then finishes
		// a declaration whose first application failed.
		if err := r.opts.Sequences.DeclareLost(ctx, saved.Site, saved.Device, saved.Epoch, saved.FromSeq, saved.ToSeq, saved.ID); err != nil {
			return Correction{}, refuse(Invalid, "%s", err)
		}
	}
	if saved.Replay { // sent again (a lost answer, a tablet back online): recorded once
		return saved, nil
	}
	r.log.Info("correction recorded", "id", saved.ID, "kind", saved.Kind, "site", saved.Site, "user", saved.User)
	if r.opts.Audit != nil {
		if _, err := r.opts.Audit.Record(context.WithoutCancel(ctx), audit.Entry{User: by.Name, Role: string(by.Role), Action: audit.Correction,
			Target: saved.ID, Detail: fmt.Sprintf("%s %s %s %s: %s", saved.Kind, saved.Site, saved.Day, saved.PersonID, saved.Reason), Addr: by.Addr}); err != nil {
			// Recorded all the same: the correction is done.
			r.log.Error("could not write the audit log", "action", audit.Correction, "user", by.Name, "err", err)
		}
	}
	return saved, nil
}

// List lists corrections (the API's GET /api/v1/corrections).
func (r *Recorder) List(ctx context.Context, f Filter) ([]Correction, error) {
	return r.opts.Store.List(ctx, f)
}
