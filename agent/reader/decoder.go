package reader

import (
	"bytes"
	"fmt"
	"time"
)

// PartialTimeout is how long a partial frame waits for its next byte before it is
// dropped (docs/DESIGN.md §8).
const PartialTimeout = 100 * time.Millisecond

// noiseReportBytes: a long run of noise is reported every this many bytes, so that a
// reader stuck at the wrong baud rate shows rejections even if it never pauses.
const noiseReportBytes = 64

// Frame is one result of decoding: a badge, or the reason a frame was rejected.
type Frame struct {
	Badge  string // canonical badge id; empty when rejected
	Reject string // why the bytes were rejected; empty when Badge is set
}

// Rejected reports whether the frame was rejected.
func (f Frame) Rejected() bool { return f.Reject != "" }

func (f Frame) String() string {
	if f.Reject != "" {
		return "rejected: " + f.Reject
	}
	return f.Badge
}

type decState int

const (
	stIdle  decState = iota
	stFrame          // inside a stx-etx or fixed frame
	stLine           // inside a line
	stSkip           // discarding the rest of an over-long frame or line
)

// Decoder turns a reader's byte stream into frames according to a profile. It is
// pure: no I/O, time comes from the caller. Feeding bytes one at a time or all at
// once gives the same frames. A Decoder is not safe for concurrent use.
//
// Rules: bytes outside any frame are noise (one rejection per run of noise); a
// partial frame is dropped, and rejected, after PartialTimeout without a byte; a
// start byte inside a stx-etx frame or a line starts a new frame and rejects the
// partial one; a fixed (binary) frame takes its declared length and, if its end
// byte is wrong, the decoder looks for a frame start again from its second byte.
// Lines end with CR, LF or CRLF; empty lines are ignored, and so are lines a
// profile's pattern does not match when it says unmatched: ignore (banners).
type Decoder struct {
	c        *compiled
	st       decState
	buf      []byte    // current frame or line, start bytes included
	cands    []*format // frame formats still possible for buf
	fixed    *format   // committed fixed format (its start bytes matched)
	skipLine bool      // in stSkip: skipping a line (else a stx-etx frame)
	skipEnd  []byte    // in stSkip, frame: the end bytes that finish the skip
	noise    int       // bytes of the current noise run
	afterCR  bool      // previous byte was a CR ending a line (swallow a LF)
	last     time.Time // time of the last byte
	replay   []byte    // bytes to decode again after a bad fixed frame
	out      []Frame
}

// NewDecoder returns a decoder for the profile, which it validates.
func NewDecoder(p *Profile) (*Decoder, error) {
	c, err := compile(p)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return newDecoder(c), nil
}

func newDecoder(c *compiled) *Decoder {
	return &Decoder{c: c, buf: make([]byte, 0, 64)}
}

// Feed decodes bytes received at now. It first applies the partial-frame timeout
// (as Tick does), so a partial frame followed by silence then a new frame is
// dropped even if Tick was not called in between.
func (d *Decoder) Feed(p []byte, now time.Time) []Frame {
	d.out = nil
	d.expire(now)
	for _, b := range p {
		d.step(b)
		for len(d.replay) > 0 {
			x := d.replay[0]
			d.replay = d.replay[1:]
			d.step(x)
		}
	}
	if len(p) > 0 {
		d.last = now
	}
	return d.take()
}

// Tick drops, and rejects, a partial frame (or reports pending noise) once
// PartialTimeout has passed since the last byte.
func (d *Decoder) Tick(now time.Time) []Frame {
	d.out = nil
	d.expire(now)
	return d.take()
}

// Pending reports whether a partial frame, line or noise run is waiting for bytes.
func (d *Decoder) Pending() bool { return d.st != stIdle || d.noise > 0 }

func (d *Decoder) take() []Frame {
	out := d.out
	d.out = nil
	return out
}

func (d *Decoder) reject(reason string) { d.out = append(d.out, Frame{Reject: reason}) }

func (d *Decoder) expire(now time.Time) {
	if !d.Pending() || now.Sub(d.last) < PartialTimeout {
		return
	}
	switch d.st {
	case stFrame:
		d.reject(RejectPartial + ": no byte for 100 ms")
	case stLine:
		d.reject(RejectPartial + ": line without terminator for 100 ms")
	}
	d.flushNoise()
	d.toIdle()
	d.afterCR = false
}

