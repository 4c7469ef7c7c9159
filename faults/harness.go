// Package faults is the fault-injection suite (`make test-faults`): it runs the
// real pointage-agent and pointage-hub binaries, a real mosquitto and a real
// influxd, feeds pseudo-terminal badge readers, injects a fault (SIGKILL of the
// agent or the hub, a broker or InfluxDB outage, a skewed clock, an outbox that
// cannot be written) and checks afterwards that every scan the agent accepted
// is stored exactly once and counted once.
//
// The package holds no product code: this file has the pure accounting
// (emitted ids against stored ids) and the report; the scenarios and the
// process helpers are in the _test.go files.
package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Figures compare what the agent accepted (its outbox) with what the hub
// stored.
type Figures struct {
	Emitted    int // distinct ids in the agent's outbox
	Stored     int // rows read from the store (duplicates included)
	Lost       int // emitted, never stored
	Duplicated int // stored more than once (each extra copy counts one)
	Phantom    int // stored, never emitted

	LostIDs, DuplicatedIDs, PhantomIDs []string // sorted, for the failure message
}

// Compare counts lost, duplicated and phantom events between the emitted ids
// and the stored ones (one entry per stored row).
func Compare(emitted map[string]bool, stored []string) Figures {
	f := Figures{Emitted: len(emitted), Stored: len(stored)}
	seen := make(map[string]int, len(stored))
	for _, id := range stored {
		seen[id]++
	}
	for id, n := range seen {
		if n > 1 {
			f.Duplicated += n - 1
			f.DuplicatedIDs = append(f.DuplicatedIDs, id)
		}
		if !emitted[id] {
			f.Phantom++
			f.PhantomIDs = append(f.PhantomIDs, id)
		}
	}
	for id := range emitted {
		if seen[id] == 0 {
			f.Lost++
			f.LostIDs = append(f.LostIDs, id)
		}
	}
	slices.Sort(f.LostIDs)
	slices.Sort(f.DuplicatedIDs)
	slices.Sort(f.PhantomIDs)
	return f
}

// OK reports whether nothing was lost, duplicated or invented.
func (f Figures) OK() bool { return f.Lost == 0 && f.Duplicated == 0 && f.Phantom == 0 }

// Line is the scenario's summary line.
func (f Figures) Line(scenario string) string {
	return fmt.Sprintf("scenario %s: emitted %d, stored %d, lost %d, duplicated %d, phantom %d",
		scenario, f.Emitted, f.Stored, f.Lost, f.Duplicated, f.Phantom)
}

// ReportEnv names the folder the scenarios write their summary lines into
// (one file per scenario, <name>.txt), for the closing note of a CI run.
const ReportEnv = "POINTAGE_FAULTS_REPORT"

// WriteReport writes line (and extra lines) to $POINTAGE_FAULTS_REPORT/<scenario>.txt
// when the variable is set; it does nothing otherwise.
func WriteReport(scenario string, lines ...string) error {
	dir := os.Getenv(ReportEnv)
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return os.WriteFile(filepath.Join(dir, scenario+".txt"), b, 0o644)
}
