package catchup

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/catchup/pb"
)

func fpRange(lo, hi uint64) *pb.Range {
	return &pb.Range{Lo: lo, Hi: hi, Mode: pb.Range_MODE_FINGERPRINT, Count: 3, Fingerprint: make([]byte, 32)}
}

func idsRange(lo, hi uint64, n int) *pb.Range {
	r := &pb.Range{Lo: lo, Hi: hi, Mode: pb.Range_MODE_IDS, Count: uint32(n)}
	for i := range n {
		r.Ids = append(r.Ids, make([]byte, 32))
		r.Ids[i][0] = byte(i)
	}
	return r
}

func TestCheckMessage(t *testing.T) {
	responderOpening := func() *checkState { return &checkState{opening: true} }
	initiatorOpening := func() *checkState {
		return &checkState{initiator: true, opening: true, keys: map[[16]byte]struct{}{key1: {}}, pending: []asked{{root: true}}}
	}
	// Mid-session: we asked about [0,100) by fingerprint, then [100,200)
	// by IDs and [200, ∞) by fingerprint; the peer answers from the end.
	mid := func() *checkState {
		return &checkState{pending: []asked{{span: span{0, 100}}, {span: span{100, 200}, ids: true}, {span: span{200, 0}}}}
	}
	id := make([]byte, 32)
	for _, tc := range []struct {
		name  string
		state func() *checkState
		m     *pb.Message
		err   string // "" if valid
	}{
		{"opening", responderOpening, &pb.Message{ConversationId: conv[:], KeyIds: [][]byte{key1[:], key2[:]}}, ""},
		{"opening without keys", responderOpening, &pb.Message{ConversationId: conv[:]}, ""},
		{"opening without conversation", responderOpening, &pb.Message{KeyIds: [][]byte{key1[:]}}, "conversation ID"},
		{"opening with a 15-byte key", responderOpening, &pb.Message{ConversationId: conv[:], KeyIds: [][]byte{key1[:15]}}, "key ID of 15"},
		{"opening with too many keys", responderOpening, &pb.Message{ConversationId: conv[:], KeyIds: make([][]byte, maxKeyIDs+1)}, "key IDs"},
		{"opening with a range", responderOpening, &pb.Message{ConversationId: conv[:], Ranges: []*pb.Range{fpRange(0, 0)}}, "only"},
		{"opening with a want", responderOpening, &pb.Message{ConversationId: conv[:], Want: [][]byte{id}}, "only"},

		{"first answer", initiatorOpening, &pb.Message{Answered: 1, KeyIds: [][]byte{key1[:]}, Ranges: []*pb.Range{fpRange(0, 0)}}, ""},
		{"first answer listing", initiatorOpening, &pb.Message{Answered: 1, Ranges: []*pb.Range{idsRange(0, 0, 3)}}, ""},
		{"first answer with a key not offered", initiatorOpening, &pb.Message{Answered: 1, KeyIds: [][]byte{key2[:]}, Ranges: []*pb.Range{fpRange(0, 0)}}, "did not offer"},
		{"first answer not over everything", initiatorOpening, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(0, 5)}}, "answered with 1"},
		{"first answer split", initiatorOpening, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(0, 5), fpRange(5, 0)}}, "one range"},
		{"first answer with a conversation", initiatorOpening, &pb.Message{ConversationId: conv[:], Answered: 1, Ranges: []*pb.Range{fpRange(0, 0)}}, "conversation ID"},

		{"nothing", mid, &pb.Message{}, ""},
		{"all matched", mid, &pb.Message{Answered: 3}, ""},
		{"answers more than open", mid, &pb.Message{Answered: 4}, "open"},
		{"split of the last", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(200, 300), fpRange(300, 0)}}, ""},
		{"listing of the last", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{idsRange(200, 0, 2)}}, ""},
		{"answers in order", mid, &pb.Message{Answered: 3, Ranges: []*pb.Range{
			idsRange(200, 0, 1), fpRange(100, 150), fpRange(150, 200), idsRange(0, 100, 0)}}, ""},
		{"answers out of order", mid, &pb.Message{Answered: 3, Ranges: []*pb.Range{idsRange(0, 100, 0), idsRange(200, 0, 1)}}, "answers nothing"},
		{"answer to a range not counted", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(100, 150), fpRange(150, 200)}}, "answers nothing"},
		{"range outside", mid, &pb.Message{Answered: 3, Ranges: []*pb.Range{idsRange(50, 150, 0)}}, "answers nothing"},
		{"fingerprint answered with itself", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(200, 0)}}, "with itself"},
		{"listing answered with a listing", mid, &pb.Message{Answered: 2, Ranges: []*pb.Range{idsRange(100, 200, 1)}}, "with itself"},
		{"split with a gap", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(200, 300), fpRange(301, 0)}}, "tile"},
		{"split not reaching the end", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(200, 300), fpRange(300, 400)}}, "tile"},
		{"split not from the start", mid, &pb.Message{Answered: 3, Ranges: []*pb.Range{fpRange(10, 50), fpRange(50, 100)}}, "tile"},
		{"split into listings", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{idsRange(200, 300, 1), idsRange(300, 0, 1)}}, "IDS"},
		{"split too fine", mid, &pb.Message{Answered: 1, Ranges: func() []*pb.Range {
			var rs []*pb.Range
			for i := range uint64(maxSplit + 1) {
				rs = append(rs, fpRange(200+i, 201+i))
			}
			rs[len(rs)-1].Hi = 0
			return rs
		}()}, "answered with 17"},
		{"inside but not tiling", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{idsRange(250, 260, 1)}}, "answered with 1"},
		{"empty range", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{fpRange(200, 200)}}, "empty range"},
		{"mode unspecified", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{{Lo: 200}}}, "mode"},
		{"fingerprint of 31 bytes", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{{Lo: 200, Mode: pb.Range_MODE_FINGERPRINT, Fingerprint: id[:31]}}}, "fingerprint"},
		{"fingerprint with IDs", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{{Lo: 200, Mode: pb.Range_MODE_FINGERPRINT, Fingerprint: id, Ids: [][]byte{id}}}}, "fingerprint"},
		{"listing with a fingerprint", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{{Lo: 200, Mode: pb.Range_MODE_IDS, Count: 1, Fingerprint: id, Ids: [][]byte{id}}}}, "IDS range"},
		{"listing miscounted", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{{Lo: 200, Mode: pb.Range_MODE_IDS, Count: 2, Ids: [][]byte{id}}}}, "count"},
		{"listing cut", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{func() *pb.Range {
			r := idsRange(200, 0, maxRangeIDs)
			r.Count = maxRangeIDs + 7
			return r
		}()}}, ""},
		{"listing too long", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{idsRange(200, 0, maxRangeIDs+1)}}, "IDS range"},
		{"listing a 31-byte ID", mid, &pb.Message{Answered: 1, Ranges: []*pb.Range{{Lo: 200, Mode: pb.Range_MODE_IDS, Count: 1, Ids: [][]byte{id[:31]}}}}, "31 bytes"},
		{"too many ranges", mid, &pb.Message{Answered: 1, Ranges: make([]*pb.Range, maxRanges+1)}, "ranges, at most"},
		{"want", mid, &pb.Message{Want: [][]byte{id, id}}, ""},
		{"want of 33 bytes", mid, &pb.Message{Want: [][]byte{append(id, 0)}}, "33 bytes"},
		{"too many wants", mid, &pb.Message{Want: make([][]byte, maxWant+1)}, "at most"},
		{"envelope", mid, &pb.Message{Envelopes: [][]byte{{1}}}, ""},
		{"empty envelope", mid, &pb.Message{Envelopes: [][]byte{{}}}, "envelope of 0"},
		{"oversized envelope", mid, &pb.Message{Envelopes: [][]byte{make([]byte, 128<<10+1)}}, "envelope of"},
		{"keys mid-session", mid, &pb.Message{KeyIds: [][]byte{key1[:]}}, "key IDs"},
		{"conversation mid-session", mid, &pb.Message{ConversationId: conv[:]}, "conversation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMessage(tc.m, tc.state())
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("valid frame refused: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("invalid frame accepted, want %q", tc.err)
			case tc.err != "" && (!errors.Is(err, parley.ErrMalformed) || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %q, want ErrMalformed mentioning %q", err, tc.err)
			}
		})
	}
}

