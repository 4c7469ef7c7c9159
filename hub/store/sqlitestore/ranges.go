package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"time"

	"pointage/hub/store"
	"pointage/internal/wire"
)

// A past day's events, read again, come from one row of range_events instead of the
// checkins table: the events of that exact range, encoded compactly (encodeEvents).
//
// Why: a city day is ~20,000 events; read from checkins each costs a seek from the
// index into the table, nine strings copied out of SQLite and a time parsed (210 ms
// for the city's day, 3.7 s for a month's export: docs/BENCHMARKS.md). The same day
// from its row is one read and a decode that shares the repeated strings (site,
// device, badge, …) between events. The read model reads a past day again after each
// change of its figures (a correction, the roster, the calendar), and the exports
// read every day of a month.
//
// Which ranges: those of every site (Query.Site and BadgeSuffixes unset), at most
// maxCachedRange long (a local day, 23 to 25 hours), already ended when read. Kept
// exact: a Write merges its events, in its transaction, into every row whose range
// holds one of their At (mergeRanges), and Purge deletes every row that begins before
// its limit; a read records the
// store's generation before it reads checkins and stores its row only if no Write
// or Purge has ended since (checked and stored under wmu, so none runs meanwhile).
//
// What it costs: the rows take ~40 bytes an event (a city day ~0.8 MB; the
// checkins table ~200); a Write does one indexed lookup that finds nothing (its
// events are recent, the rows' ranges past), and a late event of a past day a
// decode and an encode of that day's row.
//
// Not covered: a write that moves an event (same device, epoch and seq, another
// At) out of a kept range its batch does not touch leaves it in that range. The
// hub never does that (a redelivery has the same At; another event on a handled seq
// is a conflict, recorded in hub.db, not written).
const rangesSchema = `
CREATE TABLE IF NOT EXISTS range_events (
	to_ms   INTEGER NOT NULL,
	from_ms INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	data    BLOB    NOT NULL,
	PRIMARY KEY (to_ms, from_ms)
) WITHOUT ROWID;
`

const (
	maxCachedRange = 26 * time.Hour
	// to_ms > ? AND from_ms <= ?: the key's first column bounds the scan to the
	// rows ending after the batch's first event (none, for today's events).
	findRangesSQL  = `SELECT to_ms, from_ms, data FROM range_events WHERE to_ms > ? AND from_ms <= ?`
	purgeRangesSQL = `DELETE FROM range_events WHERE from_ms < ?`
	readRangeSQL   = `SELECT data FROM range_events WHERE to_ms = ? AND from_ms = ?`
	storeRangeSQL  = `INSERT OR REPLACE INTO range_events (to_ms, from_ms, n, data) VALUES (?, ?, ?, ?)`
)

// cacheable reports whether the range [from, to) (unix ms) of q is kept in
// range_events.
func cacheable(q store.Query, from, to int64, now time.Time) bool {
	return q.Site == "" && len(q.BadgeSuffixes) == 0 &&
		to-from <= maxCachedRange.Milliseconds() && to <= now.UnixMilli()
}

// cachedRange returns the events of [from, to) from range_events, ok false when
// the range has no row (or a damaged one, which is deleted and read again).
func (s *Store) cachedRange(ctx context.Context, from, to int64) (events []store.Event, ok bool, err error) {
	var data []byte
	switch err := s.db.QueryRowContext(ctx, readRangeSQL, to, from).Scan(&data); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	events, err = decodeEvents(data)
	if err != nil {
		s.log.Warn("a past day's kept events are damaged: read again from the check-ins", "from", time.UnixMilli(from).UTC(), "to", time.UnixMilli(to).UTC(), "err", err)
		s.wmu.Lock()
		_, derr := s.db.ExecContext(ctx, `DELETE FROM range_events WHERE to_ms = ? AND from_ms = ?`, to, from)
		s.wmu.Unlock()
		return nil, false, derr
	}
	return events, true, nil
}

// keepRange stores events as the row of [from, to), unless a Write or Purge ended
// since gen was read (the events may then miss some of its changes).
func (s *Store) keepRange(ctx context.Context, from, to int64, gen uint64, events []store.Event) error {
	data := encodeEvents(events)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.gen.Load() != gen {
		return nil
	}
	_, err := s.db.ExecContext(ctx, storeRangeSQL, to, from, len(events), data)
	return err
}

// eventsFormat is the first byte of a row's data: its version.
const eventsFormat = 1

