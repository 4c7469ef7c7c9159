// Command bench is `make bench`: it runs pointage's benchmarks on this machine in one
// run and writes the generated part of docs/BENCHMARKS.md (between the bench:begin and
// bench:end markers), with the raw `go test -bench` outputs under docs/bench/.
//
// Every measurement runs against real servers (mosquitto, influxd, Telegraf) and the
// real binaries; a missing server is an error (exit status 1), never a skip.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pointage/internal/testenv"
)

var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%7.1fs  %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

type config struct {
	quick     bool
	out       string
	rawDir    string
	only      string
	devices   int
	perDevice int
	reps      int // runs of each ingest side
	// sqliteReps: runs of the cheap sides of the SQLite goal (raw, link,
	// store, hub -> SQLite: a few seconds each), more than reps, since
	// their ratio is the figure that moves most from run to run.
	sqliteReps int
	count      int
	command    string
	// hubProfileDir, when set, gets a CPU profile of the hub of every
	// ingest side (POINTAGE_BENCH_HUB_PROFILE=dir go run ./bench -only ingest).
	hubProfileDir string
}

func (c config) want(section string) bool {
	if c.only == "" {
		return true
	}
	for _, s := range strings.Split(c.only, ",") {
		if s == section {
			return true
		}
	}
	return false
}

func main() {
	testing.Init()
	var c config
	flag.BoolVar(&c.quick, "quick", false, "smaller counts, one repetition, no city-scale benchmarks (for development)")
	flag.StringVar(&c.out, "out", "docs/BENCHMARKS.md", "markdown file to update between <!-- bench:begin --> and <!-- bench:end -->")
	flag.StringVar(&c.rawDir, "raw", "docs/bench", "folder of the raw go test -bench outputs")
	flag.StringVar(&c.only, "only", "", "comma-separated sections to run (ingest,telegraf,latency,backlog,cross,hot,city,citymonth,agentproc,profile; citymonth-sqlite = its SQLite half; startyear; sqlite = only the raw and hub-sqlite sides of ingest); all when empty")
	flag.Parse()
	c.hubProfileDir = os.Getenv("POINTAGE_BENCH_HUB_PROFILE")
	c.devices, c.perDevice, c.reps, c.sqliteReps, c.count = 4, 25_000, 3, 5, 5
	if c.quick {
		c.perDevice, c.reps, c.sqliteReps, c.count = 5_000, 1, 1, 1
	}
	c.command = "make bench"
	if c.quick {
		c.command = "make bench-quick"
	}
	if err := run(c); err != nil {
		logf("FAILED: %v", err)
		os.Exit(1)
	}
	logf("done in %s", time.Since(started).Round(time.Second))
}

