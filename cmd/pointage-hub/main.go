// Command pointage-hub is pointage's central part: broker, ingest, storage,
// counts, dashboard and exports.
package main

import (
	"context"
	"fmt"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	_ "time/tzdata" // Pacific/Noumea resolves on any machine
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The collector runs at Go's default (GOGC=100: the heap may grow to
	// twice what is live before a collection). The hub once ran at 400 for
	// the ingest's sake, when a goroutine per waiting message made its live
	// heap large; with messages held back in the broker instead (link's
	// Inline), 400 bought nothing at full ingest rate and doubled the peaks
	// of a month's counts and export (city month: 409 against 201 MiB, 746
	// against 335 MiB; docs/BENCHMARKS.md). A small server sets
	// --memory-limit as well; GOGC and GOMEMLIMIT in the environment still
	// apply.
	stopProfile := startCPUProfile(os.Getenv("POINTAGE_CPUPROFILE"))
	servePprof(os.Getenv("POINTAGE_PPROF"))
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

// servePprof serves Go's profiles (/debug/pprof/: heap, goroutines, CPU) on
// addr when it is set (POINTAGE_PPROF=127.0.0.1:6060, for `make bench` and
// for whoever looks into a hub's memory: `go tool pprof
// http://127.0.0.1:6060/debug/pprof/heap`). It is a listener of its own,
// never the dashboard's: the profiles show what the hub holds.
func servePprof(addr string) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			fmt.Fprintf(os.Stderr, "POINTAGE_PPROF: %v (running without profiles)\n", err)
		}
	}()
}