// encodeEvents encodes events compactly: a dictionary of the strings that repeat
// (site, device, epoch, reader, badge, service, dir), the ids in one block, then
// per event its dictionary indexes and its times as varint deltas; a CRC-32 last.
func encodeEvents(events []store.Event) []byte {
	dict := map[string]uint64{}
	var words []string
	word := func(s string) uint64 {
		i, ok := dict[s]
		if !ok {
			i = uint64(len(words))
			dict[s] = i
			words = append(words, s)
		}
		return i
	}
	recs := make([]byte, 0, len(events)*16)
	ids := make([]byte, 0, len(events)*26)
	var prevAt int64
	for i := range events {
		e := &events[i]
		ids = append(ids, e.ID...)
		recs = binary.AppendUvarint(recs, uint64(len(e.ID)))
		for _, s := range [...]string{e.Site, e.Device, e.Epoch, e.Reader, e.Badge, string(e.Service), string(e.Dir)} {
			recs = binary.AppendUvarint(recs, word(s))
		}
		recs = binary.AppendUvarint(recs, e.Seq)
		at := e.At.UnixMilli()
		_, offset := e.At.Zone()
		recs = binary.AppendVarint(recs, at-prevAt)
		recs = binary.AppendVarint(recs, int64(offset))
		recs = binary.AppendVarint(recs, e.ReceivedAt.UnixMilli()-at)
		review := byte(0)
		if e.Review {
			review = 1
		}
		recs = append(recs, review)
		prevAt = at
	}
	out := make([]byte, 0, 16+len(ids)+len(recs)+len(words)*12)
	out = append(out, eventsFormat)
	out = binary.AppendUvarint(out, uint64(len(events)))
	out = binary.AppendUvarint(out, uint64(len(words)))
	for _, w := range words {
		out = binary.AppendUvarint(out, uint64(len(w)))
		out = append(out, w...)
	}
	out = binary.AppendUvarint(out, uint64(len(ids)))
	out = append(out, ids...)
	out = append(out, recs...)
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out))
}

// decodeEvents is encodeEvents' inverse. The events share their strings: the
// dictionary's, and one string holding every id. At gets the location time.Parse
// gives the stored RFC 3339 text (Local when the offset is Local's at that instant,
// else a fixed zone), so an event reads the same either way.
func decodeEvents(data []byte) ([]store.Event, error) {
	if len(data) < 5 {
		return nil, errors.New("too short")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("checksum mismatch")
	}
	r := reader{b: body}
	if v := r.byte(); v != eventsFormat {
		return nil, fmt.Errorf("format %d, want %d", v, eventsFormat)
	}
	n := r.uvarint()
	words := make([]string, r.count(r.uvarint()))
	for i := range words {
		words[i] = string(r.bytes(r.uvarint()))
	}
	ids := string(r.bytes(r.uvarint()))
	if r.err != nil {
		return nil, r.err
	}
	word := func() string {
		i := r.uvarint()
		if i >= uint64(len(words)) {
			r.fail("word %d of %d", i, len(words))
			return ""
		}
		return words[i]
	}
	zones := map[int]*time.Location{}
	events := make([]store.Event, r.count(n))
	var at int64
	idAt := 0
	for i := range events {
		e := &events[i]
		idLen := int(r.uvarint())
		if idLen < 0 || idLen > len(ids)-idAt {
			return nil, fmt.Errorf("event %d: id length %d", i, idLen)
		}
		e.ID, idAt = ids[idAt:idAt+idLen], idAt+idLen
		e.Site, e.Device, e.Epoch, e.Reader, e.Badge = word(), word(), word(), word(), word()
		e.Service, e.Dir = wire.Service(word()), wire.Dir(word())
		e.Seq = r.uvarint()
		at += r.varint()
		offset := int(r.varint())
		e.At = atIn(time.UnixMilli(at), offset, zones)
		e.ReceivedAt = time.UnixMilli(at + r.varint()).UTC()
		e.Review = r.byte() == 1
		if r.err != nil {
			return nil, fmt.Errorf("event %d: %w", i, r.err)
		}
	}
	if idAt != len(ids) || len(r.b) != 0 {
		return nil, errors.New("trailing data")
	}
	return events, nil
}

// atIn is t in the location time.Parse gives the stored text of a time with that
// offset: UTC for "Z" (offset 0), Local when Local had that offset then, else an
// unnamed fixed zone.
func atIn(t time.Time, offset int, zones map[int]*time.Location) time.Time {
	if offset == 0 {
		return t.UTC()
	}
	if _, local := t.In(time.Local).Zone(); local == offset {
		return t.In(time.Local)
	}
	loc := zones[offset]
	if loc == nil {
		loc = time.FixedZone("", offset)
		zones[offset] = loc
	}
	return t.In(loc)
}

