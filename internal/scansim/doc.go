// Package scansim simulates badge readers for tests and the demo: Encode gives the
// bytes a reader of a built-in profile sends for a badge, and PTY is a
// pseudo-terminal whose secondary side the agent opens as a serial port while the
// simulator writes frames to (and reads feedback from) the primary side. Symlink is
// a stable port path re-pointed at a new PTY to simulate unplugging and replugging
// a reader.
//
// scansim does not import the agent (internal packages never do); it is checked
// against the frame vectors of docs/READERS.md, and agent/reader checks that its
// decoder reads back what Encode writes.
package scansim
