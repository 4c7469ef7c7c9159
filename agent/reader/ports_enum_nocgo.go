//go:build darwin && !cgo

package reader

// detailedPorts: go.bug.st/serial's enumerator needs cgo on macOS; without it
// ports are listed by name only and usb: ports cannot be found.
func detailedPorts() ([]PortInfo, error) { return nil, nil }
