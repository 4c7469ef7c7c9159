package testenv

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

func TestFreePortIsListenableAndNotRepeated(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		port := FreePort(t)
		if seen[port] {
			t.Fatalf("FreePort returned %d twice", port)
		}
		seen[port] = true
		l, err := net.Listen("tcp", loopback(port))
		if err != nil {
			t.Fatalf("listen on the free port %d: %v", port, err)
		}
		l.Close()
	}
}

// recordingTB records Fatalf and Skipf instead of acting on them.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordingTB) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func requireMissing(t *testing.T) *recordingTB {
	t.Helper()
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		lookOrSkip(r, "pointage-no-such-server")
	}()
	<-done
	return r
}

func TestRequireMissingFailsUnderCIAndSkipsOtherwise(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		require  string
		wantFail bool
	}{
		{name: "developer machine", ci: "", require: "", wantFail: false},
		{name: "CI=true", ci: "true", require: "", wantFail: true},
		{name: "CI=1", ci: "1", require: "", wantFail: true},
		{name: "CI=false", ci: "false", require: "", wantFail: false},
		{name: "POINTAGE_REQUIRE_SERVERS=1", ci: "", require: "1", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("POINTAGE_REQUIRE_SERVERS", tt.require)
			r := requireMissing(t)
			msg := r.skip
			if tt.wantFail {
				msg = r.fatal
				if r.fatal == "" || r.skip != "" {
					t.Fatalf("want Fatalf, got fatal=%q skip=%q", r.fatal, r.skip)
				}
			} else if r.skip == "" || r.fatal != "" {
				t.Fatalf("want Skipf, got fatal=%q skip=%q", r.fatal, r.skip)
			}
			for _, want := range []string{"pointage-no-such-server", "scripts/ensure-deps.sh"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not mention %q", msg, want)
				}
			}
		})
	}
}

func TestRequireHintsHowToInstallInfluxd(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("POINTAGE_CACHE", t.TempDir())
	t.Setenv("CI", "")
	t.Setenv("POINTAGE_REQUIRE_SERVERS", "")
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		lookOrSkip(r, "influxd")
	}()
	<-done
	if !strings.Contains(r.skip, "go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10") {
		t.Errorf("skip message %q lacks the go install command", r.skip)
	}
}

// The expected line was written by mosquitto_passwd 2.0.11 (hub / hubpass).
func TestMosquittoPasswordLineMatchesMosquittoPasswd(t *testing.T) {
	const want = "hub:$7$101$MnLX7LtQa8Yg3KX6$xGNlafjTlpn36hvIAQfcaakN/F5X3LdPtaIXZikHLxhTNocMFry9vZBm+Xs8TnMPkxTeZizOtgjJKvBb06+P+g==\n"
	salt := []byte{0x32, 0x72, 0xd7, 0xec, 0xbb, 0x50, 0x6b, 0xc6, 0x20, 0xdc, 0xa5, 0xfa}
	got, err := mosquittoPasswordLineSalt("hub", "hubpass", salt)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if _, err := mosquittoPasswordLine("a:b", "x"); err == nil {
		t.Error("a user name with ':' was accepted")
	}
}

func TestTail(t *testing.T) {
	if got := tail("a\nb\nc\nd\n", 2); got != "c\nd" {
		t.Errorf("tail = %q", got)
	}
	if got := tail("one", 5); got != "one" {
		t.Errorf("tail = %q", got)
	}
}
