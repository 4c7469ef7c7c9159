package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"pointage/agent"
	"pointage/internal/atomicfile"
	"pointage/internal/wire"
)

// enrolled is the hub's answer to POST /api/v1/enrol (docs/DESIGN.md §14).
type enrolled struct {
	Site          string              `json:"site"`
	Device        string              `json:"device"`
	Password      string              `json:"password"`
	MQTTURL       string              `json:"mqtt_url"`
	TopicRoot     string              `json:"topic_root"`
	Readers       []wire.ReaderConfig `json:"readers"`
	ConfigVersion int64               `json:"config_version"`
}

// The file enrol writes: the keys of docs/DESIGN.md §7.
type enrolledFile struct {
	Site      string `yaml:"site"`
	Device    string `yaml:"device"`
	DataDir   string `yaml:"data_dir"`
	TopicRoot string `yaml:"topic_root,omitempty"`
	MQTT      struct {
		URL          string `yaml:"url"`
		Username     string `yaml:"username"`
		PasswordFile string `yaml:"password_file"`
		CAFile       string `yaml:"ca_file,omitempty"`
	} `yaml:"mqtt"`
	Readers []enrolledReader `yaml:"readers"`
}

type enrolledReader struct {
	Name     string `yaml:"name"`
	Port     string `yaml:"port"`
	Profile  string `yaml:"profile"`
	Service  string `yaml:"service"`
	Dir      string `yaml:"dir,omitempty"`
	Debounce string `yaml:"debounce,omitempty"`
}

// defaultConfigPath and defaultDataDir are where the packages put them.
func defaultConfigPath() string {
	if runtime.GOOS == "windows" {
		return `C:\ProgramData\pointage\agent.yaml`
	}
	return "/etc/pointage/agent.yaml"
}

func defaultDataDir() string {
	if runtime.GOOS == "windows" {
		return `C:\ProgramData\pointage\data`
	}
	return agent.Defaults().DataDir
}