func (d *Decoder) toIdle() {
	d.st = stIdle
	d.buf = d.buf[:0]
	d.cands = d.cands[:0]
	d.fixed = nil
	d.skipEnd = nil
}

func (d *Decoder) flushNoise() {
	if d.noise > 0 {
		d.reject(fmt.Sprintf("%s: %d bytes outside frames", RejectNoise, d.noise))
		d.noise = 0
	}
}

// startersFor appends to dst the frame formats whose start bytes begin with b.
func (d *Decoder) startersFor(dst []*format, b byte) []*format {
	for _, f := range d.c.starters {
		if f.start[0] == b {
			dst = append(dst, f)
		}
	}
	return dst
}

func (d *Decoder) isStarter(b byte) bool {
	for _, f := range d.c.starters {
		if f.start[0] == b {
			return true
		}
	}
	return false
}

func (d *Decoder) step(b byte) {
	switch d.st {
	case stIdle:
		d.idleByte(b)
	case stLine:
		d.lineByte(b)
	case stFrame:
		d.frameByte(b)
	case stSkip:
		d.skipByte(b)
	}
}

func (d *Decoder) idleByte(b byte) {
	if d.isStarter(b) {
		d.flushNoise()
		d.afterCR = false
		d.beginFrame(b)
		return
	}
	if d.c.line != nil {
		d.lineByte(b)
		return
	}
	d.noise++
	if d.noise >= noiseReportBytes {
		d.flushNoise()
	}
}

func (d *Decoder) beginFrame(b byte) {
	d.st = stFrame
	d.buf = append(d.buf[:0], b)
	d.cands = d.startersFor(d.cands[:0], b)
	d.fixed = nil
	d.checkCommit()
}

// checkCommit commits to a fixed format once its whole start sequence matched: a
// binary frame's content may hold any byte, start bytes included.
func (d *Decoder) checkCommit() {
	for _, f := range d.cands {
		if f.framing == FramingFixed && len(d.buf) == len(f.start) {
			d.fixed = f
			d.cands = append(d.cands[:0], f)
			if len(d.buf) == f.length {
				d.finishFixed()
			}
			return
		}
	}
}

func (d *Decoder) lineByte(b byte) {
	if b == '\r' || b == '\n' {
		if b == '\n' && d.afterCR {
			d.afterCR = false
			return
		}
		d.afterCR = b == '\r'
		line := d.buf
		d.st = stIdle
		if badge, reason, ignored := d.c.line.decode(line); !ignored {
			d.out = append(d.out, Frame{Badge: badge, Reject: reason})
		}
		d.buf = d.buf[:0]
		return
	}
	d.afterCR = false
	if d.isStarter(b) {
		if len(d.buf) > 0 {
			d.reject(RejectPartial + ": line cut by a start byte")
		}
		d.beginFrame(b)
		return
	}
	d.st = stLine
	d.buf = append(d.buf, b)
	if len(d.buf) > d.c.line.maxLength {
		d.reject(fmt.Sprintf("%s: line over %d bytes", RejectTooLong, d.c.line.maxLength))
		d.buf = d.buf[:0]
		d.st = stSkip
		d.skipLine = true
	}
}

func (d *Decoder) skipByte(b byte) {
	if (d.skipLine || d.c.line != nil) && (b == '\r' || b == '\n') {
		// A line ends here (and so does a broken frame in a profile with lines).
		d.toIdle()
		d.afterCR = b == '\r'
		return
	}
	if !d.skipLine {
		d.buf = append(d.buf, b)
		if bytes.HasSuffix(d.buf, d.skipEnd) {
			d.toIdle()
			return
		}
		if len(d.buf) > 16 { // keep only a tail long enough to match the end bytes
			d.buf = append(d.buf[:0], d.buf[len(d.buf)-len(d.skipEnd):]...)
		}
	}
	if d.isStarter(b) {
		d.toIdle()
		d.beginFrame(b)
	}
}

