package inbound

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// stream records resets; nothing else of network.Stream is used.
type stream struct {
	network.Stream
	reset atomic.Bool
}

func (s *stream) Reset() error { s.reset.Store(true); return nil }

func TestAdmitLimitsAndReleases(t *testing.T) {
	var in Streams
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

// Close resets what is open and refuses what comes; Wait returns once the
// handlers have.
func TestCloseResetsAndWaits(t *testing.T) {
	var in Streams
	open := &stream{}
	done, ok := in.Admit(open, nil, nil)
	if !ok {
		t.Fatal("refused with no limit")
	}
	in.Close()
	if !open.reset.Load() {
		t.Fatal("an open stream was not reset by Close")
	}
	late := &stream{}
	if _, ok := in.Admit(late, nil, nil); ok || !late.reset.Load() {
		t.Fatal("a stream admitted after Close")
	}
	waited := make(chan struct{})
	go func() {
		in.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		t.Fatal("Wait returned before the handler did")
	case <-time.After(50 * time.Millisecond):
	}
	done()
	<-waited
}
