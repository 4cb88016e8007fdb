package node

import (
	"context"
	"sync"

	"github.com/parley-im/parley"
)

// subscriberBuffer is how many events a subscriber may fall behind before
// it is cut off. Cutting a slow reader off (its channel closes) keeps the
// node from ever blocking on a UI that stopped reading.
const subscriberBuffer = 1024

// hub fans events out to subscribers.
type hub struct {
	mu     sync.Mutex
	subs   map[chan parley.Event]struct{} // guarded by mu
	closed bool                           // guarded by mu
}

func newHub() *hub { return &hub{subs: make(map[chan parley.Event]struct{})} }

// publish never blocks.
func (h *hub) publish(e parley.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// subscribe returns a channel of events that closes when ctx ends, when the
// subscriber falls too far behind, or when the node closes.
func (h *hub) subscribe(ctx context.Context) <-chan parley.Event {
	ch := make(chan parley.Event, subscriberBuffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch
	}
	h.subs[ch] = struct{}{}
	context.AfterFunc(ctx, func() { h.unsubscribe(ch) })
	return ch
}

func (h *hub) unsubscribe(ch chan parley.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