func (d *Decoder) frameByte(b byte) {
	if d.fixed != nil {
		d.buf = append(d.buf, b)
		if len(d.buf) == d.fixed.length {
			d.finishFixed()
		}
		return
	}
	// Still choosing among the candidates: drop those whose start bytes differ.
	n := len(d.buf) // index of b
	alive := d.cands[:0]
	for _, f := range d.cands {
		if n < len(f.start) && f.start[n] != b {
			continue
		}
		alive = append(alive, f)
	}
	d.cands = alive
	if len(d.cands) == 0 {
		// No format starts like this: the bytes so far were the start of a line,
		// or else noise; b may begin something else.
		if d.c.line != nil {
			d.st = stLine
			d.fixed = nil
			d.lineByte(b)
			return
		}
		d.noise += len(d.buf)
		d.toIdle()
		d.idleByte(b)
		return
	}
	d.buf = append(d.buf, b)
	d.checkCommit()
	if d.fixed != nil || d.st != stFrame {
		return
	}
	// Only stx-etx candidates (and fixed ones still matching start bytes) remain.
	var done []*format
	alive = d.cands[:0]
	tooLong := 0
	past := 0 // stx-etx candidates past their start bytes
	var unprintable *format
	for _, f := range d.cands {
		if f.framing != FramingSTXETX || len(d.buf) <= len(f.start) {
			alive = append(alive, f)
			continue
		}
		past++
		switch {
		case len(d.buf) >= len(f.start)+len(f.end) && bytes.HasSuffix(d.buf, f.end):
			done = append(done, f)
		case d.isStarter(b):
			// handled below: a start byte inside a frame starts a new frame
		case !printable(b) && bytes.IndexByte(f.end, b) < 0:
			// A stx-etx frame's content is ASCII: this is not such a frame.
			if unprintable == nil {
				unprintable = f
			}
			continue
		case len(d.buf)-len(f.start) > f.maxLength+len(f.end)-1:
			tooLong++
		}
		alive = append(alive, f)
	}
	d.cands = alive
	if len(done) > 0 {
		d.finishSTXETX(done)
		return
	}
	if past > 0 && d.isStarter(b) {
		d.reject(RejectPartial + ": cut by a new start byte")
		d.toIdle()
		d.beginFrame(b)
		return
	}
	if len(d.cands) == 0 {
		d.reject(fmt.Sprintf("%s: byte %02X in a frame", RejectUnprintable, b))
		d.skip(unprintable.end)
		return
	}
	if past > 0 && tooLong == len(d.cands) {
		f := d.cands[0]
		d.reject(fmt.Sprintf("%s: frame over %d bytes", RejectTooLong, f.maxLength))
		d.skip(f.end)
	}
}

// skip discards bytes up to the end bytes given (or a start byte).
func (d *Decoder) skip(end []byte) {
	d.skipEnd = end
	d.st = stSkip
	d.skipLine = false
	d.buf = d.buf[:0]
}

func printable(b byte) bool { return b >= 0x20 && b <= 0x7e || b == '\t' }

func (d *Decoder) finishSTXETX(done []*format) {
	var first Frame
	for i, f := range done {
		content := d.buf[len(f.start) : len(d.buf)-len(f.end)]
		badge, reason, ignored := f.decode(content)
		if reason == "" && !ignored {
			d.out = append(d.out, Frame{Badge: badge})
			d.toIdle()
			return
		}
		if i == 0 {
			first = Frame{Reject: reason}
			if ignored {
				first = Frame{}
			}
		}
	}
	if first.Reject != "" {
		d.out = append(d.out, first)
	}
	d.toIdle()
}

func (d *Decoder) finishFixed() {
	f := d.fixed
	if !bytes.HasSuffix(d.buf, f.end) {
		d.reject(fmt.Sprintf("%s: got %02X", RejectBadEnd, d.buf[len(d.buf)-1]))
		// A frame cut short may be followed by a good one: decode again from
		// the next start byte (the bytes before it belong to the rejected frame).
		for i := 1; i < len(d.buf); i++ {
			if d.isStarter(d.buf[i]) {
				rest := append([]byte(nil), d.buf[i:]...)
				d.replay = append(rest, d.replay...)
				break
			}
		}
		d.toIdle()
		return
	}
	badge, reason, ignored := f.decode(d.buf)
	if !ignored {
		d.out = append(d.out, Frame{Badge: badge, Reject: reason})
	}
	d.toIdle()
}
