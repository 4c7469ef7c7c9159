// Package reader owns the agent's badge readers: it is the one home of
// go.bug.st/serial in pointage.
//
// It has a pure core and a live shell:
//
//   - Profile, Builtin and Load read scanner profiles (YAML data, the built-ins
//     embedded from firmware-config) and Validate them without I/O.
//   - Decoder turns a byte stream into Frames according to a profile: canonical
//     badge ids, or rejections (noise, partial frames, bad checksums, non-hex,
//     over-long lines) for the caller to count. Time is injected.
//   - Debouncer tells a new scan from the repeats of a card held on a reader.
//   - ParsePortSpec and Resolve read a port (a path or usb:VID:PID[:SERIAL]) and
//     find it among the machine's ports (ListPorts).
//   - Reader opens a serial port, decodes and debounces, sends Scans, reconnects
//     after an unplug, writes feedback bytes, and reports its State.
//
// On Linux, go.bug.st/serial takes exclusive access (TIOCEXCL) to a port it opens;
// the flag goes only when the last holder of the port closes it. If another process
// (or, for a pseudo-terminal, its other side) still holds the port after the agent
// was killed with SIGKILL, a non-root agent finds the port busy when it restarts;
// root is exempt.
package reader
