// Command packaging builds the Debian packages of `make package` (docs/DESIGN.md §14):
// dist/pointage-agent_VERSION_ARCH.deb for amd64, arm64 and armhf and
// dist/pointage-hub_VERSION_ARCH.deb for amd64 and arm64.
//
//	go run ./packaging -version "$(git describe --tags --always --dirty)" -out dist [-arch amd64,armhf] [-only agent|hub]
//
// It cross-builds the binaries itself (CGO_ENABLED=0, -trimpath, -X main.version=V) from
// the module in the current folder, then writes each package with nfpm's deb packager
// (github.com/goreleaser/nfpm/v2). The units, configuration files and maintainer scripts
// are in packaging/files (embedded). V may be anything git describe prints; the package
// version is its Debian form (see DebianVersion).
package main

import (
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the "deb" packager
	"github.com/goreleaser/nfpm/v2/files"
)

//go:embed files
var assets embed.FS

// arch is one Debian architecture and how Go builds for it.
type arch struct {
	deb    string // Debian's name: amd64, arm64, armhf
	goarch string
	goarm  string
}

// Raspberry Pi OS's armhf is ARMv7 here (Pi 2 and newer with a 32-bit OS); a Pi
// Zero/1 (ARMv6) takes the linux-armv6 binary of `make build-cross`.
var arches = []arch{
	{deb: "amd64", goarch: "amd64"},
	{deb: "arm64", goarch: "arm64"},
	{deb: "armhf", goarch: "arm", goarm: "7"},
}

// pkgSpec describes one of the two packages.
type pkgSpec struct {
	Name        string   // package and binary name
	Other       string   // the other pointage package (sharing the user)
	Agent       bool     // the agent's rules (dialout, start once configured)
	Unit        string   // systemd unit file name
	Conffile    string   // the configuration file, a conffile
	DataDir     string   // owned by the user, 0750
	PurgeFiles  []string // removed from /etc/pointage on purge
	Arches      []string // Debian architectures built
	Description string
}

var specs = []pkgSpec{
	{
		Name: "pointage-agent", Other: "pointage-hub", Agent: true,
		Unit: "pointage-agent.service", Conffile: "/etc/pointage/agent.yaml",
		DataDir: "/var/lib/pointage-agent", PurgeFiles: []string{"/etc/pointage/agent.yaml", "/etc/pointage/agent.password", "/etc/pointage/ca.crt"}, // what enrol writes
		Arches: []string{"amd64", "arm64", "armhf"},
		Description: "pointage badge-reader agent\n" +
			" Reads badges from serial readers, keeps every scan in a durable outbox and\n" +
			" publishes check-ins to the pointage hub over MQTT. Configure it in\n" +
			" /etc/pointage/agent.yaml; the service starts once that file is filled in.",
	},
	{
		Name: "pointage-hub", Other: "pointage-agent",
		Unit: "pointage-hub.service", Conffile: "/etc/pointage/hub.yaml",
		DataDir:    "/var/lib/pointage-hub",
		PurgeFiles: []string{"/etc/pointage/hub.yaml", "/etc/pointage/hub.env"},
		Arches:     []string{"amd64", "arm64"},
		Description: "pointage hub: MQTT broker, check-in ingest and dashboard\n" +
			" The hub of the pointage attendance system: receives the agents' check-ins,\n" +
			" stores them, counts the schools' canteen and garderie days and serves the\n" +
			" French dashboard and API. Configure it in /etc/pointage/hub.yaml.",
	},
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("packaging", flag.ContinueOnError)
	version := fs.String("version", "", "version (git describe output, like v1.2.3-4-gabc1234; required)")
	out := fs.String("out", "dist", "output folder")
	archList := fs.String("arch", "", "comma-separated Debian architectures (default: every one of each package: amd64,arm64,armhf for the agent, amd64,arm64 for the hub)")
	only := fs.String("only", "", "build only this package: agent or hub")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if strings.TrimSpace(*version) == "" {
		return errors.New("-version is required (make package passes git describe's)")
	}
	var want []string
	if *archList != "" {
		for a := range strings.SplitSeq(*archList, ",") {
			a = strings.TrimSpace(a)
			if !slices.ContainsFunc(arches, func(x arch) bool { return x.deb == a }) {
				return fmt.Errorf("-arch: unknown architecture %q (want amd64, arm64 or armhf)", a)
			}
			want = append(want, a)
		}
	}
	var chosen []pkgSpec
	for _, s := range specs {
		if *only == "" || "pointage-"+*only == s.Name {
			chosen = append(chosen, s)
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("-only: %q: want agent or hub", *only)
	}
	debVersion := DebianVersion(*version, commitTime())
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "pointage-packaging")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	built := 0
	for _, s := range chosen {
		for _, a := range arches {
			if !slices.Contains(s.Arches, a.deb) || (want != nil && !slices.Contains(want, a.deb)) {
				continue
			}
			start := time.Now()
			path, err := buildPackage(s, a, *version, debVersion, work, *out)
			if err != nil {
				return fmt.Errorf("%s %s: %w", s.Name, a.deb, err)
			}
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			fmt.Printf("%s  %.1f MB  %.1fs\n", path, float64(st.Size())/1e6, time.Since(start).Seconds())
			built++
		}
	}
	if built == 0 {
		return fmt.Errorf("no package to build for -arch %s -only %s", *archList, *only)
	}
	return nil
}

