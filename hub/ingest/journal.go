package ingest

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// The handled journal remembers, per (device, epoch), the event id of every
// seq the hub has handled (stored or quarantined), so that a redelivery can
// be told from a conflict however late it comes. It holds one row per
// device, epoch and written batch — not one per event — because writing a
// row per event cost as much as the store write itself: a batch of 1,000
// check-ins of 20 devices is 20 rows.

// seqID is one handled seq and its event id.
type seqID struct {
	seq uint64
	id  string
}

// encodeSeqIDs packs a list as (uvarint seq, uvarint len(id), id)*.
func encodeSeqIDs(list []seqID) []byte {
	b := make([]byte, 0, len(list)*32)
	for _, s := range list {
		b = binary.AppendUvarint(b, s.seq)
		b = binary.AppendUvarint(b, uint64(len(s.id)))
		b = append(b, s.id...)
	}
	return b
}

var errBadJournal = errors.New("corrupt handled-journal row")

// decodeSeqIDs reverses encodeSeqIDs.
func decodeSeqIDs(b []byte) ([]seqID, error) {
	var out []seqID
	for len(b) > 0 {
		seq, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errBadJournal
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < size {
			return nil, errBadJournal
		}
		b = b[n:]
		out = append(out, seqID{seq: seq, id: string(b[:size])})
		b = b[size:]
	}
	return out, nil
}

// journalHandled records the handled seqs of one batch, one row per
// (device, epoch), inside the caller's transaction.
func journalHandled(ctx context.Context, tx *sql.Tx, groups map[seqKey][]seqID, now int64) error {
	for k, list := range groups {
		lo, hi := list[0].seq, list[0].seq
		for _, s := range list[1:] {
			lo, hi = min(lo, s.seq), max(hi, s.seq)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO handled (device, epoch, min_seq, max_seq, handled_at, ids) VALUES (?,?,?,?,?,?)`,
			k.device, k.epoch, int64(lo), int64(hi), now, encodeSeqIDs(list)); err != nil {
			return fmt.Errorf("journal handled events: %w", err)
		}
	}
	return nil
}

// handledIDs returns the event id the hub handled for each of keys, from
// the journal and, for quarantined events and those handled before the
// journal existed, the received table. A key missing from the answer was
// never handled here (a seq declared lost that arrives after all).
func (in *Ingest) handledIDs(ctx context.Context, keys []receivedKey) (map[receivedKey]string, error) {
	type span struct{ lo, hi uint64 }
	spans := map[seqKey]span{}
	for _, k := range keys {
		sk := seqKey{k.device, k.epoch}
		s, ok := spans[sk]
		if !ok {
			s = span{k.seq, k.seq}
		}
		spans[sk] = span{min(s.lo, k.seq), max(s.hi, k.seq)}
	}
	want := make(map[receivedKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	out := make(map[receivedKey]string, len(keys))
	// The lookups of one batch are read with one query per device and
	// epoch, over the journal rows that may hold them.
	for sk, s := range spans {
		if err := in.scanJournal(ctx, sk, s.lo, s.hi, func(e seqID) {
			k := receivedKey{sk.device, sk.epoch, e.seq}
			if want[k] {
				out[k] = e.id
			}
		}); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if _, ok := out[k]; ok {
			continue
		}
		var id string
		err := in.db.QueryRowContext(ctx, `SELECT id FROM received WHERE device=? AND epoch=? AND seq=? AND state != ?`,
			k.device, k.epoch, int64(k.seq), statePending).Scan(&id)
		switch {
		case err == nil:
			out[k] = id
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("look up a redelivered check-in: %w", err)
		}
	}
	return out, nil
}

// scanJournal calls f for every journaled seq of a device and epoch in the
// rows that may hold seqs in [lo, hi].
func (in *Ingest) scanJournal(ctx context.Context, k seqKey, lo, hi uint64, f func(seqID)) error {
	rows, err := in.db.QueryContext(ctx, `SELECT ids FROM handled WHERE device=? AND epoch=? AND max_seq >= ? AND min_seq <= ?`,
		k.device, k.epoch, int64(lo), int64(hi))
	if err != nil {
		return fmt.Errorf("read the handled journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var blob []byte
		if err := rows.Scan(&blob); err != nil {
			return fmt.Errorf("read the handled journal: %w", err)
		}
		list, err := decodeSeqIDs(blob)
		if err != nil {
			// A damaged row must not keep the hub from starting nor
			// stall ingest: its seqs count as not handled, so a
			// redelivery of one is written again (the store keeps one copy).
			in.log.Error("skipping a damaged row of the handled journal", "device", k.device, "epoch", k.epoch, "err", err)
			continue
		}
		for _, e := range list {
			if e.seq >= lo && e.seq <= hi {
				f(e)
			}
		}
	}
	return rows.Err()
}
