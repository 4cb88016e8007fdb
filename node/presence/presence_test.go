package presence_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/presence"
	"github.com/parley-im/parley/pb/presencepb"
)

func newHost(t *testing.T) host.Host {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// served is a presence service on its own host that counts what it takes.
type served struct {
	h      host.Host
	svc    *presence.Service
	typing atomic.Int32
	seen   atomic.Int32
}

func serve(t *testing.T, allowed func(peer.ID) bool) *served {
	s := &served{h: newHost(t)}
	svc, err := presence.New(presence.Config{Host: s.h, Allowed: allowed,
		OnTyping: func(peer.ID, bool) { s.typing.Add(1) }, OnSeen: func(peer.ID, bool) { s.seen.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(func() { svc.Close() })
	s.svc = svc
	return s
}

func sender(t *testing.T, to *served) *presence.Service {
	h := newHost(t)
	svc, err := presence.New(presence.Config{Host: h, Allowed: func(peer.ID) bool { return false },
		OnTyping: func(peer.ID, bool) {}, OnSeen: func(peer.ID, bool) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if err := h.Connect(context.Background(), peer.AddrInfo{ID: to.h.ID(), Addrs: to.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// A flood from one peer is cut to the burst: the rest is dropped unread,
// and the sender is told.
func TestReceiveFloodDropped(t *testing.T) {
	bob := serve(t, func(peer.ID) bool { return true })
	mallory := sender(t, bob)
	taken := 0
	for range 50 {
		if err := mallory.Send(context.Background(), bob.h.ID(), presence.TypingFrame(true)); err == nil {
			taken++
		}
	}
	if got := int(bob.typing.Load()); got != taken || taken > 12 || taken < 5 {
		t.Fatalf("of 50 frames sent at once, %d were taken and %d handled; want the burst (10, and a second's worth)", taken, got)
	}
}

// Frames from peers Allowed refuses are dropped unread.
func TestStrangerDropped(t *testing.T) {
	bob := serve(t, func(peer.ID) bool { return false })
	mallory := sender(t, bob)
	if err := mallory.Send(context.Background(), bob.h.ID(), presence.SeenFrame(true)); err == nil {
		t.Fatal("a refused frame was reported taken")
	}
	if bob.seen.Load() != 0 || bob.typing.Load() != 0 {
		t.Fatal("a stranger's frame was handled")
	}
}

// Send never dials: without a connection it fails at once.
func TestSendNeverDials(t *testing.T) {
	bob := serve(t, func(peer.ID) bool { return true })
	h := newHost(t)
	h.Peerstore().AddAddrs(bob.h.ID(), bob.h.Addrs(), time.Hour)
	svc, err := presence.New(presence.Config{Host: h, Allowed: func(peer.ID) bool { return true },
		OnTyping: func(peer.ID, bool) {}, OnSeen: func(peer.ID, bool) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Send(context.Background(), bob.h.ID(), presence.TypingFrame(true)); err != presence.ErrNotConnected {
		t.Fatalf("send without a connection: %v", err)
	}
	if len(h.Network().ConnsToPeer(bob.h.ID())) != 0 {
		t.Fatal("Send dialled")
	}
}

func TestDecode(t *testing.T) {
	enc := func(f *presencepb.Frame) []byte {
		b, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"typing", enc(presence.TypingFrame(true)), true},
		{"stopped", enc(presence.TypingFrame(false)), true},
		{"seen", enc(presence.SeenFrame(true)), true},
		{"empty typing submessage", []byte{0x0a, 0x00}, true},
		{"no kind", nil, false},
		{"unknown field only", []byte{0x18, 0x01}, false},
		{"garbage", []byte{0xff, 0xff, 0xff}, false},
		{"too long", make([]byte, presence.MaxFrameSize+1), false},
	} {
		_, err := presence.Decode(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x08, 0x01})
	f.Add([]byte{0x12, 0x02, 0x08, 0x01})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := presence.Decode(b)
		if err != nil {
			return
		}
		switch k := fr.Kind.(type) {
		case *presencepb.Frame_Typing:
			if k.Typing == nil {
				t.Fatal("a typing frame without its message")
			}
		case *presencepb.Frame_Seen:
			if k.Seen == nil {
				t.Fatal("a seen frame without its message")
			}
		default:
			t.Fatalf("decoded a frame of no known kind: %T", k)
		}
	})
}

// recorder collects what Typists reports.
type recorder struct {
	mu  sync.Mutex
	got []bool
	ch  chan bool
}

func (r *recorder) notify(_ parley.ConversationID, _ string, active bool) {
	r.mu.Lock()
	r.got = append(r.got, active)
	r.mu.Unlock()
	r.ch <- active
}

func TestTypistsExpireAndRefresh(t *testing.T) {
	r := &recorder{ch: make(chan bool, 16)}
	ty := presence.NewTypists(150*time.Millisecond, r.notify)
	defer ty.Close()
	var conv parley.ConversationID
	ty.Start(conv, "alice")
	if !<-r.ch {
		t.Fatal("start reported as a stop")
	}
	ty.Start(conv, "alice") // a refresh reports nothing
	if got := ty.Typing(conv); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("typing: %v", got)
	}
	select {
	case active := <-r.ch:
		if active {
			t.Fatal("a refresh was reported as a new start")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("typing never expired")
	}
	if got := ty.Typing(conv); len(got) != 0 {
		t.Fatalf("still typing after expiry: %v", got)
	}
	ty.Stop(conv, "alice") // not typing: nothing to report
	ty.Start(conv, "alice")
	ty.Stop(conv, "alice")
	if a, b := <-r.ch, <-r.ch; !a || b {
		t.Fatalf("start then stop reported %v, %v", a, b)
	}
}

func TestOutgoingRateLimit(t *testing.T) {
	o := presence.NewOutgoing()
	var conv parley.ConversationID
	now := time.Unix(1000, 0)
	steps := []struct {
		at     time.Duration
		active bool
		want   bool
	}{
		{0, false, false},                          // a stop with nothing to stop
		{0, true, true},                            // the first keystroke
		{time.Second, true, false},                 // within the interval
		{presence.TypingInterval, true, true},      // a refresh
		{presence.TypingInterval + 1, false, true}, // cleared
		{presence.TypingInterval + 2, false, false},
		{presence.TypingInterval + 3, true, true}, // typing again at once after a stop
	}
	for i, s := range steps {
		if got := o.Allow(conv, s.active, now.Add(s.at)); got != s.want {
			t.Errorf("step %d (%v at %v): %v, want %v", i, s.active, s.at, got, s.want)
		}
	}
	o.Sent(conv)
	if o.Allow(conv, false, now) {
		t.Error("a stop after a sent message went out")
	}
}
