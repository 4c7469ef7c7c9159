package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Scheduled backups' file names: pointage-backup-20261203-091500.tar.gz,
// the time they were taken in the hub's time zone.
const (
	filePrefix = "pointage-backup-"
	fileSuffix = ".tar.gz"
	fileTime   = "20060102-150405"
)

// Defaults of `run --backup-every` and `--backup-keep`.
const (
	DefaultEvery = 24 * time.Hour
	DefaultKeep  = 14
	// MinEvery is the shortest --backup-every.
	MinEvery = time.Minute
	// StartDelay is how long after the hub's start the first backup waits
	// when the folder holds none yet (or the newest is older than every):
	// the start's recovery and warm-up go first.
	StartDelay = 10 * time.Second
)

// ScheduleOptions configure a Scheduler.
type ScheduleOptions struct {
	DataDir    string        // the hub's data folder
	Dir        string        // where backups are written (--backup-dir)
	Every      time.Duration // default DefaultEvery
	Keep       int           // newest files kept; default DefaultKeep
	HubVersion string
	Loc        *time.Location // file names and logs; default time.Local
	Logger     *slog.Logger
	Metrics    prometheus.Registerer // nil: not registered
	Now        func() time.Time      // default time.Now
}

// Result is one backup the scheduler took or tried.
type Result struct {
	At        time.Time     `json:"at"` // when it started
	File      string        `json:"file,omitempty"`
	Size      int64         `json:"size_bytes,omitempty"` // the file's size
	Databases int           `json:"databases,omitempty"`
	Duration  time.Duration `json:"-"`
	Seconds   float64       `json:"duration_seconds"`
	Error     string        `json:"error,omitempty"`    // English, for the log and the API
	ErrorFR   string        `json:"error_fr,omitempty"` // what an office reads, with what to do
}

// Failed reports whether the backup failed.
func (r Result) Failed() bool { return r.Error != "" }

// Status is what the dashboard shows of the scheduled backups.
type Status struct {
	Configured  bool       `json:"configured"`
	Dir         string     `json:"dir,omitempty"`
	Every       string     `json:"every,omitempty"`
	Keep        int        `json:"keep,omitempty"`
	Last        *Result    `json:"last,omitempty"`         // the last attempt
	LastSuccess *Result    `json:"last_success,omitempty"` // the last one that worked (maybe Last)
	Next        *time.Time `json:"next_at,omitempty"`
	Running     bool       `json:"running"`
	Kept        int        `json:"kept"` // backups in Dir
}

// Scheduler takes a backup every opts.Every into opts.Dir and keeps the
// newest opts.Keep (docs/DESIGN.md §13: run --backup-dir).
type Scheduler struct {
	opts       ScheduleOptions
	log        *slog.Logger
	startDelay time.Duration // StartDelay; tests shorten it

	run   sync.Mutex    // one backup at a time
	taken chan struct{} // TakeNow tells Loop a backup was tried: its next follows from the status

	mu     sync.Mutex
	status Status

	lastSuccess prometheus.Gauge
	lastSize    prometheus.Gauge
	lastTook    prometheus.Gauge
	lastFailed  prometheus.Gauge
	failures    prometheus.Counter
}

