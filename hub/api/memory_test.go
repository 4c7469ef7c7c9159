package api

import (
	"runtime/debug"
	"testing"
)

// An export lowers the collector's target and puts it back; a lower target set
// by the operator (GOGC) stays as it is.
func TestDuringExportSetsAndRestoresTheCollector(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	restore := duringExport()
	if got := debug.SetGCPercent(exportGC); got != exportGC {
		t.Errorf("during an export GOGC is %d, want %d", got, exportGC)
	}
	restore()
	if got := debug.SetGCPercent(20); got != 100 {
		t.Errorf("after the export GOGC is %d, want 100 back", got)
	}
	restore = duringExport()
	if got := debug.SetGCPercent(20); got != 20 {
		t.Errorf("an operator's GOGC 20 became %d during an export", got)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 20 {
		t.Errorf("an operator's GOGC 20 became %d after an export", got)
	}
}