// split cuts a range into 2 to maxSplit sub-ranges that tile it, hold at
// least one item each, sum to the whole, and carry the fingerprint the
// peer computes over the same sub-range.
func TestSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	for trial := range 200 {
		l := newMemLog(key1, key2)
		n := 2 + rng.IntN(3000)
		hlcs := 1 + rng.IntN(n)   // distinct HLC values to draw from
		dense := rng.IntN(4) == 0 // one HLC holding most items
		var envs [][]byte
		for i := range n {
			h := base + parley.HLC(rng.IntN(hlcs))<<8
			if dense && i%4 != 0 {
				h = base + 5<<8
			}
			key := key1
			if rng.IntN(5) == 0 {
				key = key3 // not common: must be invisible
			}
			envs = append(envs, testEnvelope(rng, h, key, 30))
		}
		l.add(envs...)
		ss := newSession(l, "", true)
		ss.common = map[[16]byte]struct{}{key1: {}, key2: {}}
		s := span{0, 0}
		if rng.IntN(2) == 0 {
			s = span{uint64(base) + uint64(rng.IntN(hlcs/2+1))<<8, uint64(base) + uint64(hlcs/2+rng.IntN(hlcs/2+1)+1)<<8}
		}
		sum, err := ss.summarize(s, maxRangeIDs)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.multi {
			continue
		}
		children, err := ss.split(s, sum)
		if err != nil {
			t.Fatal(err)
		}
		if len(children) < 2 || len(children) > maxSplit {
			t.Fatalf("trial %d: %d items split into %d", trial, sum.n, len(children))
		}
		parent := asked{span: s}
		if err := checkAnswer(parent, children); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		total := 0
		for _, c := range children {
			if c.Count == 0 {
				t.Fatalf("trial %d: an empty sub-range", trial)
			}
			total += int(c.Count)
			cs, _ := ss.summarize(spanOf(c), 0)
			if cs.n != int(c.Count) || string(cs.fp) != string(c.Fingerprint) {
				t.Fatalf("trial %d: sub-range fingerprint does not match a scan of it", trial)
			}
		}
		if total != sum.n {
			t.Fatalf("trial %d: sub-ranges hold %d of %d items", trial, total, sum.n)
		}
		if largest := maxCount(children); sum.n >= 2*maxSplit*leafSize && !dense && largest > 2*sum.n/len(children)+hlcsPerItem(n, hlcs) {
			t.Errorf("trial %d: unbalanced split, %d items, largest sub-range %d of %d", trial, sum.n, largest, len(children))
		}
	}
}

