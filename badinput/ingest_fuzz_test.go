package badinput_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/db"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// FuzzIngest drives the hub's whole ingest path (docs/DESIGN.md §15, issue 12):
// one real hub (embedded broker, hub.db, SQLite store, live counts, HTTP)
// takes any sequence of topics and payloads through the entry its broker
// subscription calls, each message beside a good check-in of another
// device, so that they share batches. After each input:
//   - every good check-in is stored exactly once, and acknowledged;
//   - every other message is accounted for exactly once: stored, a
//     duplicate, a conflict, an accepted status, or one row in the
//     rejected table (the figures add up to the messages sent);
//   - nothing was logged at error level (the recording path logs there
//     when hub.db refuses a batch);
//   - the hub still answers /healthz and /api/v1/rejected.
//
// An input is messages separated by 0x1E; a message's first byte picks
// its topic (see ifzTopic), the rest is the payload, in which @S and @D
// stand for the fuzzed device's site and id, so mutations of a valid
// check-in stay close to valid.
func FuzzIngest(f *testing.F) {
	at := time.Now().Format(wire.AtLayout)
	valid := `{"v":1,"id":"X1","site":"@S","device":"@D","epoch":"E1","reader":"entree","seq":1,"badge":"0B00000001","service":"canteen","dir":"auto","at":"` + at + `"}`
	status := `{"v":1,"site":"@S","device":"@D","epoch":"E1","state":"online","at":"` + at + `","clock_synced":true,"last_seq":1,"outbox_pending":0,"oldest_pending_at":null,"readers":[]}`
	rs := "\x1e"
	for _, s := range []string{
		"\x00" + valid,
		"\x00",                               // zero-length check-in (was a lost batch)
		"\x01",                               // zero-length retained status
		"\x00" + valid + rs + "\x00" + valid, // a redelivery
		"\x00" + valid + rs + "\x00" + strings.Replace(valid, `"X1"`, `"X2"`, 1), // a conflict
		"\x00" + strings.Replace(valid, `"seq":1`, `"seq":1,"seq":2`, 1),
		"\x00" + strings.Replace(valid, `"seq":1`, `"seq":9007199254740993`, 1),
		"\x00" + strings.Replace(valid, `"seq":1`, `"seq":7`, 1), // leaves a gap
		"\x01" + status,
		// Statuses holding more than the hub received (docs/DESIGN.md §13):
		// the hub asks for it, and counts nothing it has not received.
		"\x01" + strings.Replace(status, `"last_seq":1`, `"last_seq":9007199254740991`, 1),
		"\x01" + strings.Replace(status, `"last_seq":1,"outbox_pending":0`, `"last_seq":5,"outbox_pending":9`, 1),
		"\x00" + valid + rs + "\x01" + strings.Replace(status, `"last_seq":1`, `"last_seq":40`, 1),
		"\x01" + strings.Replace(status, `"state":"online"`, `"state":"online","state":"offline"`, 1),
		"\x02" + valid, // on the good device's topic: a mismatch
		"\x03" + `{"v":1,"epoch":"E1","stored_through":5}`, // an ack published by a device
		"\x04" + `{"v":1,"cmd":"resend","epoch":"E1","from_seq":1,"to_seq":9}`,
		"\x05pointage/v1/fz/@D/checkin " + valid,
		"\x05pointage/v1/FZ/x/checkin " + valid,
		"\x05pointage/v1/fz/@D/checkin/extra " + valid,
		"\x05 " + valid,
		"\x05pointage/v1/f\xffz/@D/checkin " + valid,
		"\x00" + strings.Replace(valid, "entree", "entr\xe9e", 1) + rs + "\x00null" + rs + "\x00[]" + rs + "\x00 \t",
		"\x00" + strings.Replace(valid, `"0B00000001"`, strings.Repeat("[", 300)+strings.Repeat("]", 300), 1),
		"\x00" + strings.Replace(valid, `"X1"`, `"`+strings.Repeat("X", 5000)+`"`, 1),
	} {
		f.Add([]byte(s))
	}

	dir := testenv.FastDir(f) // fsyncs cost nothing there
	errs := &errorCounter{}
	h := startHub(f, dir, slog.New(errs), "")
	ctx := context.Background()
	hubDB, err := db.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { hubDB.Close() })
	storeDB, err := db.Open(ctx, filepath.Join(dir, "checkins.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { storeDB.Close() })
	// The good devices' ids cannot be guessed by the fuzzer, so it cannot
	// take their seqs first.
	var salt [4]byte
	rand.Read(salt[:])
	var inputs atomic.Int64

	f.Fuzz(func(t *testing.T, data []byte) {
		n := inputs.Add(1)
		fuzzDev := fmt.Sprintf("f%d", n)
		good := fmt.Sprintf("g%d-%s", n, hex.EncodeToString(salt[:]))
		var msgs [][2]string // topic, payload
		for i, rec := range bytes.Split(data, []byte{0x1e}) {
			if i == 16 { // enough to share a batch; a long input adds nothing
				break
			}
			rec = bytes.ReplaceAll(bytes.ReplaceAll(rec, []byte("@S"), []byte("fz")), []byte("@D"), []byte(fuzzDev))
			topic, payload := ifzTopic(rec, fuzzDev, good)
			msgs = append(msgs, [2]string{topic, string(payload)})
		}
		before := ifzFigures(t, h, hubDB, storeDB, errs)
		in := h.Ingest()
		for i, m := range msgs {
			in.Handle(ifzGood(good, "E1", uint64(i+1), at))
			in.Handle(m[0], []byte(m[1]))
		}
		in.Handle(ifzGood(good, "E1", uint64(len(msgs)+1), at))
		// The last good one stored: its batch has been classified. A
		// sentinel in a later batch: that batch's rejections, statuses and
		// conflicts are recorded too.
		ifzWaitStored(t, storeDB, good, "E1", len(msgs)+1)
		in.Handle(ifzGood(good, "S", 1, at))
		ifzWaitStored(t, storeDB, good, "S", 1)
		after := ifzFigures(t, h, hubDB, storeDB, errs)

		// Every good check-in stored once, with its own id.
		rows, err := storeDB.Query(`SELECT seq, id FROM checkins WHERE device = ? AND epoch = 'E1' ORDER BY seq`, good)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []string
		for rows.Next() {
			var seq uint64
			var id string
			rows.Scan(&seq, &id)
			if id != ifzGoodID(good, "E1", seq) {
				t.Errorf("good check-in %d stored with id %q", seq, id)
			}
			seqs = append(seqs, strconv.FormatUint(seq, 10))
		}
		rows.Close()
		if len(seqs) != len(msgs)+1 || (len(seqs) > 0 && seqs[len(seqs)-1] != strconv.Itoa(len(msgs)+1)) {
			t.Fatalf("good check-ins stored: seqs %v, want 1..%d once each", seqs, len(msgs)+1)
		}
		for _, s := range in.Sequences() {
			if s.Device == good && s.Epoch == "E1" && s.StoredThrough != uint64(len(msgs)+1) {
				t.Errorf("good device stored_through %d, want %d", s.StoredThrough, len(msgs)+1)
			}
		}
		// Every other message accounted for exactly once.
		d := after.sub(before)
		d.stored -= int64(len(msgs)) + 2 // the good ones and the sentinel
		if sum := d.rejected + d.stored + d.duplicates + d.conflicts + d.statuses; sum != int64(len(msgs)) {
			t.Fatalf("%d messages sent beside the good ones; accounted for: %d rejected (%d rows), %d stored, %d duplicates, %d conflicts, %d statuses: %q",
				len(msgs), d.rejected, d.rows, d.stored, d.duplicates, d.conflicts, d.statuses, msgs)
		}
		if d.rows != d.rejected {
			t.Fatalf("%d rejections counted, %d rows in the rejected table: %q", d.rejected, d.rows, msgs)
		}
		if d.errors != 0 {
			t.Fatalf("%d errors logged: %s", d.errors, errs.last())
		}
	})
}

// ifzTopic returns the topic and payload of a record: its first byte picks
// the fuzzed device's checkin (0), status (1), ack (3) or cmd (4) topic,
// the good device's checkin topic (2), or (5 and above) the text up to the
// first space; an empty record is a zero-length check-in.
func ifzTopic(rec []byte, fuzzDev, good string) (string, []byte) {
	if len(rec) == 0 {
		return wire.DeviceTopic("", "fz", fuzzDev, wire.KindCheckIn), nil
	}
	sel, rest := rec[0], rec[1:]
	switch sel % 6 {
	case 0:
		return wire.DeviceTopic("", "fz", fuzzDev, wire.KindCheckIn), rest
	case 1:
		return wire.DeviceTopic("", "fz", fuzzDev, wire.KindStatus), rest
	case 2:
		return wire.DeviceTopic("", "fz", good, wire.KindCheckIn), rest
	case 3:
		return wire.DeviceTopic("", "fz", fuzzDev, wire.KindAck), rest
	case 4:
		return wire.DeviceTopic("", "fz", fuzzDev, wire.KindCmd), rest
	}
	topic, payload, _ := bytes.Cut(rest, []byte(" "))
	return string(topic), payload
}

func ifzGoodID(device, epoch string, seq uint64) string {
	return fmt.Sprintf("G-%s-%s-%d", device, epoch, seq)
}

func ifzGood(device, epoch string, seq uint64, at string) (string, []byte) {
	p, _ := wire.Encode(wire.CheckIn{V: 1, ID: ifzGoodID(device, epoch, seq), Site: "fz", Device: device, Epoch: epoch,
		Reader: "entree", Seq: seq, Badge: "0B000000AA", Service: "canteen", Dir: "auto", At: at})
	return wire.DeviceTopic("", "fz", device, wire.KindCheckIn), p
}

func ifzWaitStored(t *testing.T, storeDB *sql.DB, device, epoch string, seq int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := storeDB.QueryRow(`SELECT count(*) FROM checkins WHERE device = ? AND epoch = ? AND seq = ?`, device, epoch, seq).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("good check-in %s/%s/%d not stored within 20 s: ingest stalled", device, epoch, seq)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ifzCounts are the figures FuzzIngest accounts with.
type ifzCounts struct {
	rows, stored                                      int64 // in hub.db's rejected table; in the store
	rejected, duplicates, conflicts, statuses, errors int64 // from /metrics; logged
}

func (a ifzCounts) sub(b ifzCounts) ifzCounts {
	return ifzCounts{a.rows - b.rows, a.stored - b.stored, a.rejected - b.rejected, a.duplicates - b.duplicates,
		a.conflicts - b.conflicts, a.statuses - b.statuses, a.errors - b.errors}
}

var ifzMetricRe = regexp.MustCompile(`(?m)^(pointage_ingest_rejected_total|pointage_ingest_checkins_total|pointage_ingest_statuses_total)(?:\{(?:reason|result)="([a-z_]+)"\})? (\d+)$`)

// ifzFigures reads the counts, and checks on the way that the hub answers.
func ifzFigures(t *testing.T, h *hub.Hub, hubDB, storeDB *sql.DB, errs *errorCounter) ifzCounts {
	t.Helper()
	var c ifzCounts
	if err := hubDB.QueryRow(`SELECT count(*) FROM rejected`).Scan(&c.rows); err != nil {
		t.Fatal(err)
	}
	if err := storeDB.QueryRow(`SELECT count(*) FROM checkins`).Scan(&c.stored); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/healthz", "/api/v1/rejected?limit=5"} {
		resp, err := client.Get(h.HTTPURL() + path)
		if err != nil {
			t.Fatalf("the hub does not answer %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	resp, err := client.Get(h.HTTPURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range ifzMetricRe.FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseInt(m[3], 10, 64)
		switch {
		case m[1] == "pointage_ingest_rejected_total":
			c.rejected += v
		case m[1] == "pointage_ingest_statuses_total":
			c.statuses = v
		case m[2] == "duplicate":
			c.duplicates = v
		case m[2] == "conflict":
			c.conflicts = v
		}
	}
	c.errors = errs.n.Load()
	return c
}

// errorCounter is a slog handler that counts the records at error level
// and keeps the last one.
type errorCounter struct {
	n       atomic.Int64
	lastMsg atomic.Value
}

func (e *errorCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (e *errorCounter) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	e.lastMsg.Store(b.String())
	e.n.Add(1)
	return nil
}
func (e *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return e }
func (e *errorCounter) WithGroup(string) slog.Handler      { return e }
func (e *errorCounter) last() string {
	s, _ := e.lastMsg.Load().(string)
	return s
}
