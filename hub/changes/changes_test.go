package changes

import (
	"testing"

	"pointage/hub/store"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestFeed(t *testing.T) {
	f := New()
	var got []string
	f.OnStored(func(evs []store.Event) {
		for _, e := range evs {
			got = append(got, e.ID)
		}
	})
	before := f.Changed()
	if closed(before) {
		t.Fatal("closed before any change")
	}
	f.Stored([]store.Event{{ID: "a"}, {ID: "b"}})
	if !closed(before) || len(got) != 2 || got[1] != "b" {
		t.Fatalf("after Stored: closed %v, events %v", closed(before), got)
	}
	next := f.Changed()
	if closed(next) {
		t.Fatal("the next channel is closed already")
	}
	f.Notify() // a status, a correction: no events
	if !closed(next) || len(got) != 2 {
		t.Fatalf("after Notify: closed %v, events %v", closed(next), got)
	}
}
