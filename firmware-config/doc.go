// Package firmwareconfig carries pointage's scanner profiles and example
// configuration files. The built-in profiles under profiles/ are embedded (see
// Profiles) so that every binary has them; agent/reader parses and validates them,
// and README.md describes the profile schema. This package holds data only: it has
// no logic and imports nothing from the project.
package firmwareconfig
