// Package lifetime ends a protocol service cleanly. A Protocol serves one
// libp2p protocol and counts what the service runs for it: the streams its
// handler serves and the work the service starts (couriers, sessions,
// downloads). Close refuses new streams and work, resets the open streams
// (a peer may otherwise hold one open until an idle timeout runs out),
// cancels the work's context and waits for all of it to return.
package lifetime

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol is the lifetime of one protocol's service.
type Protocol struct {
	host   host.Host
	ids    []protocol.ID
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool                        // guarded by mu
	open   map[network.Stream]struct{} // guarded by mu: streams being served
	wg     sync.WaitGroup              // admitted streams and begun work
}

// New returns the lifetime of protocol id on h (and of its other versions,
// served by the same handler); Serve starts serving it.
func New(h host.Host, id protocol.ID, versions ...protocol.ID) *Protocol {
	ctx, cancel := context.WithCancel(context.Background())
	return &Protocol{host: h, ids: append([]protocol.ID{id}, versions...), ctx: ctx, cancel: cancel, open: make(map[network.Stream]struct{})}
}

// Serve hands the protocol's streams to handler until Close. The handler
// takes each stream with Admit.
func (p *Protocol) Serve(handler network.StreamHandler) {
	for _, id := range p.ids {
		p.host.SetStreamHandler(id, handler)
	}
}

// Context is the work's context: Close cancels it.
func (p *Protocol) Context() context.Context { return p.ctx }

// Admit takes st for serving unless Close was called or admit refuses it.
// admit (nil: take it) sees how many streams are open and runs under the
// lifetime's lock, so the limits it checks and the counts it keeps stay
// right; release (nil: nothing) undoes those counts, under the same lock,
// when the handler calls done. A stream not taken is reset.
func (p *Protocol) Admit(st network.Stream, admit func(open int) bool, release func()) (done func(), ok bool) {
	p.mu.Lock()
	if p.closed || admit != nil && !admit(len(p.open)) {
		p.mu.Unlock()
		_ = st.Reset()
		return nil, false
	}
	p.open[st] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()
	return sync.OnceFunc(func() {
		p.mu.Lock()
		delete(p.open, st)
		if release != nil {
			release()
		}
		p.mu.Unlock()
		p.wg.Done()
	}), true
}

// Begin counts work the caller runs itself until it calls done, unless
// Close was called. The work should end when Context is cancelled.
func (p *Protocol) Begin() (done func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false
	}
	p.wg.Add(1)
	return sync.OnceFunc(p.wg.Done), true
}

// Go runs work in its own goroutine with the lifetime's context, unless
// Close was called (then it returns false and runs nothing).
func (p *Protocol) Go(work func(ctx context.Context)) bool {
	done, ok := p.Begin()
	if !ok {
		return false
	}
	go func() {
		defer done()
		work(p.ctx)
	}()
	return true
}

// Close stops serving the protocol, resets the open streams, cancels the
// work's context and waits for every handler and piece of work to return.
// Calls after the first return at once.
func (p *Protocol) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for st := range p.open {
		_ = st.Reset()
	}
	p.mu.Unlock()
	for _, id := range p.ids {
		p.host.RemoveStreamHandler(id)
	}
	p.cancel()
	p.wg.Wait()
}
