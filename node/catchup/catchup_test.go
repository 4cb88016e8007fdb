package catchup

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

// wantSame fails unless a and b hold the same IDs under key.
func wantSame(t *testing.T, a, b *memLog, key [16]byte) {
	t.Helper()
	ia, ib := a.ids(&key), b.ids(&key)
	if !slices.Equal(ia, ib) {
		t.Fatalf("logs differ under key %x: %d and %d envelopes", key[0], len(ia), len(ib))
	}
}

func wantStats(t *testing.T, got Stats, sent, received, rejected int) {
	t.Helper()
	if got.Sent != sent || got.Received != received || got.Rejected != rejected {
		t.Fatalf("stats %+v, want sent %d, received %d, rejected %d", got, sent, received, rejected)
	}
}

func TestIdenticalSets(t *testing.T) {
	for _, n := range []int{0, 1, leafSize, 500, 5000} {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		envs := gen(rng, n, key1, 100, spread(0))
		a, b := newMemLog(key1), newMemLog(key1)
		a.add(envs...)
		b.add(envs...)
		pa, pb := pair(t, a, b)
		st, err := pa.sync(pb)
		if err != nil {
			t.Fatalf("%d items: %v", n, err)
		}
		wantStats(t, st, 0, 0, 0)
		if st.Rounds != 1 {
			t.Errorf("%d identical items took %d rounds, want 1", n, st.Rounds)
		}
		if st.BytesSent+st.BytesReceived > 4<<10 {
			t.Errorf("%d identical items cost %d bytes", n, st.BytesSent+st.BytesReceived)
		}
	}
}

func TestDisjointSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	a, b := newMemLog(key1), newMemLog(key1)
	a.add(gen(rng, 300, key1, 200, spread(0))...)
	b.add(gen(rng, 400, key1, 200, spread(150))...) // interleaved in time
	pa, pb := pair(t, a, b)
	st, err := pa.sync(pb)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, st, 300, 400, 0)
	wantSame(t, a, b, key1)
	if a.len() != 700 {
		t.Fatalf("%d envelopes after sync, want 700", a.len())
	}
	// A second session finds nothing to do.
	st, err = pb.sync(pa)
	if err != nil || st.Sent+st.Received != 0 || st.Rounds != 1 {
		t.Fatalf("second session: %+v, %v", st, err)
	}
}

// A few differences scattered over a long history cost a few fingerprints
// and leaves per difference, far less than listing the history.
func TestOverlappingSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	common := gen(rng, 20_000, key1, 100, spread(0))
	a, b := newMemLog(key1), newMemLog(key1)
	a.add(common...)
	b.add(common...)
	onlyA := gen(rng, 7, key1, 100, func(i int) parley.HLC { return base + parley.HLC(i*2861)<<16 + 1 })
	onlyB := gen(rng, 13, key1, 100, func(i int) parley.HLC { return base + parley.HLC(i*1531+7)<<16 + 1 })
	a.add(onlyA...)
	b.add(onlyB...)
	pa, pb := pair(t, a, b)
	st, err := pa.sync(pb)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, st, 7, 13, 0)
	wantSame(t, a, b, key1)
	total := st.BytesSent + st.BytesReceived
	t.Logf("20 differences in 20,000: %d bytes, %d rounds", total, st.Rounds)
	if history := int64(20_000 * 32); total > history/8 {
		t.Fatalf("the session cost %d bytes; listing the IDs alone costs %d", total, history)
	}
	if st.Rounds > 8 {
		t.Fatalf("%d rounds", st.Rounds)
	}
}

