package catchup

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/catchup/pb"
)

// rawPeer speaks the protocol by hand over one stream, to play a peer
// that misbehaves.
type rawPeer struct {
	t  *testing.T
	st network.Stream
	r  pbio.Reader
}

func dialRaw(t *testing.T, from, to *testPeer) *rawPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	from.h.Peerstore().AddAddrs(to.h.ID(), to.h.Addrs(), time.Hour)
	st, err := from.h.NewStream(ctx, to.h.ID(), ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Reset() })
	_ = st.SetDeadline(time.Now().Add(20 * time.Second)) // a hung test fails, it does not hang
	return &rawPeer{t: t, st: st, r: pbio.NewDelimitedReader(st, maxFrameSize)}
}

func (p *rawPeer) writeRaw(b []byte) {
	p.t.Helper()
	if _, err := p.st.Write(b); err != nil && !errors.Is(err, network.ErrReset) {
		p.t.Fatal(err)
	}
}

// write sends a frame. A reset is not an error here: the service may
// refuse the stream before the frame is written, and the read or wantReset
// that follows tells whether that was right.
func (p *rawPeer) write(m *pb.Message) {
	p.t.Helper()
	if err := pbio.NewDelimitedWriter(p.st).WriteMsg(m); err != nil && !errors.Is(err, network.ErrReset) {
		p.t.Fatal(err)
	}
}

func (p *rawPeer) read() *pb.Message {
	p.t.Helper()
	m := new(pb.Message)
	if err := p.r.ReadMsg(m); err != nil {
		p.t.Fatalf("reading a frame: %v", err)
	}
	return m
}

// open writes an opening frame for conv with key1 and reads the answer.
func (p *rawPeer) open() *pb.Message {
	p.t.Helper()
	p.write(&pb.Message{ConversationId: conv[:], KeyIds: [][]byte{key1[:]}})
	return p.read()
}

// wantReset reads until the stream fails, and wants a reset, not an end.
func (p *rawPeer) wantReset() {
	p.t.Helper()
	for {
		if err := p.r.ReadMsg(new(pb.Message)); err != nil {
			if !errors.Is(err, network.ErrReset) {
				p.t.Fatalf("want the stream reset, got %v", err)
			}
			return
		}
	}
}

func encodeFrame(m *pb.Message) []byte {
	b, _ := proto.Marshal(m)
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// Whatever a peer sends that breaks the protocol resets the stream, before
// any envelope it carries is accepted.
func TestResponderResetsBadFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	good := testEnvelope(rng, base, key1, 100)
	badKey := gen(rng, maxRejected+1, key2, 100, spread(0))
	other := parley.ConversationID{0xee}
	for _, tc := range []struct {
		name    string
		opening bool // send a valid opening first
		send    []byte
		accepts int // Accept calls wanted
	}{
		{name: "garbage", send: []byte("this is not a frame at all")},
		{name: "oversized", send: binary.AppendUvarint(nil, maxFrameSize+1)},
		{name: "undecodable", send: append([]byte{5}, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{name: "short conversation ID", send: encodeFrame(&pb.Message{ConversationId: conv[:5]})},
		{name: "unknown conversation", send: encodeFrame(&pb.Message{ConversationId: other[:]})},
		{name: "envelopes in the opening", send: encodeFrame(&pb.Message{ConversationId: conv[:], Envelopes: [][]byte{good}})},
		{name: "answers more than asked", opening: true, send: encodeFrame(&pb.Message{Answered: 2, Envelopes: [][]byte{good}})},
		{name: "range answered with itself", opening: true, send: encodeFrame(&pb.Message{
			Answered:  1,
			Ranges:    []*pb.Range{{Mode: pb.Range_MODE_FINGERPRINT, Fingerprint: make([]byte, 32)}},
			Envelopes: [][]byte{good},
		})},
		{name: "range outside what was asked", opening: true, send: encodeFrame(&pb.Message{
			Ranges:    []*pb.Range{{Lo: 1, Hi: 2, Mode: pb.Range_MODE_IDS}},
			Envelopes: [][]byte{good},
		})},
		{name: "33-byte ID", opening: true, send: encodeFrame(&pb.Message{
			Answered:  1,
			Ranges:    []*pb.Range{{Mode: pb.Range_MODE_IDS, Count: 1, Ids: [][]byte{make([]byte, 33)}}},
			Envelopes: [][]byte{good},
		})},
		{name: "key IDs after the opening", opening: true, send: encodeFrame(&pb.Message{Answered: 1, KeyIds: [][]byte{key1[:]}})},
		{name: "too many rejected envelopes", opening: true, send: encodeFrame(&pb.Message{Answered: 1, Envelopes: badKey}), accepts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMemLog(key1)
			b.add(gen(rng, 10, key1, 100, spread(0))...)
			pa, pB := newTestPeer(t), newTestPeer(t)
			pB.setLog(conv, b)
			raw := dialRaw(t, pa, pB)
			if tc.opening {
				raw.open()
			}
			raw.writeRaw(tc.send)
			_ = raw.st.CloseWrite()
			raw.wantReset()
			if b.len() != 10 || b.accepted != tc.accepts {
				t.Fatalf("log holds %d envelopes after %d Accept calls", b.len(), b.accepted)
			}
		})
	}
}

// A responder that breaks the protocol fails Sync with ErrMalformed, and
// nothing it sent is accepted.
func TestInitiatorRejectsBadResponder(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	good := testEnvelope(rng, base, key1, 100)
	for _, tc := range []struct {
		name  string
		reply []byte
	}{
		{"envelopes in the first answer", encodeFrame(&pb.Message{Answered: 1, Ranges: []*pb.Range{{Mode: pb.Range_MODE_IDS}}, Envelopes: [][]byte{good}})},
		{"a key we did not offer", encodeFrame(&pb.Message{Answered: 1, KeyIds: [][]byte{key2[:]}, Ranges: []*pb.Range{{Mode: pb.Range_MODE_IDS}}})},
		{"no answer to the whole set", encodeFrame(&pb.Message{Answered: 1})},
		{"oversized", binary.AppendUvarint(nil, maxFrameSize+1)},
		{"undecodable", append([]byte{3}, 0xff, 0xff, 0xff)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newMemLog(key1)
			pa, pB := newTestPeer(t), newTestPeer(t)
			pa.setLog(conv, a)
			pB.h.SetStreamHandler(ID, func(st network.Stream) {
				defer st.Reset()
				if err := pbio.NewDelimitedReader(st, maxFrameSize).ReadMsg(new(pb.Message)); err != nil {
					return
				}
				_, _ = st.Write(tc.reply)
				_, _ = io.Copy(io.Discard, st) // until the initiator resets
			})
			pa.h.Peerstore().AddAddrs(pB.h.ID(), pB.h.Addrs(), time.Hour)
			_, err := pa.sync(pB)
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("want ErrMalformed, got %v", err)
			}
			if a.len() != 0 || a.accepted != 0 {
				t.Fatalf("accepted envelopes from a bad responder")
			}
		})
	}
}

