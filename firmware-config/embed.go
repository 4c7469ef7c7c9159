package firmwareconfig

import "embed"

// Profiles holds the built-in scanner profiles, one YAML file per profile, at
// profiles/<name>.yaml.
//
//go:embed profiles/*.yaml
var Profiles embed.FS
