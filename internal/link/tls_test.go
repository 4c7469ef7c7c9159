package link

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsTLSURL(t *testing.T) {
	for url, want := range map[string]bool{
		"ssl://hub:8883": true, "tls://hub:8883": true, "mqtts://hub:8883": true, "MQTTS://hub:8883": true,
		"mqtt+ssl://hub:8883": true, "tcps://hub:8883": true, "wss://hub/mqtt": true,
		"tcp://hub:1883": false, "mqtt://hub:1883": false, "ws://hub/mqtt": false, "hub:8883": false, "": false,
	} {
		if got := IsTLSURL(url); got != want {
			t.Errorf("IsTLSURL(%q) = %v, want %v", url, got, want)
		}
	}
}

// A CA file is refused with a plain URL, and a missing or empty CA file is
// an error at New, not a silent fall-back to the system's roots.
func TestCAFileChecks(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)
	for _, tc := range []struct{ name, url, ca, want string }{
		{"ca with tcp", "tcp://hub:1883", notPEM, "not a TLS URL"},
		{"missing ca", "ssl://hub:8883", filepath.Join(dir, "missing.pem"), "read CA file"},
		{"not pem", "mqtts://hub:8883", notPEM, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{URL: tc.url, ClientID: "x", CAFile: tc.ca})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// System roots: TLS with no CA file is fine.
	if _, err := New(Options{URL: "ssl://hub:8883", ClientID: "x"}); err != nil {
		t.Fatal(err)
	}
}
