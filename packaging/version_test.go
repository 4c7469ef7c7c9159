package main

import (
	"os/exec"
	"testing"
	"time"

	"pointage/internal/testenv"
)

func TestDebianVersion(t *testing.T) {
	at := time.Date(2026, 12, 3, 23, 30, 0, 0, time.FixedZone("NC", 11*3600)) // 12:30 UTC
	cases := []struct{ in, want string }{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2", "1.2"},
		{"v1.2.3-rc1", "1.2.3~rc1"},
		{"v1.2.3-rc.1", "1.2.3~rc.1"},
		{"v1.2.3-4-gabc1234", "1.2.3+git4.abc1234"},
		{"v1.2.3-rc1-4-gabc1234", "1.2.3~rc1+git4.abc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+git4.abc1234.dirty"},
		{"v1.2.3-dirty", "1.2.3+dirty"},
		{"abc1234", "0.0.0~git20261203.abc1234"},
		{"0fb2b0b", "0.0.0~git20261203.0fb2b0b"},
		{"1234567", "0.0.0~git20261203.1234567"}, // an all-digit abbreviated hash
		{"abc1234-dirty", "0.0.0~git20261203.abc1234.dirty"},
		{"dev", "0.0.0~dev.20261203"},
		{"", "0.0.0~dev.20261203"},
		{"  v2.0.0\n", "2.0.0"},
		{"release_2026/12", "0.0.0~release.2026.12.20261203"},
	}
	for _, c := range cases {
		got := DebianVersion(c.in, at)
		if got != c.want {
			t.Errorf("DebianVersion(%q) = %q, want %q", c.in, got, c.want)
		}
		if !validDebianVersion(got) {
			t.Errorf("DebianVersion(%q) = %q: not a valid Debian version", c.in, got)
		}
	}
}

// TestDebianVersionOrder checks with dpkg itself that the versions are accepted and
// sort like the releases they come from: an upgrade must go forward.
func TestDebianVersionOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs dpkg")
	}
	dpkg := testenv.Require(t, "dpkg")
	day1 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	ordered := []string{
		DebianVersion("dev", day1),
		DebianVersion("abc1234", day1),
		DebianVersion("abc1234-dirty", day1),
		DebianVersion("0fb2b0b", day2),
		DebianVersion("v1.0.0-rc1", day2),
		DebianVersion("v1.0.0-rc1-2-gabc1234", day2),
		DebianVersion("v1.0.0", day2),
		DebianVersion("v1.0.0-dirty", day2),
		DebianVersion("v1.0.0-3-gdef5678", day2),
		DebianVersion("v1.0.0-3-gdef5678-dirty", day2),
		DebianVersion("v1.0.1", day2),
		DebianVersion("v1.10.0", day2),
	}
	for i := 1; i < len(ordered); i++ {
		a, b := ordered[i-1], ordered[i]
		if out, err := exec.Command(dpkg, "--compare-versions", a, "lt", b).CombinedOutput(); err != nil {
			t.Errorf("dpkg --compare-versions %s lt %s: false (%v %s)", a, b, err, out)
		}
	}
}
