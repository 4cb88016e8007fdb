package localapi_test

import (
	"context"
	"sync"

	"github.com/parley-im/parley"
)

// fakeEvents is the fake node's event feed: tests publish the events.
type fakeEvents struct {
	mu   sync.Mutex
	subs []chan parley.Event // guarded by mu

	// subscribed receives one value per Subscribe call, so a test can
	// push an event only once the stream is listening.
	subscribed chan struct{}
	// dropped receives one value per subscription ended by its ctx.
	dropped chan struct{}
}

// Subscribe follows the node's contract: the channel closes when ctx ends
// (or when closeSubscribers cuts the reader off).
func (f *fakeEvents) Subscribe(ctx context.Context) <-chan parley.Event {
	ch := make(chan parley.Event, 16)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		if f.drop(ch) {
			f.dropped <- struct{}{}
		}
	})
	f.subscribed <- struct{}{}
	return ch
}

func (f *fakeEvents) drop(ch chan parley.Event) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.subs {
		if c == ch {
			f.subs = append(f.subs[:i], f.subs[i+1:]...)
			close(ch)
			return true
		}
	}
	return false
}

func (f *fakeEvents) publish(e parley.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		ch <- e
	}
}

// closeSubscribers ends every stream, as a node does when it stops.
func (f *fakeEvents) closeSubscribers() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		close(ch)
	}
	f.subs = nil
}