// Close ends a Sync in progress promptly, with ErrClosed.
func TestCloseDuringOutboundSession(t *testing.T) {
	pa, pB := newTestPeer(t), newTestPeer(t)
	pa.setLog(conv, newMemLog(key1))
	started := make(chan struct{})
	pB.h.SetStreamHandler(ID, func(st network.Stream) {
		defer st.Reset()
		if err := pbio.NewDelimitedReader(st, maxFrameSize).ReadMsg(new(pb.Message)); err != nil {
			return
		}
		close(started)
		_, _ = io.Copy(io.Discard, st) // never answers
	})
	pa.h.Peerstore().AddAddrs(pB.h.ID(), pB.h.Addrs(), time.Hour)
	done := make(chan error, 1)
	go func() {
		_, err := pa.svc.Sync(context.Background(), pB.h.ID(), conv)
		done <- err
	}()
	<-started
	closed := make(chan struct{})
	go func() {
		pa.svc.Close()
		close(closed)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Sync returned %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync still running after Close")
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := pa.svc.Sync(context.Background(), pB.h.ID(), conv); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
}

// Close resets inbound sessions and returns without waiting for the peer.
func TestCloseDuringInboundSession(t *testing.T) {
	pa, pB := newTestPeer(t), newTestPeer(t)
	b := newMemLog(key1)
	b.add(gen(rand.New(rand.NewPCG(13, 13)), 100, key1, 100, spread(0))...)
	pB.setLog(conv, b)
	raw := dialRaw(t, pa, pB)
	raw.open() // the handler now waits for our next frame
	closed := make(chan struct{})
	go func() {
		pB.svc.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	raw.wantReset()
}

// Beyond maxSessionsPerPeer sessions at once, a peer is refused.
func TestInboundSessionLimit(t *testing.T) {
	pa, pB := newTestPeer(t), newTestPeer(t)
	pB.setLog(conv, newMemLog(key1))
	for range maxSessionsPerPeer {
		dialRaw(t, pa, pB).open() // served, and held open
	}
	extra := dialRaw(t, pa, pB)
	extra.write(&pb.Message{ConversationId: conv[:], KeyIds: [][]byte{key1[:]}})
	extra.wantReset()

	// Another peer is still served.
	pc := newTestPeer(t)
	if m := dialRaw(t, pc, pB).open(); len(m.Ranges) != 1 {
		t.Fatalf("answer %v", m)
	}
}
