package ingest

import (
	"time"

	"pointage/internal/wire"
)

// Recovery from the agents (docs/DESIGN.md §13). An agent keeps its
// acknowledged events for its retention, and its status tells what it
// holds as acknowledged: every seq up to last_seq - outbox_pending (the
// pending events are the unacknowledged tail, which it publishes again by
// itself). A hub that has not received all of those — restored from an
// older backup, or that lost its state some other way — asks for the ranges
// it lacks at once, whatever their age, and the device shows as recovering
// until they have all arrived.

// maxRecoveryRanges is the most ranges one status asks for; the rest are
// asked on a later status (the agent sends one at least every minute).
const maxRecoveryRanges = 16

// heldThrough is what an agent's status says it holds as acknowledged.
func heldThrough(s wire.Status) uint64 {
	if s.OutboxPending < 0 || uint64(s.OutboxPending) >= s.LastSeq {
		return 0
	}
	return s.LastSeq - uint64(s.OutboxPending)
}

// unreceived lists the ranges of seqs <= through that have not arrived:
// the gaps below the highest seq seen, and what lies above it.
func (t *tracker) unreceived(through uint64) []Range {
	var out []Range
	for _, r := range t.missing() {
		if r.From > through {
			break
		}
		out = append(out, Range{From: r.From, To: min(r.To, through)})
	}
	if top := max(t.maxSeq, t.receivedThrough); through > top {
		out = append(out, Range{From: top + 1, To: through})
	}
	return out
}

// recoveryMissing is how many seqs the agent holds as acknowledged that
// have not arrived: 0 once recovery is complete.
func (t *tracker) recoveryMissing() uint64 {
	if t.held <= t.receivedThrough {
		return 0
	}
	var n uint64
	for _, r := range t.unreceived(t.held) {
		n += r.To - r.From + 1
	}
	return n
}

// recover records what a device's online status says it holds and asks at
// once for what the hub lacks of it; again on a later status when none of
// it has arrived for ResendEvery (the answer was lost on the way).
func (in *Ingest) recover(s wire.Status, now time.Time) {
	held := heldThrough(s)
	k := seqKey{s.Device, s.Epoch}
	in.mu.Lock()
	tr := in.trackers[k]
	if tr == nil && held > 0 {
		tr = newTracker(s.Site) // a hub that knows nothing of this epoch
		in.trackers[k] = tr
	}
	var asks []Range
	if tr != nil && held > 0 {
		tr.held = max(tr.held, held)
		// The first ask goes at once; another only when the answer has
		// stopped coming (a range being sent is not asked for twice; new
		// check-ins above it do not count as an answer).
		due := tr.lastRecovery.IsZero() ||
			(now.Sub(tr.lastRecovery) >= in.opts.ResendEvery && now.Sub(tr.recoveryArrival) >= in.opts.ResendEvery)
		if gaps := tr.unreceived(tr.held); len(gaps) > 0 && due {
			tr.lastRecovery = now
			asks = gaps[:min(len(gaps), maxRecoveryRanges)]
		}
	}
	in.mu.Unlock()
	var missing uint64
	for _, r := range asks {
		missing += r.To - r.From + 1
		payload, _ := wire.Encode(wire.Command{V: wire.Version, Cmd: wire.CmdResend, Epoch: s.Epoch, FromSeq: r.From, ToSeq: r.To})
		if err := in.opts.Publisher.Publish(wire.DeviceTopic(in.opts.TopicRoot, s.Site, s.Device, wire.KindCmd), payload, false); err != nil {
			in.log.Warn("could not ask the agent for what the hub lacks", "device", s.Device, "err", err)
			return
		}
		in.metrics.resends.Inc()
		in.metrics.recoveries.Inc()
	}
	if len(asks) > 0 {
		in.log.Info("the agent holds acknowledged events this hub has not received: asked for them", "device", s.Device,
			"epoch", s.Epoch, "held_through", held, "ranges", len(asks), "from_seq", asks[0].From, "to_seq", asks[len(asks)-1].To, "events", missing)
	}
}