// buildPackage cross-builds s's binary for a and writes its package into out.
func buildPackage(s pkgSpec, a arch, version, debVersion, work, out string) (string, error) {
	dir := filepath.Join(work, s.Name+"-"+a.deb)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, s.Name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", bin, "./cmd/"+s.Name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+a.goarch, "GOARM="+a.goarm)
	cmd.Dir = moduleDir()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w", s.Name, err)
	}

	// The unit and the configuration file as they are; the scripts from their templates.
	unit, conf := filepath.Join(dir, s.Unit), filepath.Join(dir, filepath.Base(s.Conffile))
	if err := copyAsset("files/"+s.Unit, unit); err != nil {
		return "", err
	}
	if err := copyAsset("files/"+filepath.Base(s.Conffile), conf); err != nil {
		return "", err
	}
	scripts := map[string]string{}
	for _, name := range []string{"postinst", "prerm", "postrm"} {
		p := filepath.Join(dir, name)
		if err := renderScript(name+".tmpl", s, p); err != nil {
			return "", err
		}
		scripts[name] = p
	}

	info := &nfpm.Info{
		Name:          s.Name,
		Arch:          a.deb,
		Platform:      "linux",
		Version:       debVersion,
		VersionSchema: "none", // debVersion is already a Debian version
		Section:       "misc",
		Priority:      "optional",
		Maintainer:    "pointage <pointage@localhost>",
		Description:   s.Description,
		License:       "Proprietary",
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				{Source: bin, Destination: "/usr/bin/" + s.Name, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Source: unit, Destination: "/lib/systemd/system/" + s.Unit, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
				{Destination: "/etc/pointage", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				// Group pointage once postinst has created it.
				{Source: conf, Destination: s.Conffile, Type: files.TypeConfigNoReplace, FileInfo: &files.ContentFileInfo{Mode: 0o640}},
				// Owned by pointage once postinst has created it.
				{Destination: s.DataDir, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o750}},
			},
			Scripts: nfpm.Scripts{
				PostInstall: scripts["postinst"],
				PreRemove:   scripts["prerm"],
				PostRemove:  scripts["postrm"],
			},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", err
	}
	packager, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	path := filepath.Join(out, fmt.Sprintf("%s_%s_%s.deb", s.Name, debVersion, a.deb))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	return path, f.Close()
}

func copyAsset(name, dst string) error {
	b, err := assets.ReadFile(name)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func renderScript(name string, s pkgSpec, dst string) error {
	t, err := template.ParseFS(assets, "files/"+name)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, s); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return os.WriteFile(dst, b.Bytes(), 0o755)
}

// commitTime is HEAD's commit time, or now outside a git checkout: the date in the
// version of an untagged build.
func commitTime() time.Time {
	out, err := exec.Command("git", "log", "-1", "--format=%ct").Output()
	if err == nil {
		var sec int64
		if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &sec); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	return time.Now().UTC()
}

// moduleDir is the module's root (go env GOMOD's folder), where ./cmd/... is:
// the packager may run from any folder of it (its test runs in packaging/).
func moduleDir() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
