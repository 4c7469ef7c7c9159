package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"pointage/internal/testenv"
)

type machine struct {
	nproc                        int
	cpu, mem, kernel, goVer      string
	mosquitto, influxd, telegraf string
}

func (m machine) oneLine() string {
	return fmt.Sprintf("%d cores (%s), %s, %s, %s, %s, %s", m.nproc, m.cpu, m.mem, m.kernel, m.goVer, m.mosquitto, m.influxd)
}

func machineInfo() machine {
	m := machine{nproc: runtime.NumCPU()}
	if out, err := exec.Command("nproc").Output(); err == nil {
		m.nproc, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.mem = fmt.Sprintf("%.1f GiB RAM", kb/1024/1024)
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.kernel = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.kernel = strings.Trim(v, `"`) + ", " + m.kernel
			}
		}
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.goVer = strings.TrimSpace(string(out))
	}
	if p, err := testenv.LookPath("mosquitto"); err == nil {
		out, _ := exec.Command(p, "-h").CombinedOutput()
		m.mosquitto = firstLine(string(out))
	} else {
		m.mosquitto = "mosquitto: not found"
	}
	if p, err := testenv.LookPath("influxd"); err == nil {
		m.influxd = fmt.Sprintf("InfluxDB %s (%s, built by scripts/ensure-deps.sh; its `version` says %q)", testenv.InfluxdVersion, p, versionOf(p, "version"))
	} else {
		m.influxd = "influxd: not found"
	}
	return m
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

func versionOf(bin string, args ...string) string {
	if bin == "" {
		return ""
	}
	out, _ := exec.Command(bin, args...).CombinedOutput()
	return firstLine(string(out))
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func buildBinary(t *tb, base, pkg string) string {
	out := filepath.Join(base, "bin", filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// ensureTelegraf returns Telegraf v1.30.3 from the cache, building it there when missing.
func ensureTelegraf(t *tb) string {
	bin := filepath.Join(testenv.CacheDir(), "bin")
	path := filepath.Join(bin, "telegraf")
	if st, err := os.Stat(path); err == nil && st.Mode()&0o111 != 0 {
		// go install leaves `telegraf --version` saying "unknown": read the module version.
		if out, err := exec.Command("go", "version", "-m", path).Output(); err == nil && strings.Contains(string(out), "v1.30.3") {
			return path
		}
	}
	logf("Telegraf v1.30.3 is not in %s: building it with go install (a few minutes, once)", bin)
	cmd := exec.Command("go", "install", "github.com/influxdata/telegraf/cmd/telegraf@v1.30.3")
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go install telegraf@v1.30.3: %v", err)
	}
	return path
}

type binSize struct {
	target string
	sizes  map[string]int64
}

// crossSizes runs `make build-cross` into a temporary folder and reads the sizes.
func crossSizes(t *tb) []binSize {
	dir := t.TempDir()
	cmd := exec.Command("make", "-s", "build-cross", "BIN="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-cross: %v\n%s", err, b)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []binSize
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		bs := binSize{target: e.Name(), sizes: map[string]int64{}}
		files, _ := os.ReadDir(filepath.Join(dir, e.Name()))
		for _, f := range files {
			if st, err := f.Info(); err == nil {
				bs.sizes[strings.TrimSuffix(f.Name(), ".exe")] = st.Size()
			}
		}
		out = append(out, bs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].target < out[j].target })
	return out
}

// benchLine is one benchmark's figures over its -count runs: unit -> values.
type benchSet struct {
	raw   string
	file  string
	order []string
	vals  map[string]map[string][]float64 // "pkg Benchmark" -> unit -> values
	took  time.Duration
}

// goBench runs go test with args, saves the output to docs/bench/<kind>-<date>.txt and
// parses it.
func goBench(t *tb, c config, kind string, args []string) benchSet {
	start := time.Now()
	cmd := exec.Command("go", append([]string{"test"}, args...)...)
	cmd.Env = append(os.Environ(), "POINTAGE_REQUIRE_SERVERS=1")
	out, err := cmd.CombinedOutput()
	suffix := ""
	if c.quick {
		suffix = "-quick"
	}
	file := filepath.Join(c.rawDir, fmt.Sprintf("%s-%s%s.txt", kind, time.Now().Format("2006-01-02-1504"), suffix))
	os.MkdirAll(c.rawDir, 0o755)
	header := fmt.Sprintf("# go test %s\n# %s\n# load before: see docs/BENCHMARKS.md\n", strings.Join(args, " "), time.Now().Format(time.RFC3339))
	if werr := os.WriteFile(file, append([]byte(header), out...), 0o644); werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatalf("go test %s: %v (output in %s)\n%s", strings.Join(args, " "), err, file, tail(string(out), 3000))
	}
	bs := parseBench(string(out))
	bs.file, bs.took = file, time.Since(start)
	return bs
}

func parseBench(out string) benchSet {
	bs := benchSet{raw: out, vals: map[string]map[string][]float64{}}
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "pointage/")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		key := pkg + " " + name
		if bs.vals[key] == nil {
			bs.vals[key] = map[string][]float64{}
			bs.order = append(bs.order, key)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			bs.vals[key][f[i+1]] = append(bs.vals[key][f[i+1]], v)
		}
	}
	return bs
}

// median of a benchmark's unit, ok=false when absent.
func (bs benchSet) median(key, unit string) (float64, bool) {
	v := bs.vals[key][unit]
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// profileIngest profiles the hub process (POINTAGE_CPUPROFILE) through one SQLite
// ingest side over mosquitto and keeps pprof's top functions: where the hub's CPU
// goes at full ingest rate.
func profileIngest(t *tb, c config, base, hubBin string, l *load) (file, top string) {
	dir := filepath.Join(base, "hub-profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	acks, _ := hubSide(t, hubBin, l, nil, dir)
	prof := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".prof")
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=60", hubBin, prof).CombinedOutput()
	if err != nil {
		t.Fatalf("pprof: %v\n%s", err, out)
	}
	flat, _ := exec.Command("go", "tool", "pprof", "-top", "-nodecount=30", hubBin, prof).CombinedOutput()
	suffix := ""
	if c.quick {
		suffix = "-quick"
	}
	file = filepath.Join(c.rawDir, fmt.Sprintf("ingest-profile-%s%s.txt", time.Now().Format("2006-01-02-1504"), suffix))
	body := fmt.Sprintf("# hub process (pointage-hub run --mqtt-url, SQLite) under POINTAGE_CPUPROFILE, %d check-ins at %.0f/s\n# pprof -top -cum\n",
		acks.N, acks.rate()) + string(out) + "\n# pprof -top (flat)\n" + string(flat)
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	// The summary: the profile's duration line, then the hub's own functions, the
	// MQTT client, SQLite's entry points and the collector, by cumulative time.
	var sum []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Duration:") || strings.Contains(l, "flat  flat%") ||
			strings.Contains(l, "pointage/") && !strings.Contains(l, ".func") ||
			strings.Contains(l, "paho") && (strings.Contains(l, "startIncoming.func1") || strings.Contains(l, "startOutgoingComms.func1") || strings.HasSuffix(l, "matchAndDispatch.func2.2")) ||
			strings.HasSuffix(l, "runtime.gcBgMarkWorker") || strings.HasSuffix(l, "runtime.mallocgc") {
			sum = append(sum, l)
		}
	}
	return file, strings.Join(sum, "\n")
}
