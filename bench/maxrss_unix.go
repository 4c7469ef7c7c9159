//go:build unix

package main

import (
	"os"
	"syscall"
)

// maxRSS is the peak resident set of a process that has ended, in KiB (Linux's
// rusage unit), 0 when unknown.
func maxRSS(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss)
	}
	return 0
}
