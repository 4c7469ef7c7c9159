package faults

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pointage/internal/testenv"
)

// Recovery from the agents (docs/DESIGN.md §13): a hub whose server is lost
// and whose data folder is put back from a backup (or a plain copy) gets
// back, from the agents' outboxes, every check-in acknowledged after the
// copy; each is counted once and the agent's outbox ends with nothing
// pending. So does a hub whose hub.db alone was lost (the store kept): the
// agent sends everything again and the store keeps one copy of each.

// recoveryEvents is how many check-ins the agent holds that the restored
// hub lacks: POINTAGE_RECOVERY_EVENTS, for the closing note's figures
// (1,000 and 20,000), or the default of the run.
func recoveryEvents() int {
	if n, err := strconv.Atoi(os.Getenv("POINTAGE_RECOVERY_EVENTS")); err == nil && n > 0 {
		return n
	}
	return pick(60, 300)
}

func TestRestoredHubRecoversFromAgents(t *testing.T) {
	integration(t)
	for _, tc := range []struct {
		name, site, device string
		feeder             int
		influx             bool
		// plain: the data folder is copied while the hub is stopped and
		// copied back, instead of `backup` while it runs and `restore`.
		plain bool
		// lostHubDB: no copy at all; hub.db is lost, the store kept, and
		// the office registers the device and imports the roster again.
		lostHubDB bool
	}{
		{name: "backup command", site: "ecole-rest", device: "rest-cantine-1", feeder: 0x21},
		{name: "plain copy", site: "ecole-copie", device: "copie-cantine-1", feeder: 0x22, plain: true},
		{name: "influxdb store keeps later points", site: "ecole-influx", device: "influx-cantine-1", feeder: 0x23, plain: true, influx: true},
		{name: "hub.db lost", site: "ecole-perdu", device: "perdu-cantine-1", feeder: 0x24, lostHubDB: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o hubOptions
			if tc.influx {
				o.influx = testenv.Influxd(t)
			}
			h := newHub(t, o)
			a := newAgent(t, tc.site, tc.device, h.mqtt)
			f := newFeeder(t, a.pty, tc.feeder)
			before, after := 40, recoveryEvents()
			h.addDevice(tc.site, tc.device)
			h.importRoster(tc.site, f.badges(before+after))
			h.start()
			a.start()
			f.stream(before, scanEvery, 2*time.Second, nil, nil)
			a.waitAcked(60 * time.Second)

			saved := filepath.Join(t.TempDir(), "saved")
			backupFile := filepath.Join(t.TempDir(), "pointage-backup.tar.gz")
			switch {
			case tc.lostHubDB:
			case tc.plain:
				h.stop() // a plain copy is only consistent while the hub is stopped
				copyDir(t, h.data, saved)
				h.start()
			default:
				out := h.output("backup", "--data-dir", h.data, "--out", backupFile)
				t.Logf("backup while the hub runs: %s", strings.TrimSpace(out))
			}

			// More check-ins, acknowledged: the hub's copy does not have them.
			f.stream(after, scanEvery, 2*time.Second, nil, nil)
			a.waitAcked(120 * time.Second)
			_, evs := a.events()
			if len(evs) != before+after {
				t.Fatalf("the agent holds %d events, want %d", len(evs), before+after)
			}

			// The server is lost: the hub killed, its folder deleted, the copy put back.
			h.kill()
			switch {
			case tc.lostHubDB:
				for _, f := range []string{"hub.db", "hub.db-wal", "hub.db-shm"} {
					if err := os.Remove(filepath.Join(h.data, f)); err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
				}
				h.addDevice(tc.site, tc.device)
				h.importRoster(tc.site, f.badges(before+after))
			case tc.plain:
				if err := os.RemoveAll(h.data); err != nil {
					t.Fatal(err)
				}
				copyDir(t, saved, h.data)
			default:
				if err := os.RemoveAll(h.data); err != nil {
					t.Fatal(err)
				}
				out := h.output("restore", "--data-dir", h.data, backupFile)
				t.Logf("restore: %s", strings.TrimSpace(out))
			}
			start := time.Now()
			h.start()
			testenv.WaitFor(t, 120*time.Second, "the restored hub to get back every check-in", func() bool {
				d := h.device(a.device)
				return d.StoredThrough == uint64(len(evs)) && !d.Recovering
			})
			asked := after
			if tc.lostHubDB {
				asked = before + after // the hub knows nothing of the epoch
			}
			t.Logf("recovery of %d check-ins held by the agent: %s from the restored hub's start to the last one stored",
				asked, time.Since(start).Round(10*time.Millisecond))
			verify(t, "restore-"+strings.ReplaceAll(tc.name, " ", "-"), h, a, f, checkOptions{wantAccepted: true})
		})
	}
}

// output runs a pointage-hub command and returns its output; it fails the
// test when the command fails.
func (h *hubProc) output(args ...string) string {
	h.t.Helper()
	out, err := exec.Command(h.bin, args...).CombinedOutput()
	if err != nil {
		h.t.Fatalf("pointage-hub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// copyDir copies the regular files of src (a data folder: no sub-folders
// needed) into dst, created.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o750); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
