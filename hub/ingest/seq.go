package ingest

import (
	"sort"
	"time"
)

// Range is an inclusive range of seqs.
type Range struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// tracker is the sequence accounting of one (device, epoch): which seqs
// arrived and which are handled (stored or quarantined). Pure; the caller
// locks.
type tracker struct {
	site            string
	receivedThrough uint64              // every seq <= this has arrived
	received        map[uint64]struct{} // arrived, above receivedThrough
	storedThrough   uint64              // every seq <= this is handled
	stored          map[uint64]struct{} // handled, above storedThrough
	pending         map[uint64]string   // arrived, not yet handled: seq -> event id
	maxSeq          uint64
	gapSince        time.Time // when the lowest open gap was first seen
	lastResend      time.Time
	// held is what the agent's last status said it holds as acknowledged
	// (recovery.go); lastRecovery when the hub last asked for what it
	// lacks, recoveryArrival when an event at or below held last arrived.
	held            uint64
	lastRecovery    time.Time
	recoveryArrival time.Time
}

func newTracker(site string) *tracker {
	return &tracker{site: site, received: map[uint64]struct{}{}, stored: map[uint64]struct{}{}, pending: map[uint64]string{}}
}

// handled reports whether seq is stored or quarantined (or declared lost).
func (t *tracker) handled(seq uint64) bool {
	if seq <= t.storedThrough {
		return true
	}
	_, ok := t.stored[seq]
	return ok
}

// markReceived records an arrival; it returns true when receivedThrough moved.
func (t *tracker) markReceived(seq uint64, now time.Time) bool {
	if seq > t.maxSeq {
		t.maxSeq = seq
	}
	moved := advance(&t.receivedThrough, t.received, seq)
	if t.receivedThrough >= t.maxSeq {
		t.gapSince = time.Time{}
	} else if t.gapSince.IsZero() || moved {
		t.gapSince = now
	}
	return moved
}

// markStored records a handled seq; it returns true when storedThrough moved.
func (t *tracker) markStored(seq uint64) bool {
	return advance(&t.storedThrough, t.stored, seq)
}

// storedThroughWith is what storedThrough would become with seqs marked
// stored, without changing t: the contiguous run above storedThrough
// through the stored seqs and the new ones. It costs the length of that run,
// not the size of the stored set (which holds every seq above a gap that
// stays open).
func (t *tracker) storedThroughWith(seqs []seqID) uint64 {
	added := make(map[uint64]struct{}, len(seqs))
	for _, s := range seqs {
		added[s.seq] = struct{}{}
	}
	through := t.storedThrough
	for {
		_, stored := t.stored[through+1]
		_, isNew := added[through+1]
		if !stored && !isNew {
			return through
		}
		through++
	}
}

func advance(through *uint64, above map[uint64]struct{}, seq uint64) bool {
	if seq <= *through {
		return false
	}
	if seq != *through+1 {
		above[seq] = struct{}{}
		return false
	}
	*through = seq
	for {
		if _, ok := above[*through+1]; !ok {
			return true
		}
		delete(above, *through+1)
		*through++
	}
}

// missing lists the seqs that have not arrived between the contiguous part
// and the highest seq seen.
func (t *tracker) missing() []Range {
	if t.receivedThrough >= t.maxSeq {
		return nil
	}
	seqs := make([]uint64, 0, len(t.received))
	for s := range t.received {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var out []Range
	next := t.receivedThrough + 1
	for _, s := range seqs {
		if s > next {
			out = append(out, Range{From: next, To: s - 1})
		}
		next = s + 1
	}
	return out
}