// NewScheduler checks opts and reads what Dir already holds (the newest
// backup there is the last success until the next one).
func NewScheduler(opts ScheduleOptions) (*Scheduler, error) {
	if opts.Dir == "" || opts.DataDir == "" {
		return nil, errors.New("backup schedule: a data folder and a backup folder are required")
	}
	if opts.Every == 0 {
		opts.Every = DefaultEvery
	}
	if opts.Every < MinEvery {
		return nil, fmt.Errorf("backup-every: %s: at least %s", opts.Every, MinEvery)
	}
	if opts.Keep == 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Keep < 1 {
		return nil, fmt.Errorf("backup-keep: %d: at least 1", opts.Keep)
	}
	if opts.Loc == nil {
		opts.Loc = time.Local
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if sameDir(opts.Dir, opts.DataDir) {
		return nil, fmt.Errorf("backup-dir: %s is the data folder: put backups on another disk or a network share", opts.Dir)
	}
	s := &Scheduler{opts: opts, log: opts.Logger.With("component", "backup"), startDelay: StartDelay, taken: make(chan struct{}, 1),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pointage_backup_last_success_timestamp_seconds", Help: "When the last scheduled backup that worked was taken (Unix time; 0: none yet)."}),
		lastSize:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "pointage_backup_last_size_bytes", Help: "Size of the last backup file that worked."}),
		lastTook:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "pointage_backup_last_duration_seconds", Help: "How long the last backup that worked took."}),
		lastFailed:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "pointage_backup_last_failed", Help: "1 when the last backup attempt failed."}),
		failures:    prometheus.NewCounter(prometheus.CounterOpts{Name: "pointage_backup_failures_total", Help: "Backup attempts that failed since the hub started."}),
	}
	if opts.Metrics != nil {
		for _, c := range []prometheus.Collector{s.lastSuccess, s.lastSize, s.lastTook, s.lastFailed, s.failures} {
			if err := opts.Metrics.Register(c); err != nil {
				return nil, err
			}
		}
	}
	s.status = Status{Configured: true, Dir: opts.Dir, Every: opts.Every.String(), Keep: opts.Keep}
	files, _ := s.files() // a folder not there yet (a share not mounted) is the first backup's error
	s.status.Kept = len(files)
	if len(files) > 0 {
		f := files[len(files)-1]
		r := &Result{At: f.at, File: f.path, Size: f.size}
		s.status.LastSuccess = r
		s.lastSuccess.Set(float64(f.at.Unix()))
		s.lastSize.Set(float64(f.size))
	}
	return s, nil
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && filepath.Clean(aa) == filepath.Clean(bb)
}

// Status is the schedule's state now.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	if st.Last != nil {
		l := *st.Last
		st.Last = &l
	}
	if st.LastSuccess != nil {
		l := *st.LastSuccess
		st.LastSuccess = &l
	}
	if st.Next != nil {
		n := *st.Next
		st.Next = &n
	}
	return st
}

// firstRun is when Loop takes its first backup, started at now: the
// newest backup's time plus Every, but not before StartDelay.
func (s *Scheduler) firstRun(now time.Time) time.Time {
	next := now.Add(s.startDelay)
	if last := s.Status().LastSuccess; last != nil && last.At.Add(s.opts.Every).After(next) {
		next = last.At.Add(s.opts.Every)
	}
	return next
}

// retryAfter is how soon a failed backup is tried again.
func (s *Scheduler) retryAfter() time.Duration { return min(s.opts.Every, time.Hour) }

