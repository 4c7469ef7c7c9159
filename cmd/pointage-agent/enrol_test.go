package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pointage/internal/scansim"
	"pointage/internal/testenv"
)

// Enrolment end to end with real processes (docs/DESIGN.md §14): a device
// registered on the hub, its reader list set on the hub; a wrong code
// writes nothing; the right one writes the configuration and the password
// file (0600); the same code again is refused and writes nothing; the
// agent started on the written file reports the hub's reader list as
// applied and its first scan is stored.
func TestEnrolEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	hubBin := testenv.BuildBinary(t, "pointage/cmd/pointage-hub")
	agentBin := testenv.BuildBinary(t, "pointage/cmd/pointage-agent")
	data := t.TempDir()
	out, err := exec.Command(hubBin, "devices", "add", "--data-dir", data, "jules-ferry", "jf-cantine-1").CombinedOutput()
	if err != nil {
		t.Fatalf("devices add: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`enrolment code: ([A-Z0-9-]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no enrolment code in %s", out)
	}
	code := string(m[1])
	httpPort, mqttPort := testenv.FreePort(t), testenv.FreePort(t)
	testenv.StartProcess(t, hubBin, "run", "--data-dir", data, "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--mqtt-listen", fmt.Sprintf("127.0.0.1:%d", mqttPort))
	hub := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	testenv.WaitFor(t, 10*time.Second, "hub answering", func() bool {
		resp, err := http.Get(hub + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	// The office sets the device's reader (no user yet: loopback answers).
	pty, err := scansim.NewPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer pty.Close()
	body := fmt.Sprintf(`{"readers":[{"name":"entree","port":%q,"profile":"rdm6300","service":"canteen","debounce":"1s"}]}`, pty.Path())
	req, _ := http.NewRequest("PUT", hub+"/api/v1/devices/jf-cantine-1/config", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var set struct{ Version int64 }
	if resp.StatusCode != 200 || json.Unmarshal(b, &set) != nil || set.Version == 0 {
		t.Fatalf("PUT config: %d %s", resp.StatusCode, b)
	}

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "etc", "agent.yaml")
	enrol := func(code, path string) (string, error) {
		out, err := exec.Command(agentBin, "enrol", "--hub", hub, "--code", code, "--config", path, "--data-dir", filepath.Join(dir, "data")).CombinedOutput()
		return string(out), err
	}
	if out, err := enrol("ZZZZ-ZZZZ-ZZZZ", cfgPath); err == nil || !strings.Contains(out, "unknown enrolment code") || !strings.Contains(out, "nothing was written") {
		t.Fatalf("a wrong code: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Dir(cfgPath)); !os.IsNotExist(err) {
		t.Fatal("a refused enrolment wrote something")
	}
	out2, err := enrol(strings.ToLower(code), cfgPath) // typed in lower case: still the code
	if err != nil || !strings.Contains(out2, "enrolled: device jf-cantine-1 of site jules-ferry") {
		t.Fatalf("enrol: %v\n%s", err, out2)
	}
	for _, f := range []string{cfgPath, filepath.Join(filepath.Dir(cfgPath), "agent.password")} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
	written, _ := os.ReadFile(cfgPath)
	for _, want := range []string{"site: jules-ferry", "device: jf-cantine-1", fmt.Sprintf("url: tcp://127.0.0.1:%d", mqttPort), "name: entree", "profile: rdm6300"} {
		if !strings.Contains(string(written), want) {
			t.Fatalf("the written configuration lacks %q:\n%s", want, written)
		}
	}
	if strings.Contains(string(written), "password:") && !strings.Contains(string(written), "password_file:") {
		t.Fatal("the password is in the configuration file")
	}
	other := filepath.Join(dir, "other", "agent.yaml")
	if out, err := enrol(code, other); err == nil || !strings.Contains(out, "already used") {
		t.Fatalf("the code used twice: %v\n%s", err, out)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatal("the second use wrote a configuration")
	}
	if out, err := enrol(code, cfgPath); err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("enrol over an existing configuration without --force: %v\n%s", err, out)
	}

	// The agent on the written file.
	testenv.StartProcess(t, agentBin, "run", "--config", cfgPath)
	type device struct {
		Device        string `json:"device"`
		State         string `json:"state"`
		StoredThrough uint64 `json:"stored_through"`
		ConfigVersion int64  `json:"config_version"`
	}
	deviceView := func() device {
		resp, err := http.Get(hub + "/api/v1/devices")
		if err != nil {
			return device{}
		}
		defer resp.Body.Close()
		var v struct{ Devices []device }
		json.NewDecoder(resp.Body).Decode(&v)
		for _, d := range v.Devices {
			if d.Device == "jf-cantine-1" {
				return d
			}
		}
		return device{}
	}
	testenv.WaitFor(t, 20*time.Second, "the agent online with the hub's reader list applied", func() bool {
		d := deviceView()
		return d.State == "online" && d.ConfigVersion == set.Version
	})
	frame, _ := scansim.Encode("rdm6300", "13005D1DA5")
	pty.Write(frame)
	testenv.WaitFor(t, 10*time.Second, "the enrolled device's first scan stored", func() bool { return deviceView().StoredThrough == 1 })
}
