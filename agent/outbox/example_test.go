package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"pointage/agent/outbox"
)

func Example() {
	dir, err := os.MkdirTemp("", "outbox-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	o, err := outbox.Open(outbox.Options{Path: filepath.Join(dir, "outbox.db")})
	if err != nil {
		panic(err)
	}
	defer o.Close()

	// On each accepted scan: store first, then give the reader's feedback.
	noumea := time.FixedZone("NCT", 11*3600)
	for i, badge := range []string{"0A00BC614E", "0A00BC614F", "0A00BC6150"} {
		ev, err := o.Append(ctx, outbox.Scan{Reader: "entree", Badge: badge, Service: "canteen", Dir: "auto",
			At: time.Date(2026, 11, 28, 11, 32, i, 123_456_789, noumea)})
		if err != nil {
			fmt.Println("refuse the scan:", err)
			continue
		}
		fmt.Println("accepted", ev.Seq, ev.At.Format("2006-01-02T15:04:05.000Z07:00"))
	}

	// The publisher sends what is pending; the hub's Ack covers 1 and 2.
	pending, _ := o.Pending(ctx, 0, 100)
	seqs := make([]uint64, 0, len(pending))
	for _, ev := range pending {
		seqs = append(seqs, ev.Seq)
	}
	_ = o.MarkPublished(ctx, seqs, time.Now())
	_, _ = o.Ack(ctx, o.Epoch(), 2)

	st, _ := o.Stats(ctx)
	fmt.Println("last_seq", st.LastSeq, "pending", st.Pending, "acked_through", st.AckedThrough)
	// Output:
	// accepted 1 2026-11-28T11:32:00.123+11:00
	// accepted 2 2026-11-28T11:32:01.123+11:00
	// accepted 3 2026-11-28T11:32:02.123+11:00
	// last_seq 3 pending 1 acked_through 2
}
