package reader

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"pointage/internal/scansim"
)

// The decoder reads back what the simulator sends for each built-in profile.
func TestScansimRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randHex := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return strings.ToUpper(hex.EncodeToString(b))
	}
	gen := map[string]func() string{
		"rdm6300":         func() string { return randHex(5) },
		"gwiot7941e":      func() string { return randHex(5) },
		"line-hex":        func() string { return randHex([]int{4, 7, 10}[rng.IntN(3)]) },
		"wiegand26-ascii": func() string { return randHex(3) },
		"barcode": func() string {
			const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./$%+"
			b := make([]byte, 1+rng.IntN(40))
			for i := range b {
				b[i] = chars[rng.IntN(len(chars))]
			}
			return string(b)
		},
	}
	if got, want := len(gen), len(scansim.Profiles()); got != want {
		t.Fatalf("test covers %d profiles, scansim encodes %d", got, want)
	}
	for _, name := range scansim.Profiles() {
		t.Run(name, func(t *testing.T) {
			d := newTestDecoder(t, name)
			for i := 0; i < 200; i++ {
				badge := gen[name]()
				frame, err := scansim.Encode(name, badge)
				if err != nil {
					t.Fatal(err)
				}
				got := d.Feed(frame, t0)
				if len(got) != 1 || got[0].Badge != badge {
					t.Fatalf("Encode(%q) = % X decodes to %v", badge, frame, got)
				}
			}
		})
	}
}
