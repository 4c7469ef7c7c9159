//go:build unix

package link

import (
	"syscall"
	"time"
)

// cpuTime is the process's CPU time so far (the benchmark's cpu-µs/msg).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
