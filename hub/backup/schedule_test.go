package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestSchedulerKeepsTheNewestAndLeavesOtherFiles(t *testing.T) {
	data := dataFolder(t, 50)
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("the office's own file"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	s, err := NewScheduler(ScheduleOptions{DataDir: data, Dir: dir, Keep: 3, Loc: time.UTC, Metrics: reg,
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.LastSuccess != nil || st.Kept != 0 {
		t.Fatalf("an empty folder: %+v", st)
	}
	for range 5 {
		if r := s.TakeNow(context.Background()); r.Failed() {
			t.Fatal(r.Error)
		}
		clock = clock.Add(24 * time.Hour)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"notes.txt", "pointage-backup-20261203-020000.tar.gz", "pointage-backup-20261204-020000.tar.gz", "pointage-backup-20261205-020000.tar.gz"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("the folder holds %v, want %v", names, want)
	}
	st := s.Status()
	if st.Kept != 3 || st.LastSuccess == nil || st.LastSuccess.File != filepath.Join(dir, want[3]) || st.LastSuccess.Size == 0 || st.LastSuccess.Databases != 2 {
		t.Fatalf("status %+v (last %+v)", st, st.LastSuccess)
	}
	if _, err := Verify(context.Background(), st.LastSuccess.File, Options{}); err != nil {
		t.Fatalf("the scheduled backup does not restore: %v", err)
	}
	if v := value(s.lastSuccess); v != float64(time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC).Unix()) {
		t.Fatalf("last success metric %v", v)
	}
	if v := value(s.lastSize); v != float64(st.LastSuccess.Size) {
		t.Fatalf("last size metric %v, want %d", v, st.LastSuccess.Size)
	}

	// A hub started again on the folder knows its last backup, and takes
	// the next one a day after it.
	s2, err := NewScheduler(ScheduleOptions{DataDir: data, Dir: dir, Keep: 3, Loc: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	last := s2.Status().LastSuccess
	if last == nil || !last.At.Equal(time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("after a restart the last backup is %+v", last)
	}
	if next := s2.firstRun(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)); !next.Equal(time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("next backup at %s, want a day after the last", next)
	}
	if next := s2.firstRun(time.Date(2026, 12, 9, 8, 0, 0, 0, time.UTC)); !next.Equal(time.Date(2026, 12, 9, 8, 0, 10, 0, time.UTC)) {
		t.Fatalf("next backup at %s, want soon after a start that is past due", next)
	}
}

func TestSchedulerFailureIsShownInFrenchUntilABackupWorks(t *testing.T) {
	data := dataFolder(t, 5)
	share := filepath.Join(t.TempDir(), "share") // not mounted yet
	s, err := NewScheduler(ScheduleOptions{DataDir: data, Dir: share, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	r := s.TakeNow(context.Background())
	if !r.Failed() || !strings.Contains(r.ErrorFR, "introuvable") || !strings.Contains(r.ErrorFR, "monté") {
		t.Fatalf("a backup into a missing folder: %+v", r)
	}
	if _, err := os.Stat(share); !os.IsNotExist(err) {
		t.Fatal("the scheduler created the missing share's folder on the system disk")
	}
	if value(s.failures) != 1 || value(s.lastFailed) != 1 {
		t.Fatal("the failure is not in the metrics")
	}
	if st := s.Status(); st.Last == nil || !st.Last.Failed() || st.LastSuccess != nil {
		t.Fatalf("status after a failure %+v", st)
	}
	if err := os.Mkdir(share, 0o750); err != nil {
		t.Fatal(err)
	}
	if r := s.TakeNow(context.Background()); r.Failed() {
		t.Fatal(r.Error)
	}
	if st := s.Status(); st.Last.Failed() || st.LastSuccess == nil || value(s.lastFailed) != 0 {
		t.Fatalf("status after the share came back %+v", st)
	}
}

func TestSchedulerLoopTakesTheFirstBackupSoonAfterStart(t *testing.T) {
	data := dataFolder(t, 5)
	dir := t.TempDir()
	s, err := NewScheduler(ScheduleOptions{DataDir: data, Dir: dir, Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.startDelay = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Loop(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Status().LastSuccess == nil {
		if time.Now().After(deadline) {
			t.Fatal("no backup 10 s after the start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := s.Status()
	if st.Next == nil || st.Next.Sub(st.LastSuccess.At) != time.Hour {
		for st.Next == nil || st.Next.Sub(st.LastSuccess.At) != time.Hour { // Loop sets Next just after
			if time.Now().After(deadline) {
				t.Fatalf("next %v, last %v: want an hour after", st.Next, st.LastSuccess.At)
			}
			time.Sleep(10 * time.Millisecond)
			st = s.Status()
		}
	}
	cancel()
	<-done
}

func TestSchedulerRefusesBadSettings(t *testing.T) {
	data := t.TempDir()
	for name, o := range map[string]ScheduleOptions{
		"every too short": {DataDir: data, Dir: t.TempDir(), Every: time.Second},
		"keep negative":   {DataDir: data, Dir: t.TempDir(), Keep: -1},
		"the data folder": {DataDir: data, Dir: data + "/."},
	} {
		if _, err := NewScheduler(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// value reads a gauge's or counter's value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}