func run(c config) error {
	base, err := os.MkdirTemp("", "pointage-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	os.Setenv("POINTAGE_REQUIRE_SERVERS", "1") // testenv: a missing server fails
	r := &report{cfg: c, date: time.Now()}
	r.machine = machineInfo()
	logf("machine: %s", r.machine.oneLine())

	var errs []string
	do := func(name string, fn func(t *tb)) {
		load := loadAvg()
		logf("== %s (load %s)", name, load)
		t0 := time.Now()
		sl := stepLog{name: name, load: load}
		if err := step(name, base, fn); err != nil {
			logf("%v", err)
			errs = append(errs, err.Error())
			sl.err = "failed"
		}
		sl.took = time.Since(t0)
		r.steps = append(r.steps, sl)
	}
	var hubBin, agentBin, telegraf string
	do("build", func(t *tb) {
		hubBin = buildBinary(t, base, "./cmd/pointage-hub")
		agentBin = buildBinary(t, base, "./cmd/pointage-agent")
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	if c.want("telegraf") {
		do("telegraf-install", func(t *tb) { telegraf = ensureTelegraf(t) })
		if telegraf != "" {
			r.machine.telegraf = "Telegraf v1.30.3 (" + telegraf + ", go install; `--version` says \"" + versionOf(telegraf, "--version") + "\")"
		}
	}
	if c.want("ingest") || c.want("telegraf") || c.want("sqlite") {
		l := newLoad(c.devices, c.perDevice)
		for rep := 1; rep <= max(c.reps, c.sqliteReps); rep++ {
			if (c.want("ingest") || c.want("sqlite")) && rep <= c.sqliteReps {
				do(fmt.Sprintf("raw-%d", rep), func(t *tb) { r.add("raw", rawSide(t, l)) })
				do(fmt.Sprintf("link-%d", rep), func(t *tb) { r.add("link", linkSide(t, l)) })
				do(fmt.Sprintf("store-%d", rep), func(t *tb) { r.add("store", storeSide(t, l)) })
				do(fmt.Sprintf("hub-sqlite-%d", rep), func(t *tb) {
					a, _ := hubSide(t, hubBin, l, nil, c.hubProfileDir)
					r.add("hub-sqlite", a)
				})
			}
			if rep > c.reps {
				continue
			}
			if c.want("ingest") {
				do(fmt.Sprintf("influx-direct-5000-%d", rep), func(t *tb) { r.add("influx-5000", influxDirect(t, l, 5000)) })
				do(fmt.Sprintf("influx-direct-1000-%d", rep), func(t *tb) { r.add("influx-1000", influxDirect(t, l, 1000)) })
			}
			if !c.want("ingest") && !c.want("telegraf") {
				continue
			}
			do(fmt.Sprintf("hub-influx-%d", rep), func(t *tb) {
				a, cnt := hubSide(t, hubBin, l, testenv.Influxd(t), c.hubProfileDir)
				r.add("hub-influx-acks", a)
				r.add("hub-influx-count", cnt)
			})
			if c.want("telegraf") && telegraf != "" {
				do(fmt.Sprintf("telegraf-%d", rep), func(t *tb) { r.add("telegraf", telegrafSide(t, telegraf, l)) })
			}
		}
	}
	if c.want("latency") {
		phases := [][2]int{{10, 300}, {100, 2000}}
		idle := 10 * time.Second
		if c.quick {
			phases, idle = [][2]int{{10, 50}, {100, 300}}, 3*time.Second
		}
		do("latency", func(t *tb) { r.latency, r.footprint = latencyRun(t, agentBin, hubBin, phases, idle) })
	}
	if c.want("backlog") {
		do("backlog", func(t *tb) { r.backlog = backlogRun(t, agentBin, hubBin, 10_000) })
	}
	if c.want("cross") {
		do("build-cross", func(t *tb) { r.sizes = crossSizes(t) })
	}
	if c.want("hot") {
		do("go-bench-hot", func(t *tb) { r.hot = goBench(t, c, "hot", hotArgs(c)) })
	}
	if c.want("agentproc") {
		do("go-bench-agent", func(t *tb) {
			r.agentProc = goBench(t, c, "agent", []string{"-run", "^$", "-bench", "BenchmarkAgentProcess", "-benchtime", "1x", "-count", "1", "./agent"})
		})
	}
	if c.want("city") && !c.quick {
		do("go-bench-city", func(t *tb) {
			r.city = goBench(t, c, "city", []string{"-run", "^$", "-bench", "BenchmarkCountsDay|BenchmarkStartup|BenchmarkExportMonth|BenchmarkBackupCityMonth",
				"-benchtime", "1x", "-count", "1", "-timeout", "30m", "./hub/days"})
		})
	}
	if (c.want("citymonth") || c.want("citymonth-sqlite")) && !c.quick {
		do("city-month-sqlite", func(t *tb) { r.cityMonth = append(r.cityMonth, cityMonthRun(t, hubBin, nil)) })
	}
	if c.want("citymonth") && !c.quick {
		do("city-month-influx", func(t *tb) { r.cityMonth = append(r.cityMonth, cityMonthRun(t, hubBin, testenv.Influxd(t))) })
	}
	if c.want("startyear") && !c.quick {
		do("start-year-sqlite", func(t *tb) { r.startYear = append(r.startYear, startYearRun(t, hubBin, nil)) })
		do("start-year-influx", func(t *tb) { r.startYear = append(r.startYear, startYearRun(t, hubBin, testenv.Influxd(t))) })
	}
	if c.want("profile") {
		do("profile-ingest", func(t *tb) {
			r.profFile, r.profTop = profileIngest(t, c, base, hubBin, newLoad(c.devices, c.perDevice))
		})
	}
	r.loadEnd = loadAvg()
	r.elapsed = time.Since(started)
	r.errors = errs
	if err := r.write(c.out); err != nil {
		return err
	}
	logf("wrote %s", c.out)
	if len(errs) > 0 {
		return fmt.Errorf("%d step(s) failed: %s", len(errs), strings.Join(errs, "; "))
	}
	return nil
}

// hotArgs: the hot paths, in a form benchstat reads (-count).
func hotArgs(c config) []string {
	return []string{"-run", "^$", "-bench", ".", "-benchmem", "-count", fmt.Sprint(c.count), "-timeout", "30m",
		"./bench/hotpath", "./hub/counts", "./agent/outbox", "./hub/store/sqlitestore", "./hub/ingest", "./internal/link"}
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