func maxCount(rs []*pb.Range) int {
	m := 0
	for _, r := range rs {
		m = max(m, int(r.Count))
	}
	return m
}

// hlcsPerItem bounds how many items one HLC value holds on average, times
// a margin: a run cannot be cut.
func hlcsPerItem(n, hlcs int) int { return 8 * (n/hlcs + 1) }

// Sessions between random logs (random overlaps, keys, HLC collisions,
// sizes) leave both sides with the union under the common keys.
func TestRandomSessions(t *testing.T) {
	pa, pb := pair(t, newMemLog(), newMemLog())
	rng := rand.New(rand.NewPCG(21, 21))
	for trial := range 40 {
		keysA, keysB := [][16]byte{key1}, [][16]byte{key1}
		if rng.IntN(2) == 0 {
			keysA = append(keysA, key2)
		}
		if rng.IntN(2) == 0 {
			keysB = append(keysB, key2)
		}
		a, b := newMemLog(keysA...), newMemLog(keysB...)
		hlcs := 1 + rng.IntN(3000)
		hlc := func(int) parley.HLC { return base + parley.HLC(rng.IntN(hlcs)) }
		key := func(keys [][16]byte) [16]byte { return keys[rng.IntN(len(keys))] }
		var envsA, envsB [][]byte
		for range rng.IntN(3000) {
			e := testEnvelope(rng, hlc(0), key1, 30+rng.IntN(200))
			envsA = append(envsA, e)
			envsB = append(envsB, e)
		}
		wantA, wantB := 0, 0
		for range rng.IntN(600) {
			k := key(keysA)
			envsA = append(envsA, testEnvelope(rng, hlc(0), k, 30+rng.IntN(200)))
			if k == key1 || len(keysB) == 2 {
				wantB++
			}
		}
		for range rng.IntN(600) {
			k := key(keysB)
			envsB = append(envsB, testEnvelope(rng, hlc(0), k, 30+rng.IntN(200)))
			if k == key1 || len(keysA) == 2 {
				wantA++
			}
		}
		a.add(envsA...)
		b.add(envsB...)
		pa.setLog(conv, a)
		pb.setLog(conv, b)
		st, err := pa.sync(pb)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		wantStats(t, st, wantB, wantA, 0)
		wantSame(t, a, b, key1)
		if len(keysA) == 2 && len(keysB) == 2 {
			wantSame(t, a, b, key2)
		}
	}
}

// Thousands of differences spread over a long history make the range tree
// wider than a frame: answers wait for later frames, and every frame still
// passes the other side's checks.
func TestScatteredDifferences(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 envelopes")
	}
	rng := rand.New(rand.NewPCG(22, 22))
	a, b := newMemLog(key1), newMemLog(key1)
	hlc := func(int) parley.HLC { return base + parley.HLC(rng.IntN(1<<30)) }
	common := gen(rng, 100_000, key1, 40, hlc)
	a.add(common...)
	b.add(common...)
	a.add(gen(rng, 2000, key1, 40, hlc)...)
	b.add(gen(rng, 2500, key1, 40, hlc)...)
	pa, pb := pair(t, a, b)
	st, err := pa.sync(pb)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, st, 2000, 2500, 0)
	wantSame(t, a, b, key1)
	t.Logf("4,500 differences in 100,000: %d rounds, %d bytes; at most %d and %d ranges in a frame",
		st.Rounds, st.BytesSent+st.BytesReceived, pa.maxRanges, pb.maxRanges)
	if max(pa.maxRanges, pb.maxRanges) < maxRanges-maxSplit {
		t.Errorf("no frame was full of ranges: deferral not exercised")
	}
}
