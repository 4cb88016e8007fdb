package catchup

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/libp2p/go-msgio/pbio"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/catchup/pb"
)

// fuzzLog is the initiator's log in FuzzCheckMessage: 300 envelopes, three
// per HLC. Built once, copied for each input.
var fuzzLog = sync.OnceValue(func() *memLog {
	rng := rand.New(rand.NewPCG(31, 31))
	l := newMemLog(key1, key2)
	l.add(gen(rng, 300, key1, 60, func(i int) parley.HLC { return base + parley.HLC(i/3)<<16 })...)
	return l
})

func (l *memLog) clone() *memLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &memLog{keys: l.keys, items: slices.Clone(l.items), envs: maps.Clone(l.envs)}
}

// converse runs a whole session between two logs in memory, without a
// network, and returns the frames each side wrote, in order (the
// initiator's opening first). Every frame is checked by its receiver.
func converse(t testing.TB, ini, resp Log) (fromIni, fromResp []*pb.Message) {
	t.Helper()
	keys, _ := ini.KeyIDs()
	a := newSession(ini, "responder", true)
	a.startInitiator(keys)
	open := &pb.Message{ConversationId: conv[:]}
	for _, k := range keys {
		open.KeyIds = append(open.KeyIds, bytes.Clone(k[:]))
	}
	b := newSession(resp, "initiator", false)
	if err := checkMessage(open, &b.check); err != nil {
		t.Fatal(err)
	}
	ours, _ := resp.KeyIDs()
	m, err := b.startResponder(ours, open.KeyIds)
	if err != nil {
		t.Fatal(err)
	}
	fromIni, fromResp = []*pb.Message{open}, []*pb.Message{m}
	cur := a // the side about to read m
	for range 1000 {
		if err := checkMessage(m, &cur.check); err != nil {
			t.Fatalf("a side wrote an invalid frame: %v", err)
		}
		if err := cur.receive(m); err != nil {
			t.Fatal(err)
		}
		out, err := cur.next()
		if err != nil {
			t.Fatal(err)
		}
		if empty(m) && empty(out) {
			return fromIni, fromResp
		}
		if cur == a {
			fromIni = append(fromIni, out)
			cur = b
		} else {
			fromResp = append(fromResp, out)
			cur = a
		}
		m = out
	}
	t.Fatal("the session did not end")
	return nil, nil
}

// fuzzSeeds: an opening; a garbage frame; and what a responder sends to
// an initiator holding fuzzLog, over a whole session (so each frame is
// valid where the fuzz target applies it).
func fuzzSeeds(t testing.TB) [][]byte {
	rng := rand.New(rand.NewPCG(32, 32))
	other := newMemLog(key1)
	other.add(gen(rng, 200, key1, 60, func(i int) parley.HLC { return base + parley.HLC(i)<<15 })...)
	_, fromResp := converse(t, fuzzLog().clone(), other)
	var session []byte
	for _, m := range fromResp {
		session = append(session, encodeFrame(m)...)
	}
	return [][]byte{
		encodeFrame(&pb.Message{ConversationId: conv[:], KeyIds: [][]byte{key1[:], key2[:]}}),
		[]byte("not a frame"),
		session,
	}
}

// FuzzCheckMessage decodes arbitrary bytes as frames and checks each
// against the states a session can be in; a frame that passes is then
// applied to a live initiator session over fuzzLog, which answers it.
// Nothing may panic, and no answer may exceed the frame limit.
func FuzzCheckMessage(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		states := []*checkState{
			{opening: true},
			{pending: []asked{{span: span{0, 100}}, {span: span{100, 200}, ids: true}, {span: span{200, 0}}}},
		}
		ss := newSession(fuzzLog().clone(), "responder", true)
		ss.startInitiator([][16]byte{key1, key2})
		r := pbio.NewDelimitedReader(bytes.NewReader(data), maxFrameSize)
		for range 16 {
			m := new(pb.Message)
			if err := r.ReadMsg(m); err != nil {
				return // EOF, or a stream the peer would reset
			}
			for _, st := range states {
				_ = checkMessage(m, st)
			}
			if err := checkMessage(m, &ss.check); err != nil {
				return
			}
			if err := ss.receive(m); err != nil {
				return
			}
			out, err := ss.next()
			if err != nil {
				t.Fatalf("answering a valid frame: %v", err)
			}
			if size := frameSize(out); size > maxFrameSize {
				t.Fatalf("answer of %d bytes", size)
			}
		}
	})
}

// The in-memory driver agrees with the network: a session between two
// overlapping logs ends with both holding the union.
func TestConverseInMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 33))
	a, b := fuzzLog().clone(), newMemLog(key1)
	b.add(gen(rng, 200, key1, 60, func(i int) parley.HLC { return base + parley.HLC(i)<<15 })...)
	fromIni, fromResp := converse(t, a, b)
	wantSame(t, a, b, key1)
	if a.len() != 500 {
		t.Fatalf("%d envelopes", a.len())
	}
	t.Logf("%d frames from the initiator, %d from the responder", len(fromIni), len(fromResp))
}
