package reader

import (
	"reflect"
	"testing"
	"time"
)

// FuzzDecoder feeds arbitrary bytes to every built-in profile: no panic, every
// badge well formed and within the profile's cap, and the same frames whether the
// bytes come at once, one by one, or in two pieces.
func FuzzDecoder(f *testing.F) {
	seeds := [][]byte{
		[]byte(stx + "13005D1DA5F6" + etx),
		[]byte(stx + "13005D" + stx + "01026F6C3A3A" + etx + "\r\n"),
		h("02 0A 02 2E 00 B6 D7 B5 F2 03"),
		h("02 0A 02 2E 02 0A 02 2E 00 B6 D7 B5 F2 03"),
		[]byte("Card UID: DE AD BE EF\r\nDEADBEEF\n"),
		[]byte("  UID Value: 0xDE 0xAD 0xBE 0xEF\r\n"),
		[]byte("Wiegand HEX = 7BB26E, DECIMAL = 8106606, Type W26\r\n"),
		[]byte(stx + "7BB26E" + etx),
		[]byte("ELV-2026-0042\r\n" + stx + "abc" + etx),
		{0x00, 0xff, 0x02, 0x03, 0x0d, 0x0a},
	}
	for _, s := range seeds {
		f.Add(s, uint8(3))
	}
	all, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	type prof struct {
		name string
		c    *compiled
		max  int
	}
	var profs []prof
	for _, name := range Names(all) {
		c, err := compile(all[name])
		if err != nil {
			f.Fatal(err)
		}
		max := 0
		for _, ff := range c.formats {
			if n := ff.maxBadgeLen(); n > max {
				max = n
			}
		}
		profs = append(profs, prof{name, c, max})
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		for _, p := range profs {
			got := decodeAt(newDecoder(p.c), in)
			for _, fr := range got {
				if fr.Rejected() {
					if fr.Badge != "" {
						t.Fatalf("%s: rejected frame with a badge: %+v", p.name, fr)
					}
					continue
				}
				checkBadge(t, p.name, fr.Badge, p.max)
			}
			if byOne := decodeByteByByte(newDecoder(p.c), in); !reflect.DeepEqual(byOne, got) {
				t.Fatalf("%s: byte by byte %v, at once %v", p.name, byOne, got)
			}
			cut := int(split) % (len(in) + 1)
			d := newDecoder(p.c)
			two := append(d.Feed(in[:cut], t0), d.Feed(in[cut:], t0)...)
			two = append(two, d.Tick(t0.Add(time.Second))...)
			if !reflect.DeepEqual(two, got) {
				t.Fatalf("%s: in two pieces at %d %v, at once %v", p.name, cut, two, got)
			}
		}
	})
}

func checkBadge(t *testing.T, profile, badge string, max int) {
	t.Helper()
	if badge == "" || len(badge) > max || len(badge) > MaxBadgeLen {
		t.Fatalf("%s: badge %q: empty or longer than %d", profile, badge, max)
	}
	if profile == "barcode" {
		for i := 0; i < len(badge); i++ {
			c := badge[i]
			if c < 0x21 || c > 0x7e || ('a' <= c && c <= 'z') {
				t.Fatalf("%s: badge %q has byte %02X (want printable ASCII without spaces, uppercase)", profile, badge, c)
			}
		}
		return
	}
	if len(badge)%2 != 0 {
		t.Fatalf("%s: badge %q has an odd number of hex digits", profile, badge)
	}
	for i := 0; i < len(badge); i++ {
		c := badge[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			t.Fatalf("%s: badge %q is not uppercase hex", profile, badge)
		}
	}
}
