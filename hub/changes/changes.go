// Package changes is the hub's one broadcast of changes to its figures.
// The ingest writer hands it the events it stored and says when a status
// arrived; a recorded correction says so too. The read model's live tally
// takes the stored events (OnStored), and whoever shows figures (the live
// stream, the day cache) waits on Changed.
package changes

import (
	"sync"

	"pointage/hub/store"
)

// Feed broadcasts changes. The zero Feed is not usable: use New.
type Feed struct {
	mu      sync.Mutex
	changed chan struct{} // closed at the next change, then replaced
	stored  []func([]store.Event)
}

// New returns a Feed.
func New() *Feed { return &Feed{changed: make(chan struct{})} }

// OnStored registers fn to receive every batch of events just stored,
// from the ingest writer's goroutine, before Changed is closed; fn must
// not block. Register before the writer starts.
func (f *Feed) OnStored(fn func([]store.Event)) {
	f.mu.Lock()
	f.stored = append(f.stored, fn)
	f.mu.Unlock()
}

// Stored hands evs to the OnStored functions, then notifies.
func (f *Feed) Stored(evs []store.Event) {
	if len(evs) > 0 {
		f.mu.Lock()
		fns := f.stored
		f.mu.Unlock()
		for _, fn := range fns {
			fn(evs)
		}
	}
	f.Notify()
}

// Notify closes the channel Changed returned: everyone waiting wakes.
func (f *Feed) Notify() {
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// Changed returns a channel closed at the next change.
func (f *Feed) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}