// reader reads encodeEvents' data; the first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	r.skip(k)
	return v
}

func (r *reader) varint() int64 {
	v, k := binary.Varint(r.b)
	r.skip(k)
	return v
}

// skip passes a varint of k bytes (k <= 0: none could be read, and its value is 0).
func (r *reader) skip(k int) {
	if k <= 0 {
		r.fail("truncated varint")
		return
	}
	r.b = r.b[k:]
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail("truncated: %d bytes wanted, %d left", n, len(r.b))
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// count bounds a length read from data by what data could hold (each item takes at
// least a byte), so a damaged length cannot make a huge allocation.
func (r *reader) count(n uint64) int {
	if n > uint64(len(r.b)) {
		r.fail("count %d beyond the data", n)
		return 0
	}
	return int(n)
}

// mergeRanges puts events, being written in the writer's transaction, into the kept
// ranges that hold one of their At: each such row is decoded, the events merged in
// as the upsert does (one with the same device, epoch and seq replaced, wherever it
// was in the range), sorted as a read orders them, and stored again. A late event
// of a past day then leaves its day as fast to read as before (decoding and encoding
// a city day take milliseconds; reading it from checkins, 300-400 ms). A damaged row
// is deleted (the next read rebuilds it). Today's events find no row: one indexed
// lookup that returns nothing.
func (w *writer) mergeRanges(ctx context.Context, events []store.Event) error {
	first, last := events[0].At.UnixMilli(), events[0].At.UnixMilli()
	for i := range events {
		at := events[i].At.UnixMilli()
		first, last = min(first, at), max(last, at)
	}
	if w.findRanges == nil {
		var err error
		if w.findRanges, err = w.conn.PrepareContext(ctx, findRangesSQL); err != nil {
			return err
		}
	}
	type kept struct {
		to, from int64
		data     []byte
	}
	var rows []kept
	rs, err := w.findRanges.QueryContext(ctx, first, last)
	if err != nil {
		return err
	}
	for rs.Next() {
		var k kept
		if err := rs.Scan(&k.to, &k.from, &k.data); err != nil {
			rs.Close()
			return err
		}
		rows = append(rows, k)
	}
	if err := rs.Close(); err != nil {
		return err
	}
	for _, k := range rows {
		old, err := decodeEvents(k.data)
		if err != nil {
			if _, err := w.conn.ExecContext(ctx, `DELETE FROM range_events WHERE to_ms = ? AND from_ms = ?`, k.to, k.from); err != nil {
				return err
			}
			continue
		}
		merged := mergeEvents(old, events, k.from, k.to)
		if _, err := w.conn.ExecContext(ctx, storeRangeSQL, k.to, k.from, len(merged), encodeEvents(merged)); err != nil {
			return err
		}
	}
	return nil
}

// eventKey is the check-ins table's key: what the upsert replaces on.
type eventKey struct {
	device, epoch string
	seq           uint64
}

// mergeEvents returns a range's events (from, to in unix ms) with the written ones
// in: an event written replaces the range's one with its key (and leaves the range
// if its At is outside it now), and each is as a read from checkins returns it (At
// through its stored text, ReceivedAt in whole milliseconds in UTC), in the read's
// order: at_utc_ms, device, seq, epoch.
func mergeEvents(old, written []store.Event, from, to int64) []store.Event {
	latest := make(map[eventKey]int, len(written)) // the last write of a key wins, as in the transaction
	for i := range written {
		e := &written[i]
		latest[eventKey{e.Device, e.Epoch, e.Seq}] = i
	}
	out := make([]store.Event, 0, len(old)+len(written))
	for _, e := range old {
		if _, ok := latest[eventKey{e.Device, e.Epoch, e.Seq}]; !ok {
			out = append(out, e)
		}
	}
	for i := range written {
		e := written[i]
		if latest[eventKey{e.Device, e.Epoch, e.Seq}] != i {
			continue
		}
		if at := e.At.UnixMilli(); at < from || at >= to {
			continue
		}
		at, err := time.Parse(time.RFC3339, e.At.Format(atLayout))
		if err != nil { // a time the table could not hold either: Write's insert refused it
			continue
		}
		e.At, e.ReceivedAt = at, time.UnixMilli(e.ReceivedAt.UnixMilli()).UTC()
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b store.Event) int {
		return cmp.Or(cmp.Compare(a.At.UnixMilli(), b.At.UnixMilli()), strings.Compare(a.Device, b.Device),
			cmp.Compare(int64(a.Seq), int64(b.Seq)), strings.Compare(a.Epoch, b.Epoch)) // seq is an INTEGER column
	})
	return out
}
