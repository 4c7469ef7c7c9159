package faults

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// A backup taken while devices publish as fast as the hub takes them is
// consistent (docs/DESIGN.md §13): every check-in its hub.db says is stored
// is in its store, and what it holds lies between what the live hub had
// stored when the backup started and when it ended.
func TestBackupUnderLoadIsConsistent(t *testing.T) {
	integration(t)
	h := newHub(t, hubOptions{})
	const site = "ecole-charge"
	devices := []string{"charge-1", "charge-2", "charge-3", "charge-4"}
	perDevice := pick(2500, 10000)
	for _, d := range devices {
		h.addDevice(site, d)
	}
	h.start()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(devices))
	for _, d := range devices {
		l, err := link.New(link.Options{URL: h.mqtt, ClientID: "agent-" + d, Username: d, Password: devicePass})
		if err != nil {
			t.Fatal(err)
		}
		l.Start()
		t.Cleanup(func() { l.Close("", nil) })
		testenv.WaitFor(t, 10*time.Second, d+" connected", l.Connected)
		wg.Add(1)
		go func() {
			defer wg.Done()
			const chunk = 50
			for from := 1; from <= perDevice && ctx.Err() == nil; from += chunk {
				msgs := make([]link.Outgoing, 0, chunk)
				for seq := from; seq < from+chunk && seq <= perDevice; seq++ {
					c := wire.CheckIn{V: 1, ID: fmt.Sprintf("ID-%s-%07d", d, seq), Site: site, Device: d, Epoch: "E1", Reader: "entree",
						Seq: uint64(seq), Badge: fmt.Sprintf("0A%08X", seq), Service: "canteen", Dir: "auto", At: time.Now().Format(wire.AtLayout)}
					b, _ := wire.Encode(c)
					msgs = append(msgs, link.Outgoing{Topic: wire.DeviceTopic("", site, d, wire.KindCheckIn), Payload: b})
				}
				if err := l.PublishAll(ctx, msgs); err != nil {
					errs <- fmt.Errorf("%s: %w", d, err)
					return
				}
			}
		}()
	}

	stored := func() (n uint64) {
		for _, d := range devices {
			n += h.device(d).StoredThrough
		}
		return n
	}
	// The backup is taken in the middle of the stream.
	testenv.WaitFor(t, 60*time.Second, "a quarter of the stream stored", func() bool { return stored() > uint64(len(devices)*perDevice/4) })
	backupFile := filepath.Join(t.TempDir(), "under-load.tar.gz")
	before := stored()
	began := time.Now()
	out := h.output("backup", "--data-dir", h.data, "--out", backupFile)
	took := time.Since(began)
	after := stored()
	t.Logf("backup under load in %s: %s", took.Round(time.Millisecond), strings.TrimSpace(out))
	if after >= uint64(len(devices)*perDevice) {
		t.Fatalf("the stream ended before the backup did (%d stored): the backup was not taken under load", after)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	h.output("restore", "--data-dir", restored, backupFile)
	handled := map[string]uint64{}
	var handledSum uint64
	q := func(path, query string, each func(*sql.Rows) error) {
		t.Helper()
		u := url.URL{Scheme: "file", Path: path, RawQuery: url.Values{"mode": {"ro"}}.Encode()}
		db, err := sql.Open("sqlite", u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	q(filepath.Join(restored, "hub.db"), `SELECT device, stored_through FROM sequences`, func(r *sql.Rows) error {
		var d string
		var n uint64
		err := r.Scan(&d, &n)
		handled[d] = n
		handledSum += n
		return err
	})
	inStore := map[string]map[uint64]bool{}
	var storeCount int
	q(filepath.Join(restored, "checkins.db"), `SELECT device, seq FROM checkins`, func(r *sql.Rows) error {
		var d string
		var seq uint64
		err := r.Scan(&d, &seq)
		if inStore[d] == nil {
			inStore[d] = map[uint64]bool{}
		}
		inStore[d][seq] = true
		storeCount++
		return err
	})
	for d, through := range handled {
		for seq := uint64(1); seq <= through; seq++ {
			if !inStore[d][seq] {
				t.Fatalf("the backup's hub.db says %s is stored through %d, its store lacks seq %d", d, through, seq)
			}
		}
	}
	t.Logf("live hub stored %d when the backup started, %d when it ended; the backup's hub.db says %d, its store holds %d",
		before, after, handledSum, storeCount)
	if handledSum < before || handledSum > after {
		t.Fatalf("the backup's hub.db says %d stored, outside what the live hub had stored while it was taken (%d to %d)", handledSum, before, after)
	}
	// The store is copied after hub.db: it may hold what was in flight then,
	// never less than hub.db says, and not past what was stored at the end
	// by more than the batches in flight.
	if uint64(storeCount) < handledSum || uint64(storeCount) > after+uint64(len(devices))*2000 {
		t.Fatalf("the backup's store holds %d check-ins; its hub.db says %d, the live hub had %d at the end", storeCount, handledSum, after)
	}
}
