package testenv

import "syscall"

// sysProcAttr makes the kernel kill a server when the test binary dies (a panic, a
// timeout, ^C), so that no broker or database outlives its test run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
