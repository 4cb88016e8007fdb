// Package inbound keeps the streams a protocol's handler is serving. A
// peer may hold a stream open until an idle timeout runs out; a service
// that closes resets them instead, so that it ends at once, and waits for
// their handlers.
package inbound

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
)

// Streams is the set of streams being served. The zero value is ready.
type Streams struct {
	mu     sync.Mutex
	closed bool
	open   map[network.Stream]struct{}
	wg     sync.WaitGroup
}

// Admit takes st for serving unless Close was called or admit refuses it.
// admit (nil: take it) sees how many streams are open and runs under the
// set's lock, so the limits it checks and the counts it keeps stay right;
// release (nil: nothing) undoes those counts, under the same lock, when
// the handler calls done. A stream not taken is reset.
func (s *Streams) Admit(st network.Stream, admit func(open int) bool, release func()) (done func(), ok bool) {
	s.mu.Lock()
	if s.closed || admit != nil && !admit(len(s.open)) {
		s.mu.Unlock()
		_ = st.Reset()
		return nil, false
	}
	if s.open == nil {
		s.open = make(map[network.Stream]struct{})
	}
	s.open[st] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		delete(s.open, st)
		if release != nil {
			release()
		}
		s.mu.Unlock()
		s.wg.Done()
	}), true
}

// Close refuses new streams and resets the open ones, whose handlers then
// return; Wait waits for them.
func (s *Streams) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for st := range s.open {
		_ = st.Reset()
	}
}

// Wait returns once every admitted stream's handler has called done.
func (s *Streams) Wait() { s.wg.Wait() }
