package agent_test

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"pointage/agent"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// rssKiB reads a process's resident set size from /proc.
func rssKiB(b testing.TB, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkAgentProcess runs the real agent binary with two pty readers
// against a real mosquitto and reports its RSS idle and at 10 scans/s, and
// the latency from a frame written to the reader to the check-in arriving
// at a subscriber (an upper bound of scan-to-PUBACK: it includes the
// broker's forwarding). One iteration is one 10 s run.
func BenchmarkAgentProcess(b *testing.B) {
	for i := 0; i < b.N; i++ {
		idle, busy, p50, p99 := agentProcessRun(b, 100)
		b.ReportMetric(idle, "rss_idle_KiB")
		b.ReportMetric(busy, "rss_10hz_KiB")
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	}
}

func agentProcessRun(b *testing.B, scans int) (idle, busy float64, p50, p99 time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	broker := testenv.Mosquitto(b)
	col := newCollector(b, broker.URL())
	canteen, garderie := newPTY(b), newPTY(b)
	cfg := testConfig(b, broker.URL(),
		agent.ReaderConfig{Name: "entree", Port: canteen.Path(), Profile: "rdm6300", Service: wire.ServiceCanteen},
		agent.ReaderConfig{Name: "porte-garderie", Port: garderie.Path(), Profile: "line-hex", Service: wire.ServiceGarderie})
	cfgPath := writeAgentConfig(b, cfg, map[string]any{"log": map[string]any{"level": "warn"}})
	proc := startProcess(b, "run", "--config", cfgPath)
	waitFor(b, 15*time.Second, "agent online", func() bool {
		st, ok := col.lastStatus()
		return ok && len(st.Readers) == 2 && st.Readers[0].Connected && st.Readers[1].Connected
	})
	time.Sleep(3 * time.Second)
	idle = rssKiB(b, proc.Process.Pid)

	sent := make([]time.Time, scans+1)
	tick := time.NewTicker(100 * time.Millisecond)
	for i := 1; i <= scans; i++ {
		<-tick.C
		sent[i] = time.Now()
		if i%2 == 0 {
			canteen.Write(encode(b, "rdm6300", fmt.Sprintf("0A%08X", i)))
		} else {
			garderie.Write(encode(b, "line-hex", fmt.Sprintf("%08X", i)))
		}
	}
	tick.Stop()
	waitFor(b, 15*time.Second, "every scan delivered", func() bool { return len(col.unique()) == scans })
	busy = rssKiB(b, proc.Process.Pid)
	col.mu.Lock()
	lat := make([]time.Duration, 0, scans)
	for seq := 1; seq <= scans; seq++ {
		lat = append(lat, col.received[uint64(seq)].Sub(sent[seq]))
	}
	col.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return idle, busy, lat[len(lat)/2], lat[len(lat)*99/100]
}
