package hotpath_test

import (
	"fmt"
	"testing"
	"time"

	"pointage/agent/reader"
	"pointage/internal/scansim"
	"pointage/internal/wire"
)

func decoder(b *testing.B, profile string) *reader.Decoder {
	b.Helper()
	ps, err := reader.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	d, err := reader.NewDecoder(ps[profile])
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkDecodeFrame: one whole frame fed to a profile's decoder.
func BenchmarkDecodeFrame(b *testing.B) {
	for _, tc := range []struct{ profile, badge string }{
		{"rdm6300", "13005D1DA5"}, {"gwiot7941e", "0200B6D7B5"}, {"line-hex", "DEADBEEF"}, {"barcode", "ELEVE-000123"},
	} {
		b.Run(tc.profile, func(b *testing.B) {
			frame, err := scansim.Encode(tc.profile, tc.badge)
			if err != nil {
				b.Fatal(err)
			}
			d := decoder(b, tc.profile)
			now := time.Now()
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				now = now.Add(time.Second)
				if fs := d.Feed(frame, now); len(fs) != 1 || fs[0].Rejected() {
					b.Fatalf("%v", fs)
				}
			}
		})
	}
}

// BenchmarkDecodeFrameBytewise: the rdm6300 frame arriving one byte per read.
func BenchmarkDecodeFrameBytewise(b *testing.B) {
	frame, _ := scansim.Encode("rdm6300", "13005D1DA5")
	d := decoder(b, "rdm6300")
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		n := 0
		for j := range frame {
			now = now.Add(time.Millisecond)
			n += len(d.Feed(frame[j:j+1], now))
		}
		if n != 1 {
			b.Fatal(n)
		}
	}
}

func BenchmarkDebounce(b *testing.B) {
	d := reader.NewDebouncer(3 * time.Second)
	badges := make([]string, 600)
	for i := range badges {
		badges[i] = fmt.Sprintf("0A%08X", i)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now = now.Add(10 * time.Millisecond)
		d.Accept(badges[i%len(badges)], now)
	}
}

var sample = wire.CheckIn{V: 1, ID: "01JDQ3ZC8M6X3W5R2Y7T9K4B1N", Site: "jules-ferry", Device: "jf-cantine-1",
	Epoch: "01JDQ3Y0000000000000000000", Reader: "entree", Seq: 42, Badge: "0A00BC614E", Service: "canteen",
	Dir: "auto", At: "2026-11-28T11:32:05.123+11:00"}

// BenchmarkDecodeCheckIn: the hub's strict decoding and validation of one payload.
func BenchmarkDecodeCheckIn(b *testing.B) {
	p, err := wire.Encode(sample)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := wire.DecodeCheckIn(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCheckIn: the field checks alone, on a decoded check-in.
func BenchmarkValidateCheckIn(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := sample.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeCheckIn(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := wire.Encode(sample); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTopic(b *testing.B) {
	topic := wire.DeviceTopic("", "jules-ferry", "jf-cantine-1", wire.KindCheckIn)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := wire.ParseTopic("", topic); err != nil {
			b.Fatal(err)
		}
	}
}
