//go:build linux

package agent

import "golang.org/x/sys/unix"

// clockSynced asks the kernel whether NTP has synchronised the clock
// (adjtimex: not TIME_ERROR and STA_UNSYNC clear). A Raspberry Pi has no
// battery clock, so until NTP answers its time may be years off.
func clockSynced() bool {
	var tx unix.Timex // Modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}
