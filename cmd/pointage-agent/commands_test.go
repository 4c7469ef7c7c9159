package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pointage/internal/scansim"
	"pointage/internal/testenv"
)

func run(ctx context.Context, args ...string) (string, error) {
	var out testenv.SyncBuffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestProfilesListsBuiltins(t *testing.T) {
	out, err := run(context.Background(), "profiles")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rdm6300", "gwiot7941e", "line-hex", "wiegand26-ascii", "barcode"} {
		if !strings.Contains(out, name) {
			t.Errorf("profiles does not list %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "9600 8N1") {
		t.Errorf("profiles does not show serial settings:\n%s", out)
	}
}

func TestListenPrintsDecodedBadges(t *testing.T) {
	if testing.Short() {
		t.Skip("uses a pseudo-terminal")
	}
	p, err := scansim.NewPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out testenv.SyncBuffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"listen", "--port", p.Path(), "--profile", "rdm6300"})
	cmd.SetOut(&out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "connected to") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.Write([]byte("\x0213005D1DA5F6\x03"))
	p.Write([]byte("\x0213005D1DA5F7\x03")) // bad checksum
	for !(strings.Contains(out.String(), "badge 13005D1DA5") && strings.Contains(out.String(), "rejected")) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "badge 13005D1DA5") || !strings.Contains(s, "1 frame(s) rejected") {
		t.Fatalf("listen output:\n%s", s)
	}
}

func TestListenUnknownProfile(t *testing.T) {
	_, err := run(context.Background(), "listen", "--port", "/dev/null", "--profile", "rdm630")
	if err == nil || !strings.Contains(err.Error(), `unknown profile "rdm630"`) || !strings.Contains(err.Error(), "rdm6300") {
		t.Fatalf("got %v", err)
	}
}

func TestOutboxBeforeFirstStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte("site: a\ndevice: b\ndata_dir: "+dir+"/data\nmqtt: {url: tcp://127.0.0.1:1}\nreaders: [{name: r, port: /dev/null, profile: rdm6300, service: canteen}]\n"), 0o600)
	_, err := run(context.Background(), "outbox", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("outbox created a data folder: %v", err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	os.WriteFile(cfg, []byte("site: Bad Site\n"), 0o600)
	_, err := run(context.Background(), "run", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "site:") || !strings.Contains(err.Error(), "mqtt.url:") {
		t.Fatalf("got %v", err)
	}
}
