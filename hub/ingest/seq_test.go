package ingest

import (
	"reflect"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		received    []uint64
		wantThrough uint64
		wantMissing []Range
	}{
		{"in order", []uint64{1, 2, 3}, 3, nil},
		{"out of order", []uint64{3, 1, 2}, 3, nil},
		{"one gap", []uint64{1, 2, 5}, 2, []Range{{3, 4}}},
		{"two gaps", []uint64{1, 3, 6, 7, 9}, 1, []Range{{2, 2}, {4, 5}, {8, 8}}},
		{"starts late", []uint64{4}, 0, []Range{{1, 3}}},
		{"duplicates", []uint64{1, 1, 2, 2}, 2, nil},
		{"gap filled", []uint64{1, 4, 2, 3}, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker("s")
			for i, s := range tt.received {
				tr.markReceived(s, t0.Add(time.Duration(i)*time.Second))
			}
			if tr.receivedThrough != tt.wantThrough {
				t.Errorf("receivedThrough = %d, want %d", tr.receivedThrough, tt.wantThrough)
			}
			if got := tr.missing(); !reflect.DeepEqual(got, tt.wantMissing) {
				t.Errorf("missing = %v, want %v", got, tt.wantMissing)
			}
			if (len(tt.wantMissing) == 0) != tr.gapSince.IsZero() {
				t.Errorf("gapSince = %v with missing %v", tr.gapSince, tt.wantMissing)
			}
		})
	}
}

func TestTrackerStored(t *testing.T) {
	tr := newTracker("s")
	for _, s := range []uint64{2, 3} {
		if tr.markStored(s) {
			t.Fatalf("storedThrough moved on %d before 1 was stored", s)
		}
	}
	if !tr.markStored(1) || tr.storedThrough != 3 || len(tr.stored) != 0 {
		t.Fatalf("storedThrough %d, above %v", tr.storedThrough, tr.stored)
	}
	if tr.markStored(2) {
		t.Fatal("an old seq moved storedThrough")
	}
}

// storedThroughWith tells where storedThrough would move, through stored
// seqs above a gap and new ones, without moving it.
func TestStoredThroughWith(t *testing.T) {
	tr := newTracker("s")
	for _, s := range []uint64{1, 2, 4, 5, 7} {
		tr.markStored(s)
	}
	for _, tc := range []struct {
		add  []uint64
		want uint64
	}{
		{nil, 2}, {[]uint64{6}, 2}, {[]uint64{3}, 5}, {[]uint64{3, 6}, 7}, {[]uint64{6, 3, 8}, 8}, {[]uint64{2}, 2},
	} {
		var seqs []seqID
		for _, s := range tc.add {
			seqs = append(seqs, seqID{seq: s})
		}
		if got := tr.storedThroughWith(seqs); got != tc.want {
			t.Errorf("with %v: %d, want %d", tc.add, got, tc.want)
		}
		if tr.storedThrough != 2 || len(tr.stored) != 3 {
			t.Fatalf("the tracker changed: through %d, %d above", tr.storedThrough, len(tr.stored))
		}
	}
}
