package api

import "testing"

func TestVersionBehind(t *testing.T) {
	for _, tc := range []struct {
		agent, hub string
		want       bool
	}{
		{"v1.4.0", "v1.4.0", false},
		{"v1.3.9", "v1.4.0", true},
		{"v1.4.0", "v1.3.9", false},
		{"v1.4.0-3-gabc1234", "v1.4.0", false}, // three commits after the hub's tag
		{"v1.4.0", "v1.4.0-3-gabc1234", true},
		{"v1.4.0-2-gabc1234", "v1.4.0-3-gdef5678", true},
		{"v1.10.0", "v1.9.0", false},
		{"v1.4.0-dirty", "v1.4.0", false},
		{"", "v1.4.0", false}, // unknown: not told behind
		{"v1.4.0", "", false},
		{"dev", "v1.4.0", true},
		{"abc1234", "def5678", true},
	} {
		if got := VersionBehind(tc.agent, tc.hub); got != tc.want {
			t.Errorf("VersionBehind(%q, %q) = %v, want %v", tc.agent, tc.hub, got, tc.want)
		}
	}
}
