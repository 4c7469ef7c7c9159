package reader

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// The example agent configuration names built-in profiles and valid ports.
func TestAgentExampleReaders(t *testing.T) {
	data, err := os.ReadFile("../../firmware-config/agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Readers []struct {
			Name    string `yaml:"name"`
			Port    string `yaml:"port"`
			Profile string `yaml:"profile"`
		} `yaml:"readers"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Readers) == 0 {
		t.Fatal("no readers in the example")
	}
	all := mustBuiltinTB(t)
	for _, r := range cfg.Readers {
		if _, err := ParsePortSpec(r.Port); err != nil {
			t.Errorf("reader %q: %v", r.Name, err)
		}
		if all[r.Profile] == nil {
			t.Errorf("reader %q: profile %q is not built in", r.Name, r.Profile)
		}
	}
}

func mustBuiltinTB(t testing.TB) map[string]*Profile {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return all
}
