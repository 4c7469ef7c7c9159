package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pointage/internal/testenv"
)

// The backup and restore commands against a real hub process: a backup
// while it runs; restore, and a second hub, refused on its folder while
// it runs; a damaged file refused and nothing written; a sound one
// restored into an empty folder that a hub then runs on.
func TestBackupAndRestoreCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	bin := hubBinary(t)
	data := t.TempDir()
	add := exec.Command(bin, "devices", "add", "--data-dir", data, "jules-ferry", "jf-cantine-1", "--password-stdin")
	add.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("devices add: %v\n%s", err, out)
	}
	run := func(dir string) (*exec.Cmd, string) {
		httpPort := testenv.FreePort(t)
		args := []string{"run", "--data-dir", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort), "--mqtt-listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}
		return startHubProcess(t, args...), fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	}
	hub, url := run(data)
	waitFor(t, 10*time.Second, "hub answering", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	command := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	file := filepath.Join(t.TempDir(), "backups", "pointage-backup.tar.gz")
	out, err := command("backup", "--data-dir", data, "--out", file)
	if err != nil || !strings.Contains(out, "backup written: "+file) || !strings.Contains(out, "2 databases") {
		t.Fatalf("backup while the hub runs: %v\n%s", err, out)
	}

	out, err = command("restore", "--data-dir", data, "--force", file)
	if err == nil || !strings.Contains(out, "a hub is running on this data folder") || !strings.Contains(out, "stop it first") {
		t.Fatalf("restore under a running hub: %v\n%s", err, out)
	}
	second := exec.Command(bin, "run", "--data-dir", data, "--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0")
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "a hub is running on this data folder") {
		t.Fatalf("a second hub on the same folder: %v\n%s", err, out)
	}

	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "damaged.tar.gz")
	if err := os.WriteFile(damaged, raw[:len(raw)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	out, err = command("restore", "--data-dir", fresh, damaged)
	if err == nil || !strings.Contains(out, "is not a usable pointage backup") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("restore of a truncated backup: %v\n%s", err, out)
	}
	if dbs, _ := filepath.Glob(filepath.Join(fresh, "*.db")); len(dbs) > 0 {
		t.Fatalf("a refused restore wrote %v", dbs)
	}

	out, err = command("restore", "--data-dir", fresh, file)
	if err != nil || !strings.Contains(out, "restored "+file) || !strings.Contains(out, "2 databases") {
		t.Fatalf("restore into an empty folder: %v\n%s", err, out)
	}
	out, err = command("devices", "list", "--data-dir", fresh)
	if err != nil || !strings.Contains(out, "jf-cantine-1") {
		t.Fatalf("the restored hub.db lacks the device registered before the backup: %v\n%s", err, out)
	}
	hub.Process.Kill()
	hub.Wait()
	_, url = run(fresh)
	waitFor(t, 10*time.Second, "the hub on the restored folder answering", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
}
