package api

import (
	"runtime/debug"
	"time"
)

// exportGC is the collector's target while an export is computed and written:
// the heap may grow by half of what is live instead of doubling (GOGC 100). A
// month's export cold holds ~140 MB live for a few seconds (two days counted at
// once and the month's rows) and the rest is garbage: at 50 the city month's
// export peaked lower, for a few more collections (docs/BENCHMARKS.md).
const exportGC = 50

// duringExport sets the collector's target for an export and returns what puts
// it back. A target already lower (GOGC in the environment), or the collector
// off, is left alone.
func duringExport() (restore func()) {
	prev := debug.SetGCPercent(exportGC)
	if prev >= 0 && prev < exportGC || prev < 0 {
		debug.SetGCPercent(prev)
		return func() {}
	}
	return func() { debug.SetGCPercent(prev) }
}

// releaseMemory gives the memory an export used back to the system once
// its response is written: the runtime would keep it for minutes (it
// collects when the heap has grown by GOGC percent, and returns idle memory
// slowly), and a month's export is a burst of a hundred megabytes and more
// above the hub's usual heap (docs/BENCHMARKS.md, city month). It waits a
// moment so that the handler has returned and its rows are garbage; one
// export runs at a time, so these do not pile up.
func releaseMemory() {
	time.Sleep(500 * time.Millisecond)
	debug.FreeOSMemory()
}