// A member with nothing gets 10,000 envelopes in a handful of frames, each
// under the frame limit; and the other way round.
func TestOneSideEmpty(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	envs := gen(rng, 10_000, key1, 300, spread(0))
	for _, initiatorEmpty := range []bool{true, false} {
		full, empty := newMemLog(key1), newMemLog(key1)
		full.add(envs...)
		pf, pe := pair(t, full, empty)
		var st Stats
		var err error
		if initiatorEmpty {
			st, err = pe.sync(pf)
			wantStats(t, st, 0, 10_000, 0)
		} else {
			st, err = pf.sync(pe)
			wantStats(t, st, 10_000, 0, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		wantSame(t, full, empty, key1)
		t.Logf("initiator empty %v: %d rounds, biggest frames %d and %d bytes", initiatorEmpty, st.Rounds, pf.maxFrame(), pe.maxFrame())
		// About 3 MB of envelopes at 1 MiB a frame, plus a few rounds of
		// ranges.
		if st.Rounds > 10 {
			t.Errorf("%d rounds", st.Rounds)
		}
		if m := max(pf.maxFrame(), pe.maxFrame()); m > envelopeBudget+64<<10 {
			t.Errorf("a frame of %d bytes", m)
		}
	}
}

// Envelopes sharing one HLC cannot be separated by a range boundary; they
// are listed together.
func TestManySharingOneHLC(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	same := func(int) parley.HLC { return base + 777<<16 }
	shared := gen(rng, 400, key1, 100, same)
	a, b := newMemLog(key1), newMemLog(key1)
	a.add(shared...)
	b.add(shared...)
	a.add(gen(rng, 300, key1, 100, same)...)
	b.add(gen(rng, 200, key1, 100, same)...)
	a.add(gen(rng, 500, key1, 100, spread(0))...)
	b.add(gen(rng, 100, key1, 100, spread(10))...)
	pa, pb := pair(t, a, b)
	st, err := pa.sync(pb)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, st, 800, 300, 0)
	wantSame(t, a, b, key1)
}

// Past maxRangeIDs envelopes on one HLC (only a member flooding one
// timestamp gets there), the session still ends cleanly, having moved the
// first maxRangeIDs.
func TestDenseHLCLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	a, b := newMemLog(key1), newMemLog(key1)
	a.add(gen(rng, maxRangeIDs+500, key1, 40, func(int) parley.HLC { return base })...)
	a.add(gen(rng, 100, key1, 40, spread(1))...)
	pa, pb := pair(t, a, b)
	for _, dir := range []struct {
		from, to *testPeer
		sent     bool
	}{{pa, pb, true}, {pb, pa, false}} {
		b.items, b.envs = nil, make(map[parley.EnvelopeID][]byte)
		st, err := dir.from.sync(dir.to)
		if err != nil {
			t.Fatal(err)
		}
		if b.len() != maxRangeIDs+100 {
			t.Fatalf("%d envelopes arrived, want %d", b.len(), maxRangeIDs+100)
		}
		if moved := max(st.Sent, st.Received); moved != maxRangeIDs+100 {
			t.Fatalf("stats %+v", st)
		}
	}
}

// Envelopes under a key one side lacks are neither sent, nor asked for, nor
// counted: Accept would reject them, and Rejected stays 0.
func TestOnlyCommonKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	a, b := newMemLog(key1, key2), newMemLog(key3, key1)
	shared := gen(rng, 50, key1, 100, spread(0))
	a.add(shared...)
	b.add(shared...)
	a.add(gen(rng, 60, key1, 100, spread(30))...)
	b.add(gen(rng, 70, key1, 100, spread(20))...)
	a.add(gen(rng, 500, key2, 100, spread(0))...)
	b.add(gen(rng, 400, key3, 100, spread(5))...)
	// b also holds envelopes under key2 without the key (relayed, say):
	// they are not part of what it shares.
	b.add(gen(rng, 30, key2, 100, spread(0))...)
	pa, pb := pair(t, a, b)
	st, err := pa.sync(pb)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, st, 60, 70, 0)
	wantSame(t, a, b, key1)
	if n := len(a.ids(&key2)); n != 500 {
		t.Fatalf("a holds %d envelopes under key2, want its own 500", n)
	}
	if n := len(b.ids(&key3)); n != 400 {
		t.Fatalf("b holds %d envelopes under key3, want its own 400", n)
	}
	// No key in common: nothing moves.
	c := newMemLog(key3)
	c.add(gen(rng, 10, key3, 100, spread(0))...)
	pc := newTestPeer(t)
	pc.setLog(conv, c)
	pa.h.Peerstore().AddAddrs(pc.h.ID(), pc.h.Addrs(), time.Hour)
	st, err = pa.sync(pc)
	if err != nil || st != (Stats{Rounds: 1, BytesSent: st.BytesSent, BytesReceived: st.BytesReceived}) {
		t.Fatalf("no common key: %+v, %v", st, err)
	}
}

func TestOpenRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	a, b := newMemLog(key1), newMemLog(key1)
	b.add(gen(rng, 10, key1, 100, spread(0))...)
	pa, pb := pair(t, a, b)

	pb.mu.Lock()
	pb.deny = parley.ErrNotMember
	pb.mu.Unlock()
	st, err := pa.sync(pb)
	if err == nil {
		t.Fatal("a refused session succeeded")
	}
	if st.Received != 0 || a.len() != 0 {
		t.Fatalf("a refused session moved envelopes: %+v", st)
	}

	pa.mu.Lock()
	pa.deny = parley.ErrNotMember
	pa.mu.Unlock()
	if _, err := pa.sync(pb); !errors.Is(err, parley.ErrNotMember) {
		t.Fatalf("our own Open refusing: %v", err)
	}
	if _, err := pa.svc.Sync(t.Context(), pa.h.ID(), conv); err == nil {
		t.Fatal("synced with ourselves")
	}
}

// A failure of our own store ends the session with its error, on either
// side.
func TestAcceptLocalError(t *testing.T) {
	errDisk := errors.New("disk on fire")
	for _, initiatorFails := range []bool{true, false} {
		rng := rand.New(rand.NewPCG(9, 9))
		a, b := newMemLog(key1), newMemLog(key1)
		a.add(gen(rng, 10, key1, 100, spread(0))...)
		b.add(gen(rng, 10, key1, 100, spread(5))...)
		pa, pb := pair(t, a, b)
		failing := map[bool]*memLog{true: a, false: b}[initiatorFails]
		failing.acceptErr = errDisk
		_, err := pa.sync(pb)
		if err == nil || (initiatorFails && !errors.Is(err, errDisk)) {
			t.Fatalf("Accept failing (initiator %v): %v", initiatorFails, err)
		}
		if initiatorFails && errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("our own failure blamed on the peer: %v", err)
		}
		if failing.len() != 10 {
			t.Fatalf("%d envelopes", failing.len())
		}
		failing.acceptErr = nil
		if _, err := pa.sync(pb); err != nil {
			t.Fatal(err)
		}
		wantSame(t, a, b, key1)
	}
}

// A few rejected envelopes are tolerated; a stream of them drops the peer.
func TestRejections(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	bad := func(env []byte) bool { return string(env[24:28]) == "bad!" }
	mark := func(envs [][]byte) [][]byte {
		for _, e := range envs {
			copy(e[24:], "bad!")
		}
		return envs
	}
	for _, tc := range []struct {
		bad    int
		wantOK bool
	}{{maxRejected, true}, {maxRejected + 1, false}, {200, false}} {
		a, b := newMemLog(key1), newMemLog(key1)
		a.reject = bad
		b.add(gen(rng, 100, key1, 100, spread(0))...)
		b.add(mark(gen(rng, tc.bad, key1, 100, spread(50)))...)
		pa, pb := pair(t, a, b)
		st, err := pa.sync(pb)
		if (err == nil) != tc.wantOK {
			t.Fatalf("%d bad envelopes: %v", tc.bad, err)
		}
		if !tc.wantOK && !errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("%d bad envelopes: %v", tc.bad, err)
		}
		if st.Rejected != tc.bad && tc.wantOK {
			t.Fatalf("%d bad envelopes: stats %+v", tc.bad, st)
		}
	}
}
