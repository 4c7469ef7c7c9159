package logs

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, "warn", "json")
	l.Info("hidden")
	l.Warn("shown", "site", "jules-ferry")
	if out := b.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"site":"jules-ferry"`) {
		t.Fatalf("json at warn: %s", out)
	}
	b.Reset()
	New(&b, "nonsense", "text").Info("info is the default")
	if !strings.Contains(b.String(), "level=INFO") {
		t.Fatalf("text at the default level: %s", b.String())
	}
}
