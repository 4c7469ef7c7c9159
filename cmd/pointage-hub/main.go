// Command pointage-hub is pointage's central part: broker, ingest, storage,
// counts, dashboard and exports.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	_ "time/tzdata" // Pacific/Noumea resolves on any machine
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if os.Getenv("GOGC") == "" {
		// The hub's live heap is small (tens of MB: today's events, the
		// roster), and the ingest allocates per message: at the default
		// 100 the collector ran so often it took a quarter of the CPU at
		// full ingest rate. Heap peaks stay near five times the live heap.
		debug.SetGCPercent(400)
	}
	stopProfile := startCPUProfile(os.Getenv("POINTAGE_CPUPROFILE"))
	err := newRootCmd().ExecuteContext(ctx)
	stopProfile()
	stop()
	if err != nil {
		os.Exit(1)
	}
}

// startCPUProfile writes a CPU profile of the whole run to path when it is
// set (POINTAGE_CPUPROFILE, for `make bench` and for whoever profiles a
// hub: `go tool pprof pointage-hub FILE`); the profile is complete once the
// hub has stopped on SIGINT or SIGTERM.
func startCPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "POINTAGE_CPUPROFILE: %v (running without a profile)\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
