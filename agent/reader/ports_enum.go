//go:build !darwin || cgo

package reader

import (
	"strings"

	"go.bug.st/serial/enumerator"
)

// detailedPorts asks go.bug.st/serial's enumerator for the USB details.
func detailedPorts() ([]PortInfo, error) {
	details, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]PortInfo, 0, len(details))
	for _, d := range details {
		if d == nil {
			continue
		}
		out = append(out, PortInfo{
			Name:         d.Name,
			IsUSB:        d.IsUSB,
			VID:          strings.ToUpper(d.VID),
			PID:          strings.ToUpper(d.PID),
			SerialNumber: d.SerialNumber,
			Product:      d.Product,
		})
	}
	return out, nil
}
