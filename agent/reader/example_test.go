package reader_test

import (
	"fmt"
	"time"

	"pointage/agent/reader"
)

func ExampleDecoder() {
	profiles, err := reader.Builtin()
	if err != nil {
		panic(err)
	}
	dec, err := reader.NewDecoder(profiles["rdm6300"])
	if err != nil {
		panic(err)
	}
	now := time.Now()
	// A frame, a frame with a bad checksum, and half a frame.
	in := []byte("\x0213005D1DA5F6\x03\x0201026F6C3A3B\x03\x020B0012")
	for _, f := range dec.Feed(in, now) {
		fmt.Println(f)
	}
	// 100 ms without a byte: the half frame is dropped.
	for _, f := range dec.Tick(now.Add(150 * time.Millisecond)) {
		fmt.Println(f)
	}
	// Output:
	// 13005D1DA5
	// rejected: bad checksum: got 3B, want 3A
	// rejected: partial frame: no byte for 100 ms
}

func ExampleDebouncer() {
	d := reader.NewDebouncer(3 * time.Second)
	start := time.Now()
	// A card held on the reader repeats its frame every 200 ms.
	for i := 0; i < 5; i++ {
		fmt.Println(d.Accept("13005D1DA5", start.Add(time.Duration(i)*200*time.Millisecond)))
	}
	fmt.Println(d.Accept("13005D1DA5", start.Add(5*time.Second)))
	// Output:
	// true
	// false
	// false
	// false
	// false
	// true
}