// Loop takes the backups until ctx ends.
func (s *Scheduler) Loop(ctx context.Context) {
	next := s.firstRun(s.opts.Now())
	for {
		s.mu.Lock()
		n := next
		s.status.Next = &n
		s.mu.Unlock()
		s.log.Info("next backup", "at", next.In(s.opts.Loc).Format(time.DateTime), "dir", s.opts.Dir)
		t := time.NewTimer(max(0, next.Sub(s.opts.Now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.taken: // one taken from the dashboard
			t.Stop()
		case <-t.C:
			s.TakeNow(ctx)
			if ctx.Err() != nil {
				return
			}
			select { // its own signal
			case <-s.taken:
			default:
			}
		}
		next = s.nextRun()
	}
}

// nextRun is when the backup after the last attempt is due: retryAfter
// after a failure, Every after a success.
func (s *Scheduler) nextRun() time.Time {
	st := s.Status()
	if st.Last != nil && st.Last.Failed() {
		return st.Last.At.Add(s.retryAfter())
	}
	return st.LastSuccess.At.Add(s.opts.Every)
}

// TakeNow takes a backup now (the schedule's, or the dashboard's
// "Sauvegarder maintenant"), then removes the oldest beyond Keep.
func (s *Scheduler) TakeNow(ctx context.Context) Result {
	s.run.Lock()
	defer s.run.Unlock()
	s.mu.Lock()
	s.status.Running = true
	s.mu.Unlock()

	start := s.opts.Now()
	r := Result{At: start}
	out := filepath.Join(s.opts.Dir, filePrefix+start.In(s.opts.Loc).Format(fileTime)+fileSuffix)
	m, err := s.take(ctx, out)
	r.Duration = s.opts.Now().Sub(start)
	r.Seconds = r.Duration.Seconds()
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(out); err == nil {
			r.File, r.Size, r.Databases = out, fi.Size(), len(m.Files)
		}
	}
	var kept int
	if err != nil {
		r.Error, r.ErrorFR = err.Error(), frenchError(err, s.opts.Dir)
		s.failures.Inc()
		s.lastFailed.Set(1)
		s.log.Error("backup failed: the dashboard shows it as an alert until one works", "file", out, "err", err)
	} else {
		s.lastFailed.Set(0)
		s.lastSuccess.Set(float64(start.Unix()))
		s.lastSize.Set(float64(r.Size))
		s.lastTook.Set(r.Seconds)
		removed, k, perr := s.prune()
		kept = k
		if perr != nil {
			s.log.Warn("could not remove old backups", "dir", s.opts.Dir, "err", perr)
		}
		s.log.Info("backup written", "file", out, "size", r.Size, "databases", r.Databases,
			"took", r.Duration.Round(time.Millisecond), "removed", removed, "kept", kept)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Running = false
	last := r
	s.status.Last = &last
	if !r.Failed() {
		s.status.LastSuccess = &last
		s.status.Kept = kept
	}
	select { // Loop reads the next run from the status
	case s.taken <- struct{}{}:
	default:
	}
	return r
}

func (s *Scheduler) take(ctx context.Context, out string) (Manifest, error) {
	// A share that is not mounted shows as a missing folder: say so rather
	// than create it on the system disk.
	fi, err := os.Stat(s.opts.Dir)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup folder %s: %w", s.opts.Dir, err)
	}
	if !fi.IsDir() {
		return Manifest{}, fmt.Errorf("backup folder %s is not a folder", s.opts.Dir)
	}
	return Take(ctx, s.opts.DataDir, out, Options{HubVersion: s.opts.HubVersion, Now: s.opts.Now})
}

type backupFile struct {
	path string
	at   time.Time
	size int64
}

// files lists the scheduled backups of Dir, oldest first (only the names
// this scheduler writes: nothing else in the folder is touched).
func (s *Scheduler) files() ([]backupFile, error) {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return nil, err
	}
	var out []backupFile
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, filePrefix) || !strings.HasSuffix(name, fileSuffix) {
			continue
		}
		at, err := time.ParseInLocation(fileTime, strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix), s.opts.Loc)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, backupFile{path: filepath.Join(s.opts.Dir, name), at: at, size: info.Size()})
	}
	slices.SortFunc(out, func(a, b backupFile) int { return a.at.Compare(b.at) })
	return out, nil
}

// prune removes the oldest backups beyond Keep.
func (s *Scheduler) prune() (removed, kept int, err error) {
	files, err := s.files()
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for len(files) > s.opts.Keep {
		if err := os.Remove(files[0].path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		} else {
			removed++
		}
		files = files[1:]
	}
	return removed, len(files), errors.Join(errs...)
}

// frenchError is what the office reads of a failed backup: the likely
// cause and what to do.
func frenchError(err error, dir string) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "le disque des sauvegardes (" + dir + ") est plein : libérez de la place ou gardez moins de sauvegardes (--backup-keep)."
	case errors.Is(err, fs.ErrNotExist):
		return "le dossier des sauvegardes " + dir + " est introuvable : vérifiez que le second disque ou le partage réseau est bien monté."
	case errors.Is(err, fs.ErrPermission):
		return "le hub n'a pas le droit d'écrire dans " + dir + " : donnez ce droit à l'utilisateur du service pointage-hub."
	case errors.Is(err, context.Canceled):
		return "le hub s'est arrêté pendant la sauvegarde : elle sera refaite au prochain démarrage."
	default:
		return "erreur inattendue (" + err.Error() + ") : consultez le journal du hub et prévenez votre prestataire."
	}
}
