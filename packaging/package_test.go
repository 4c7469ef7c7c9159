//go:build linux

package main

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"pointage/internal/testenv"
)

// TestPackages builds what `make package` builds for amd64 and armhf (the agent for both,
// the hub for amd64: arm64 differs only by GOARCH), checks each .deb with dpkg-deb, and,
// as root, installs, upgrades, removes and purges the amd64 agent package with dpkg.
func TestPackages(t *testing.T) {
	testenv.Require(t, "dpkg-deb")
	dir := t.TempDir()
	if err := run([]string{"-version", "v1.2.3", "-out", dir, "-arch", "amd64,armhf"}); err != nil {
		t.Fatal(err)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	want := []string{"pointage-agent_1.2.3_amd64.deb", "pointage-agent_1.2.3_armhf.deb", "pointage-hub_1.2.3_amd64.deb"}
	var got []string
	for _, d := range debs {
		got = append(got, filepath.Base(d))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("packages built: %v, want %v", got, want)
	}

	cases := []struct {
		file, name, arch string
		machine          elf.Machine
		unit, conffile   string
	}{
		{want[0], "pointage-agent", "amd64", elf.EM_X86_64, "pointage-agent.service", "/etc/pointage/agent.yaml"},
		{want[1], "pointage-agent", "armhf", elf.EM_ARM, "pointage-agent.service", "/etc/pointage/agent.yaml"},
		{want[2], "pointage-hub", "amd64", elf.EM_X86_64, "pointage-hub.service", "/etc/pointage/hub.yaml"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			deb := filepath.Join(dir, c.file)
			for field, want := range map[string]string{"Package": c.name, "Version": "1.2.3", "Architecture": c.arch} {
				if got := dpkgDeb(t, "-f", deb, field); got != want {
					t.Errorf("%s: %s = %q, want %q", c.file, field, got, want)
				}
			}
			listing := dpkgDeb(t, "-c", deb)
			for _, path := range []string{"./usr/bin/" + c.name, "./lib/systemd/system/" + c.unit, "." + c.conffile} {
				if !strings.Contains(listing, " "+path+"\n") && !strings.HasSuffix(listing, " "+path) {
					t.Errorf("%s does not hold %s:\n%s", c.file, path, listing)
				}
			}
			if got := dpkgDeb(t, "-I", deb, "conffiles"); got != c.conffile {
				t.Errorf("%s: conffiles = %q, want %q (kept across upgrades)", c.file, got, c.conffile)
			}
			for _, script := range []string{"postinst", "prerm", "postrm"} {
				if body := dpkgDeb(t, "-I", deb, script); !strings.HasPrefix(body, "#!/bin/sh") {
					t.Errorf("%s: %s is not a shell script: %.80q", c.file, script, body)
				}
			}
			tree := t.TempDir()
			dpkgDeb(t, "-x", deb, tree)
			f, err := elf.Open(filepath.Join(tree, "usr/bin", c.name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != c.machine {
				t.Errorf("%s: /usr/bin/%s is built for %v, want %v", c.file, c.name, f.Machine, c.machine)
			}
			unit, err := os.ReadFile(filepath.Join(tree, "lib/systemd/system", c.unit))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range []string{"User=pointage", "ExecStart=/usr/bin/" + c.name + " run --config " + c.conffile, "Restart=always", "WantedBy=multi-user.target"} {
				if !strings.Contains(string(unit), "\n"+line+"\n") {
					t.Errorf("%s: the unit has no line %q", c.file, line)
				}
			}
		})
	}

	t.Run("dpkg install, upgrade, remove, purge", func(t *testing.T) {
		testenv.Require(t, "dpkg")
		if os.Geteuid() != 0 {
			if testenv.Required() {
				t.Fatal("installing the agent package with dpkg needs root (CI runs as root)")
			}
			t.Skip("not root: skipping the dpkg install of the agent package (under CI this fails)")
		}
		// The test must leave the machine as it found it: refuse to touch one that
		// already has the package or the user.
		if status := dpkgStatus("pointage-agent"); status != "" && status != "not-installed" {
			t.Fatalf("pointage-agent is already known to dpkg here (%s): remove it with dpkg -P pointage-agent to run this test", status)
		}
		if _, err := user.Lookup("pointage"); err == nil {
			t.Fatal("a user pointage already exists on this machine: the test would remove it on purge; run it on a machine without one")
		}
		if exists("/var/lib/pointage-agent") {
			t.Fatal("/var/lib/pointage-agent already exists on this machine (left by an earlier run?): the test checks what the package makes of it; remove it to run this test")
		}
		hadEtc := exists("/etc/pointage")
		t.Cleanup(func() {
			if s := dpkgStatus("pointage-agent"); s != "" && s != "not-installed" {
				exec.Command("dpkg", "-P", "pointage-agent").Run()
			}
		})

		dpkg(t, "-i", filepath.Join(dir, want[0]))
		if s := dpkgStatus("pointage-agent"); s != "installed" {
			t.Fatalf("after dpkg -i: status %q", s)
		}
		u, err := user.Lookup("pointage")
		if err != nil {
			t.Fatalf("postinst created no user pointage: %v", err)
		}
		if g, err := user.LookupGroup("dialout"); err == nil {
			ids, _ := u.GroupIds()
			if !slices.Contains(ids, g.Gid) {
				t.Errorf("user pointage is not in dialout (serial readers): groups %v", ids)
			}
		}
		wantOwner(t, "/var/lib/pointage-agent", u.Uid, u.Gid, 0o750|os.ModeDir)
		wantOwner(t, "/etc/pointage/agent.yaml", "0", u.Gid, 0o640)
		if out := command(t, "/usr/bin/pointage-agent", "--version"); !strings.Contains(out, "v1.2.3") {
			t.Errorf("pointage-agent --version = %q, want v1.2.3", out)
		}
		if !exists("/lib/systemd/system/pointage-agent.service") {
			t.Error("no unit in /lib/systemd/system")
		}

		// An upgrade keeps the configuration the installer wrote and the outbox.
		const conf = "site: jules-ferry\ndevice: jf-cantine-1\n"
		if err := os.WriteFile("/etc/pointage/agent.yaml", []byte(conf), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("/var/lib/pointage-agent/outbox.db", []byte("scans"), 0o600); err != nil {
			t.Fatal(err)
		}
		// What pointage-agent enrol writes beside it, which purge removes too.
		enrolled := []string{"/etc/pointage/agent.password", "/etc/pointage/ca.crt", "/etc/pointage/agent.yaml.bak"}
		for _, p := range enrolled {
			if err := os.WriteFile(p, []byte("enrolled"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		dir2 := t.TempDir()
		if err := run([]string{"-version", "v1.2.4", "-out", dir2, "-arch", "amd64", "-only", "agent"}); err != nil {
			t.Fatal(err)
		}
		dpkg(t, "-i", filepath.Join(dir2, "pointage-agent_1.2.4_amd64.deb"))
		if v := command(t, "dpkg-query", "-W", "-f=${Version}", "pointage-agent"); v != "1.2.4" {
			t.Errorf("after the upgrade: version %q, want 1.2.4", v)
		}
		if out := command(t, "/usr/bin/pointage-agent", "--version"); !strings.Contains(out, "v1.2.4") {
			t.Errorf("after the upgrade: pointage-agent --version = %q", out)
		}
		wantFile(t, "/etc/pointage/agent.yaml", conf)
		wantFile(t, "/var/lib/pointage-agent/outbox.db", "scans")

		// Removal leaves the data, the configuration and the user.
		dpkg(t, "-r", "pointage-agent")
		if exists("/usr/bin/pointage-agent") {
			t.Error("dpkg -r left /usr/bin/pointage-agent")
		}
		if s := dpkgStatus("pointage-agent"); s != "config-files" {
			t.Errorf("after dpkg -r: status %q, want config-files", s)
		}
		wantFile(t, "/etc/pointage/agent.yaml", conf)
		wantFile(t, "/var/lib/pointage-agent/outbox.db", "scans")
		wantFile(t, "/etc/pointage/agent.password", "enrolled")
		if _, err := user.Lookup("pointage"); err != nil {
			t.Errorf("dpkg -r removed the user pointage: %v", err)
		}

		// Purge removes them.
		dpkg(t, "-P", "pointage-agent")
		for _, p := range append([]string{"/var/lib/pointage-agent", "/etc/pointage/agent.yaml"}, enrolled...) {
			if exists(p) {
				t.Errorf("dpkg -P left %s", p)
			}
		}
		if !hadEtc && exists("/etc/pointage") {
			t.Error("dpkg -P left /etc/pointage, which the package created")
		}
		if _, err := user.Lookup("pointage"); err == nil {
			t.Error("dpkg -P left the user pointage")
		}
		if _, err := user.LookupGroup("pointage"); err == nil {
			t.Error("dpkg -P left the group pointage")
		}
	})
}

func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	return command(t, "dpkg-deb", args...)
}

func dpkg(t *testing.T, args ...string) {
	t.Helper()
	command(t, "dpkg", args...)
}

// command runs name with args (stdin is /dev/null: a question from dpkg fails the
// test) and returns its trimmed output.
func command(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// dpkgStatus is dpkg's status of pkg ("installed", "config-files", …), "" when unknown.
func dpkgStatus(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}

func wantOwner(t *testing.T, path, uid, gid string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if got := st.Mode() & (os.ModeDir | os.ModePerm); got != mode {
		t.Errorf("%s: mode %v, want %v", path, got, mode)
	}
	if u, g := strconv.FormatUint(uint64(sys.Uid), 10), strconv.FormatUint(uint64(sys.Gid), 10); u != uid || g != gid {
		t.Errorf("%s: owner %s:%s, want %s:%s", path, u, g, uid, gid)
	}
}

func wantFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if string(b) != want {
		t.Errorf("%s = %q, want %q", path, b, want)
	}
}
