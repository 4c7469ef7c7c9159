package api

import (
	"runtime/debug"
	"time"
)

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
