package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"pointage/hub"
	"pointage/hub/devices"
)

func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestDevicesAddAndList(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "", "devices", "add", "--data-dir", dir, "jules-ferry", "jf-cantine-1")
	if err != nil || !strings.Contains(out, "password: ") {
		t.Fatalf("generated password not printed: %v\n%s", err, out)
	}
	out, err = run(t, "a good password\nsecond line\n", "devices", "add", "--data-dir", dir, "pasteur", "pa-cantine-1", "--password-stdin")
	if err != nil || strings.Contains(out, "a good password") {
		t.Fatalf("--password-stdin: %v\n%s", err, out)
	}
	if _, err := run(t, "short\n", "devices", "add", "--data-dir", dir, "pasteur", "pa-garderie", "--password-stdin"); err == nil {
		t.Fatal("a 5-character password was accepted")
	}
	if _, err := run(t, "", "devices", "add", "--data-dir", dir, "pasteur", "jf-cantine-1"); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("duplicate device: %v", err)
	}
	if _, err := run(t, "", "devices", "add", "--data-dir", dir, "Bad Site", "x1"); err == nil {
		t.Fatal("an invalid site id was accepted")
	}
	out, err = run(t, "", "devices", "list", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "jules-ferry") || !strings.Contains(out, "pa-cantine-1") || strings.Contains(out, "pa-garderie") {
		t.Fatalf("devices list: %v\n%s", err, out)
	}
	t.Setenv("POINTAGE_DATA_DIR", dir)
	out, err = run(t, "", "devices", "list")
	if err != nil || !strings.Contains(out, "jf-cantine-1") {
		t.Fatalf("POINTAGE_DATA_DIR not used: %v\n%s", err, out)
	}
	outDir := filepath.Join(t.TempDir(), "mosq")
	if _, err := run(t, "", "broker-config", "mosquitto", "--data-dir", dir, "--out", outDir); err != nil {
		t.Fatal(err)
	}
	acl, _ := os.ReadFile(filepath.Join(outDir, "acl"))
	if !strings.Contains(string(acl), "pointage/v1/pasteur/pa-cantine-1/checkin") {
		t.Fatalf("acl:\n%s", acl)
	}
}

func TestRosterImportReportsBadRows(t *testing.T) {
	dir := t.TempDir()
	csv := "\ufeffbadge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\r\n" +
		"13005D1DA5;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma je ve;soir\r\n" +
		"ZZZ;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu;\r\n" +
		"01026F6C3A;S001;staff;Martin;Paul;jules-ferry;;standard;lu ma me je ve;\r\n"
	path := filepath.Join(t.TempDir(), "roster.csv")
	os.WriteFile(path, []byte(csv), 0o600)
	out, err := run(t, "", "roster", "import", "--data-dir", dir, "--from", "2026-11-02", path)
	if err == nil || !strings.Contains(err.Error(), "1 row(s) rejected") {
		t.Fatalf("want the rejected row reported in the error, got %v", err)
	}
	if !strings.Contains(out, "line 3") || !strings.Contains(out, "added: 2") {
		t.Fatalf("output:\n%s", out)
	}
	if _, err := run(t, "", "roster", "import", "--data-dir", dir, "--from", "02/11/2026", path); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Fatalf("bad --from: %v", err)
	}
}

