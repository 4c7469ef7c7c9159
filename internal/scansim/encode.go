package scansim

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// encoders, by built-in profile name.
var encoders = map[string]func(badge string) ([]byte, error){
	"rdm6300":         encodeRDM6300,
	"gwiot7941e":      encodeGwiot7941E,
	"line-hex":        encodeLineHex,
	"wiegand26-ascii": encodeWiegandBridge,
	"barcode":         encodeBarcode,
}

// Profiles returns the names of the profiles Encode knows, sorted.
func Profiles() []string {
	names := make([]string, 0, len(encoders))
	for n := range encoders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Encode returns the bytes a reader of the built-in profile sends when badge is
// presented once:
//
//   - rdm6300: STX, the 10 hex digits, 2 hex digits of XOR checksum, ETX
//     (badge: 10 hex digits).
//   - gwiot7941e: the 10-byte binary frame 02 0A 02 <hidden> SN0..SN3 BCC 03, type
//     02 (EM4100), badge = hidden byte + 4-byte serial (10 hex digits).
//   - line-hex: the hex digits and CRLF (badge: 4 to 10 bytes of hex).
//   - wiegand26-ascii: the Arduino bridge line "Wiegand HEX = 7BB26E, DECIMAL =
//     8106606, Type W26" and CRLF, the hex without leading zeros as the bridge
//     prints it (badge: a 24-bit code, 1 to 6 hex digits).
//   - barcode: the text and CRLF (badge: 1 to 64 printable ASCII characters, no
//     spaces, as the wire contract allows).
//
// Hex badges may be in any case; they are sent in uppercase.
func Encode(profileName, badge string) ([]byte, error) {
	enc, ok := encoders[profileName]
	if !ok {
		return nil, fmt.Errorf("scansim: no encoder for profile %q (have %s)", profileName, strings.Join(Profiles(), ", "))
	}
	b, err := enc(badge)
	if err != nil {
		return nil, fmt.Errorf("scansim: %s badge %q: %w", profileName, badge, err)
	}
	return b, nil
}

func hexBadge(badge string, minBytes, maxBytes int) ([]byte, error) {
	id, err := hex.DecodeString(badge)
	if err != nil {
		return nil, fmt.Errorf("not an even number of hex digits")
	}
	if len(id) < minBytes || len(id) > maxBytes {
		if minBytes == maxBytes {
			return nil, fmt.Errorf("want %d bytes, got %d", minBytes, len(id))
		}
		return nil, fmt.Errorf("want %d to %d bytes, got %d", minBytes, maxBytes, len(id))
	}
	return id, nil
}

func xor(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

func encodeRDM6300(badge string) ([]byte, error) {
	id, err := hexBadge(badge, 5, 5)
	if err != nil {
		return nil, err
	}
	frame := []byte{0x02}
	frame = append(frame, strings.ToUpper(hex.EncodeToString(id))...)
	frame = append(frame, strings.ToUpper(hex.EncodeToString([]byte{xor(id)}))...)
	return append(frame, 0x03), nil
}

func encodeGwiot7941E(badge string) ([]byte, error) {
	id, err := hexBadge(badge, 5, 5)
	if err != nil {
		return nil, err
	}
	frame := []byte{0x02, 0x0A, 0x02}
	frame = append(frame, id...)
	frame = append(frame, xor(frame[1:8]), 0x03)
	return frame, nil
}

func encodeLineHex(badge string) ([]byte, error) {
	id, err := hexBadge(badge, 4, 10)
	if err != nil {
		return nil, err
	}
	return []byte(strings.ToUpper(hex.EncodeToString(id)) + "\r\n"), nil
}

func encodeWiegandBridge(badge string) ([]byte, error) {
	if len(badge) == 0 || len(badge) > 6 {
		return nil, fmt.Errorf("want 1 to 6 hex digits (24 bits)")
	}
	v, err := strconv.ParseUint(badge, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("not hex")
	}
	return []byte(fmt.Sprintf("Wiegand HEX = %X, DECIMAL = %d, Type W26\r\n", v, v)), nil
}

func encodeBarcode(badge string) ([]byte, error) {
	if len(badge) == 0 || len(badge) > 64 {
		return nil, fmt.Errorf("want 1 to 64 characters")
	}
	for i := 0; i < len(badge); i++ {
		if badge[i] <= 0x20 || badge[i] > 0x7e {
			return nil, fmt.Errorf("byte %02X is not printable ASCII without spaces", badge[i])
		}
	}
	return []byte(badge + "\r\n"), nil
}

// Wiegand26 returns the 26 bits a Wiegand 26 reader sends for a facility code
// (0-255) and card number (0-65535): E FFFFFFFF CCCCCCCCCCCCCCCC O, E the even
// parity of the first 12 data bits, O the odd parity of the last 12. A UART bridge
// strips the parity bits and prints the 24-bit code facility<<16|card.
func Wiegand26(facility, card uint32) (uint32, error) {
	if facility > 0xFF || card > 0xFFFF {
		return 0, fmt.Errorf("scansim: facility %d or card %d out of range", facility, card)
	}
	data := facility<<16 | card
	ones := func(v uint32) int {
		n := 0
		for ; v != 0; v &= v - 1 {
			n++
		}
		return n
	}
	var even, odd uint32
	if ones(data>>12)%2 == 1 {
		even = 1
	}
	if ones(data&0xFFF)%2 == 0 {
		odd = 1
	}
	return even<<25 | data<<1 | odd, nil
}