func enrolCmd() *cobra.Command {
	var hub, code, cfgPath, dataDir, caFile string
	var force bool
	cmd := &cobra.Command{
		Use:   "enrol --hub URL --code CODE",
		Short: "Set this device up from the hub with its enrolment code: writes the whole agent configuration",
		Long: `Asks the hub (POST /api/v1/enrol) for this device's configuration with the
enrolment code the devices page (or "pointage-hub devices add") gave, and writes it:
the configuration file (mode 0600) and the MQTT password in its own file beside it.
A used, expired or unknown code writes nothing. Then start the agent (systemctl
start pointage-agent, or pointage-agent service start on Windows).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return enrol(cmd.Context(), cmd.OutOrStdout(), hub, code, cfgPath, dataDir, caFile, force)
		},
	}
	cmd.Flags().StringVar(&hub, "hub", "", "the hub's address, like https://pointage.ville.nc:8443")
	cmd.Flags().StringVar(&code, "code", "", "the enrolment code, like ABCD-EFGH-JKMN")
	cmd.Flags().StringVar(&cfgPath, "config", defaultConfigPath(), "the configuration file to write")
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "the agent's data folder (its outbox), written in the configuration")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "the CA certificate (PEM) of the hub's HTTPS and MQTT TLS, when private; also written as mqtt.ca_file")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing configuration file (the previous one is kept as FILE.bak)")
	cmd.MarkFlagRequired("hub")
	cmd.MarkFlagRequired("code")
	return cmd
}

func enrol(ctx context.Context, out io.Writer, hub, code, cfgPath, dataDir, caFile string, force bool) error {
	hub = strings.TrimRight(strings.TrimSpace(hub), "/")
	if !strings.HasPrefix(hub, "http://") && !strings.HasPrefix(hub, "https://") {
		return fmt.Errorf("--hub %q: want the hub's web address, like https://pointage.ville.nc:8443", hub)
	}
	var err error
	if cfgPath, err = filepath.Abs(cfgPath); err != nil {
		return err
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return err
	}
	if caFile != "" {
		if caFile, err = filepath.Abs(caFile); err != nil {
			return err
		}
	}
	if old, err := os.ReadFile(cfgPath); err == nil && !force && hasSetting(old) { // the package's file is all comments
		return fmt.Errorf("%s already exists: this device seems set up; give --force to replace it (the previous file is kept as %s.bak)", cfgPath, filepath.Base(cfgPath))
	}
	client, err := enrolClient(caFile)
	if err != nil {
		return err
	}
	e, err := askHub(ctx, client, hub, code)
	if err != nil {
		return err
	}

	// The configuration, checked as the agent will read it, before anything is written.
	f := enrolledFile{Site: e.Site, Device: e.Device, DataDir: dataDir, Readers: []enrolledReader{}}
	if e.TopicRoot != "" && e.TopicRoot != wire.DefaultRoot {
		f.TopicRoot = e.TopicRoot
	}
	passwordFile := filepath.Join(filepath.Dir(cfgPath), "agent.password")
	f.MQTT.URL, f.MQTT.Username, f.MQTT.PasswordFile = e.MQTTURL, e.Device, passwordFile
	if caFile != "" {
		f.MQTT.CAFile = caDest(filepath.Dir(cfgPath)) // copied there by installCA
	}
	for _, r := range e.Readers {
		f.Readers = append(f.Readers, enrolledReader{Name: r.Name, Port: r.Port, Profile: r.Profile, Service: string(r.Service), Dir: string(r.Dir), Debounce: r.Debounce})
	}
	body, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# pointage-agent configuration, written by `pointage-agent enrol` on %s from %s.\n"+
		"# The readers are managed on the hub's devices page: the hub's list replaces this file's.\n",
		time.Now().Format("02/01/2006 15:04"), hub)
	content := append([]byte(header), body...)
	if err := checkEnrolled(content, e.Password, caFile); err != nil {
		return fmt.Errorf("the hub's answer does not make a valid configuration (%w): nothing was written", err)
	}

	if err := os.MkdirAll(filepath.Dir(cfgPath), 0o750); err != nil {
		return err
	}
	if force {
		if old, err := os.ReadFile(cfgPath); err == nil {
			if err := atomicfile.Write(cfgPath+".bak", old, 0o600); err != nil {
				return err
			}
		}
	}
	if caFile != "" {
		if _, err := installCA(caFile, filepath.Dir(cfgPath)); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(passwordFile, []byte(e.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the password file: %w", err)
	}
	if err := atomicfile.Write(cfgPath, content, 0o600); err != nil {
		return fmt.Errorf("write the configuration: %w", err)
	}
	owner := giveToServiceUser(cfgPath, passwordFile)
	fmt.Fprintf(out, "enrolled: device %s of site %s, MQTT %s\n", e.Device, e.Site, e.MQTTURL)
	fmt.Fprintf(out, "wrote %s and %s (mode 0600%s)\n", cfgPath, passwordFile, owner)
	if caFile != "" {
		fmt.Fprintf(out, "copied the CA certificate %s to %s\n", caFile, f.MQTT.CAFile)
	}
	if len(e.Readers) == 0 {
		fmt.Fprintln(out, "no reader yet: add them on the hub's devices page, the agent applies them as they are saved")
	} else {
		fmt.Fprintf(out, "%d reader(s) from the hub\n", len(e.Readers))
	}
	if runtime.GOOS == "windows" {
		fmt.Fprintf(out, "next: pointage-agent service install --config %s, then pointage-agent service start\n", cfgPath)
	} else {
		fmt.Fprintln(out, "next: systemctl restart pointage-agent (or pointage-agent run --config "+cfgPath+")")
	}
	return nil
}

// installCA copies the CA certificate given with --ca-file beside the configuration
// (dir/ca.crt, 0644: a certificate is public) and returns the path the configuration
// names. The agent's service cannot read the installer's copy: it is usually in a home
// folder, which the unit hides (ProtectHome=true), or on a USB key taken away after.
func installCA(caFile, dir string) (string, error) {
	dst := caDest(dir)
	if caFile == dst {
		return dst, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return "", fmt.Errorf("--ca-file: %w", err)
	}
	if old, err := os.ReadFile(dst); err == nil && !bytes.Equal(old, pem) {
		if err := atomicfile.Write(dst+".bak", old, 0o644); err != nil {
			return "", err
		}
	}
	if err := atomicfile.Write(dst, pem, 0o644); err != nil {
		return "", fmt.Errorf("copy the CA certificate to %s: %w", dst, err)
	}
	return dst, nil
}

// caDest is where installCA puts the CA certificate: beside the configuration.
func caDest(dir string) string { return filepath.Join(dir, "ca.crt") }

func enrolClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

func askHub(ctx context.Context, client *http.Client, hub, code string) (enrolled, error) {
	reqBody, _ := json.Marshal(map[string]string{"code": strings.TrimSpace(code)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub+"/api/v1/enrol", bytes.NewReader(reqBody))
	if err != nil {
		return enrolled{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return enrolled{}, fmt.Errorf("could not reach the hub at %s (%w): check the address, the network, and --ca-file for a private certificate; nothing was written", hub, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return enrolled{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		msg := e.Error
		if msg == "" {
			msg = strings.TrimSpace(string(raw))
		}
		if resp.StatusCode == http.StatusNotFound {
			msg = "this hub has no enrolment (is --hub the pointage hub's address, and is the hub up to date?)"
		}
		return enrolled{}, fmt.Errorf("the hub refused the enrolment (%d): %s; nothing was written", resp.StatusCode, msg)
	}
	var e enrolled
	if err := json.Unmarshal(raw, &e); err != nil {
		return enrolled{}, fmt.Errorf("the hub's answer is not an enrolment (%w): nothing was written", err)
	}
	return e, nil
}

// checkEnrolled validates the configuration as the agent loads it, with
// the password in place of its file.
func checkEnrolled(content []byte, password, caFile string) error {
	dir, err := os.MkdirTemp("", "pointage-enrol-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var f enrolledFile
	if err := yaml.Unmarshal(content, &f); err != nil {
		return err
	}
	if password == "" {
		return errors.New("no password")
	}
	f.MQTT.PasswordFile = filepath.Join(dir, "password")
	if caFile != "" {
		f.MQTT.CAFile = caFile // not yet copied beside the configuration
	}
	if err := os.WriteFile(f.MQTT.PasswordFile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	b, _ := yaml.Marshal(f)
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	_, err = agent.LoadConfig(path, nil)
	return err
}

// giveToServiceUser makes the files the agent service's when enrol runs as
// root and the packages' system user exists (Linux): " owned by pointage".
func giveToServiceUser(paths ...string) string {
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		return ""
	}
	u, err := user.Lookup("pointage")
	if err != nil {
		return ""
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return ""
	}
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return ""
		}
	}
	return ", owned by pointage"
}

// hasSetting reports whether a configuration file sets anything (a line
// that is neither blank nor a comment).
func hasSetting(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}
