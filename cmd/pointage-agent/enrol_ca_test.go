package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The CA given to enrol from the installer's folder is copied beside the
// configuration, where the service can read it; a different one already there is
// kept as ca.crt.bak; the file itself given again is left alone.
func TestInstallCA(t *testing.T) {
	home, etc := t.TempDir(), t.TempDir()
	src := filepath.Join(home, "ca.crt")
	os.WriteFile(src, []byte("new CA"), 0o600)
	os.WriteFile(filepath.Join(etc, "ca.crt"), []byte("old CA"), 0o644)

	got, err := installCA(src, etc)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(etc, "ca.crt"); got != want {
		t.Fatalf("installCA = %s, want %s", got, want)
	}
	for path, want := range map[string]string{got: "new CA", got + ".bak": "old CA"} {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != want {
			t.Errorf("%s = %q (%v), want %q", path, b, err, want)
		}
	}
	if fi, _ := os.Stat(got); fi.Mode().Perm() != 0o644 {
		t.Errorf("ca.crt mode %v, want 0644 (the service user reads it)", fi.Mode().Perm())
	}
	os.Remove(src) // the USB key taken away
	if again, err := installCA(got, etc); err != nil || again != got {
		t.Errorf("installCA of the copy itself = %s, %v", again, err)
	}
	if _, err := installCA(filepath.Join(home, "missing.crt"), etc); err == nil {
		t.Error("a missing --ca-file was accepted")
	}
}
