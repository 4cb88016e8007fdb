package lifetime

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// fakeHost records that the handler was removed; nothing else of
// host.Host is used.
type fakeHost struct {
	host.Host
	removed atomic.Bool
}

func (h *fakeHost) RemoveStreamHandler(protocol.ID) { h.removed.Store(true) }

func newProtocol() (*Protocol, *fakeHost) {
	h := &fakeHost{}
	return New(h, "/test/1.0.0"), h
}

// stream records resets; nothing else of network.Stream is used.
type stream struct {
	network.Stream
	reset atomic.Bool
}

func (s *stream) Reset() error { s.reset.Store(true); return nil }

func TestAdmitLimitsAndReleases(t *testing.T) {
	in, _ := newProtocol()
	kept := 0
	admit := func(open int) bool {
		if open >= 2 {
			return false
		}
		kept++
		return true
	}
	release := func() { kept-- }
	a, b, c := &stream{}, &stream{}, &stream{}
	doneA, okA := in.Admit(a, admit, release)
	_, okB := in.Admit(b, admit, release)
	if !okA || !okB || kept != 2 {
		t.Fatalf("two streams under a limit of two: admitted %v %v, kept %d", okA, okB, kept)
	}
	if _, ok := in.Admit(c, admit, release); ok || !c.reset.Load() {
		t.Fatalf("a third over the limit: admitted %v, reset %v", ok, c.reset.Load())
	}
	doneA()
	doneA() // a second call changes nothing
	if kept != 1 {
		t.Fatalf("after one handler returned (twice): kept %d, want 1", kept)
	}
	if _, ok := in.Admit(c, admit, release); !ok {
		t.Fatal("a stream refused though a slot was free")
	}
}

// Close resets what is open, refuses what comes and returns once the
// handlers have.
func TestCloseResetsAndWaits(t *testing.T) {
	in, h := newProtocol()
	open := &stream{}
	done, ok := in.Admit(open, nil, nil)
	if !ok {
		t.Fatal("refused with no limit")
	}
	closed := make(chan struct{})
	go func() {
		in.Close()
		close(closed)
	}()
	waitFor(t, "Close to reset the open stream", open.reset.Load)
	late := &stream{}
	if _, ok := in.Admit(late, nil, nil); ok || !late.reset.Load() {
		t.Fatal("a stream admitted after Close")
	}
	select {
	case <-closed:
		t.Fatal("Close returned before the handler did")
	case <-time.After(50 * time.Millisecond):
	}
	done()
	<-closed
	if !h.removed.Load() {
		t.Fatal("Close left the stream handler set")
	}
}

// Close cancels the work's context and waits for the work; work begun
// after Close is refused.
func TestCloseEndsWork(t *testing.T) {
	in, _ := newProtocol()
	ended := make(chan struct{})
	if !in.Go(func(ctx context.Context) {
		<-ctx.Done()
		close(ended)
	}) {
		t.Fatal("work refused before Close")
	}
	in.Close()
	select {
	case <-ended:
	default:
		t.Fatal("Close returned before the work did")
	}
	if in.Go(func(context.Context) { t.Error("work ran after Close") }) {
		t.Fatal("Go accepted work after Close")
	}
	if _, ok := in.Begin(); ok {
		t.Fatal("Begin accepted work after Close")
	}
	in.Close() // a second Close returns at once
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