// flag > environment > file > default.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hub.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:9001\nmqtt-listen: 127.0.0.1:9002\ndata_dir: /from/file\ninflux_token: file-token\ntimezone: Europe/Paris\n"), 0o600)
	t.Setenv("POINTAGE_MQTT_LISTEN", "127.0.0.1:9102")
	t.Setenv("POINTAGE_INFLUX_TOKEN", "env-token")
	var cfg hub.Config
	var configFile string
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	cmd.SetArgs([]string{"--config", file, "--data-dir", "/from/flag"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if err := applyPrecedence(cmd, &cfg, configFile); err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/flag" || cfg.MQTTListen != "127.0.0.1:9102" || cfg.Listen != "127.0.0.1:9001" ||
		cfg.Timezone != "Europe/Paris" || cfg.InfluxToken != "env-token" || cfg.TopicRoot != "pointage" {
		t.Fatalf("precedence broken: %+v (token from env: %v)", cfg, cfg.InfluxToken == "env-token")
	}
	os.WriteFile(file, []byte("listne: x\n"), 0o600)
	if err := applyPrecedence(cmd, &cfg, file); err == nil || !strings.Contains(err.Error(), `unknown key "listne"`) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestUsersAddAndList(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "", "users", "add", "--data-dir", dir, "marie", "--role", "office")
	if err != nil || !strings.Contains(out, "password: ") {
		t.Fatalf("generated password not printed: %v\n%s", err, out)
	}
	if _, err := run(t, "un bon mot de passe\n", "users", "add", "--data-dir", dir, "ecole-jf", "--role", "school", "--site", "jules-ferry", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"users", "add", "--data-dir", dir, "x", "--role", "admin"},
		{"users", "add", "--data-dir", dir, "y", "--role", "school"},
		{"users", "add", "--data-dir", dir, "marie", "--role", "office"},
	} {
		if _, err := run(t, "", bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := run(t, "court\n", "users", "add", "--data-dir", dir, "z", "--role", "kitchen", "--password-stdin"); err == nil {
		t.Error("a 5-character password was accepted")
	}
	out, err = run(t, "", "users", "list", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "ecole-jf") || !strings.Contains(out, "jules-ferry") || strings.Contains(out, "un bon mot") {
		t.Fatalf("users list: %v\n%s", err, out)
	}
}

// The privacy commands: a person's data to a file (audited), the audit log
// listed and verified, the retention's dry run.
func TestPrivacyCommands(t *testing.T) {
	dir := t.TempDir()
	csv := "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n" +
		"13005D1DA5;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma je ve;soir\n"
	path := filepath.Join(t.TempDir(), "roster.csv")
	os.WriteFile(path, []byte(csv), 0o600)
	if _, err := run(t, "", "roster", "import", "--data-dir", dir, path); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "E001.json")
	out, err := run(t, "", "person-data", "--data-dir", dir, "--out", file, "E001")
	if err != nil || !strings.Contains(out, "1 roster versions, 0 check-ins") {
		t.Fatalf("person-data: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), `"first_name": "Léa"`) || !strings.Contains(string(b), `"monthly_figures": []`) {
		t.Fatalf("person-data file:\n%s", b)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Fatalf("person-data file mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := run(t, "", "person-data", "--data-dir", dir, "E404"); err == nil || !strings.Contains(err.Error(), "not in the roster") {
		t.Fatalf("unknown person: %v", err)
	}
	out, err = run(t, "", "audit", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "export_child") || !strings.Contains(out, "E001") {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	if out, err = run(t, "", "audit", "--data-dir", dir, "--verify"); err != nil || !strings.Contains(out, "audit log intact: 1 entries") {
		t.Fatalf("audit --verify: %v\n%s", err, out)
	}
	if out, err = run(t, "", "retention", "--data-dir", dir, "--dry-run"); err != nil || !strings.Contains(out, "dry run: would keep the figures of 0 month(s)") {
		t.Fatalf("retention --dry-run: %v\n%s", err, out)
	}
	if _, err = run(t, "", "retention", "--data-dir", dir, "--retention-months", "1"); err == nil || !strings.Contains(err.Error(), "retention-months") {
		t.Fatalf("retention-months 1: %v", err)
	}
}

// A device's password replaced, then the device removed.
func TestDevicesSetPasswordAndRemove(t *testing.T) {
	dir := t.TempDir()
	if _, err := run(t, "", "devices", "add", "--data-dir", dir, "jules-ferry", "jf-1"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "Un-mot-de-passe-solide-2026\n", "devices", "set-password", "--data-dir", dir, "--password-stdin", "jf-1")
	if err != nil || !strings.Contains(out, "new password set") || strings.Contains(out, "password: ") {
		t.Fatalf("set-password: %v\n%s", err, out)
	}
	if out, err = run(t, "", "devices", "set-password", "--data-dir", dir, "jf-1"); err != nil || !strings.Contains(out, "password: ") {
		t.Fatalf("set-password with a generated one: %v\n%s", err, out)
	}
	if out, err = run(t, "", "devices", "remove", "--data-dir", dir, "jf-1"); err != nil || !strings.Contains(out, "jf-1 removed") {
		t.Fatalf("remove: %v\n%s", err, out)
	}
	if out, _ = run(t, "", "devices", "list", "--data-dir", dir); strings.Contains(out, "jf-1") {
		t.Fatalf("still listed:\n%s", out)
	}
	if _, err = run(t, "", "devices", "remove", "--data-dir", dir, "jf-1"); err == nil || !strings.Contains(err.Error(), "not") {
		t.Fatalf("removing twice: %v", err)
	}
}

// devices add prints the line "enrolment code: CODE" of docs/DESIGN.md §14,
// with --password-stdin too; the code printed is the device's, and
// set-password prints a new one that replaces it.
func TestDevicesAddPrintsTheEnrolmentCode(t *testing.T) {
	dir := t.TempDir()
	codeLine := regexp.MustCompile(`(?m)^enrolment code: ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})$`)
	out, err := run(t, "", "devices", "add", "--data-dir", dir, "jules-ferry", "jf-1")
	m := codeLine.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("devices add: no line \"enrolment code: CODE\": %v\n%s", err, out)
	}
	first := m[1]
	out, err = run(t, "a good password\n", "devices", "add", "--data-dir", dir, "pasteur", "pa-1", "--password-stdin")
	if err != nil || !codeLine.MatchString(out) || strings.Contains(out, "password: ") {
		t.Fatalf("devices add --password-stdin: %v\n%s", err, out)
	}
	out, err = run(t, "", "devices", "set-password", "--data-dir", dir, "jf-1")
	m = codeLine.FindStringSubmatch(out)
	if err != nil || m == nil || m[1] == first {
		t.Fatalf("set-password: no new enrolment code: %v\n%s", err, out)
	}
	second := m[1]

	cfg := hub.Defaults()
	cfg.DataDir = dir
	st, err := hub.OpenState(context.Background(), cfg, hub.StateOptions{HubDBOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Devices.Redeem(context.Background(), first, time.Now()); !errors.Is(err, devices.ErrCodeUnknown) {
		t.Errorf("the code replaced by set-password: %v, want ErrCodeUnknown", err)
	}
	if d, err := st.Devices.Redeem(context.Background(), strings.ToLower(second), time.Now()); err != nil || d.ID != "jf-1" {
		t.Errorf("the code set-password printed: %+v, %v", d, err)
	}
}
