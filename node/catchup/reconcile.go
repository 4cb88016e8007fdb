package catchup

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/catchup/pb"
)

// leafSize: a range holding this many of our items or fewer is answered
// with their IDs rather than split. 64 IDs (2 KiB) cost about as much as
// the 16 fingerprints a split would, and end the descent.
const leafSize = 64

const fingerprintSize = sha256.Size

// fingerprinter hashes a range's IDs in (HLC, ID) order, then its count.
type fingerprinter struct {
	h hash.Hash
	n uint32
}

func newFingerprinter() *fingerprinter { return &fingerprinter{h: sha256.New()} }

func (f *fingerprinter) add(id parley.EnvelopeID) {
	f.h.Write(id[:])
	f.n++
}

// sum returns the fingerprint and count, and starts over.
func (f *fingerprinter) sum() ([]byte, uint32) {
	f.h.Write(binary.BigEndian.AppendUint64(nil, uint64(f.n)))
	fp, n := f.h.Sum(nil), f.n
	f.h.Reset()
	f.n = 0
	return fp, n
}

// summary is what one scan of a range tells about our side of it.
type summary struct {
	n     int
	fp    []byte
	multi bool // the items carry at least two distinct HLCs: the range can be split
	last  parley.HLC
	items []Item // the first min(n, keep) items
}

// scan calls fn for our items in s under the common keys, in order, until
// fn returns false. Items a Log yields outside s are skipped: a faulty
// index must not break the tiling of our answers.
func (ss *session) scan(s span, fn func(Item) bool) error {
	err := ss.log.Scan(parley.HLC(s.lo), parley.HLC(s.hi), func(it Item) bool {
		if uint64(it.HLC) < s.lo || (s.hi != 0 && uint64(it.HLC) >= s.hi) {
			return true
		}
		if _, ok := ss.common[it.KeyID]; !ok {
			return true
		}
		return fn(it)
	})
	if err != nil {
		return &localError{err}
	}
	return nil
}

// summarize scans s once, keeping up to keep items.
func (ss *session) summarize(s span, keep int) (summary, error) {
	var sum summary
	ss.fp.h.Reset()
	ss.fp.n = 0
	sum.items = ss.buf[:0]
	err := ss.scan(s, func(it Item) bool {
		if sum.n > 0 && it.HLC != sum.last {
			sum.multi = true
		}
		sum.last = it.HLC
		sum.n++
		ss.fp.add(it.ID)
		if len(sum.items) < keep {
			sum.items = append(sum.items, it)
		}
		return true
	})
	sum.fp, _ = ss.fp.sum()
	ss.buf = sum.items[:0]
	return sum, err
}

// split answers s, where we hold n items over at least two HLCs, with
// fingerprints of 2 to maxSplit sub-ranges that tile it, of about equal
// count and at least leafSize items each where possible. Boundaries are
// HLC values, so items sharing an HLC stay in one sub-range.
func (ss *session) split(s span, sum summary) ([]*pb.Range, error) {
	k := min(maxSplit, max(2, (sum.n+leafSize-1)/leafSize))
	var bounds []uint64
	idx := 0
	var prev parley.HLC
	err := ss.scan(s, func(it Item) bool {
		if idx > 0 && it.HLC != prev && idx >= (len(bounds)+1)*sum.n/k {
			bounds = append(bounds, uint64(it.HLC))
			if len(bounds) == k-1 {
				return false
			}
		}
		prev = it.HLC
		idx++
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(bounds) == 0 {
		// Every HLC change came before the first target: one long run of
		// a single HLC at the end. Cut right before it.
		bounds = []uint64{uint64(sum.last)}
	}
	children := make([]*pb.Range, 0, len(bounds)+1)
	lo, b := s.lo, 0
	err = ss.scan(s, func(it Item) bool {
		for b < len(bounds) && uint64(it.HLC) >= bounds[b] {
			children = append(children, ss.fingerprintRange(span{lo, bounds[b]}))
			lo = bounds[b]
			b++
		}
		ss.fp.add(it.ID)
		return true
	})
	if err != nil {
		return nil, err
	}
	for ; b < len(bounds); b++ { // only if the log changed between scans
		children = append(children, ss.fingerprintRange(span{lo, bounds[b]}))
		lo = bounds[b]
	}
	children = append(children, ss.fingerprintRange(span{lo, s.hi}))
	return children, nil
}

func (ss *session) fingerprintRange(s span) *pb.Range {
	fp, n := ss.fp.sum()
	return &pb.Range{Lo: s.lo, Hi: s.hi, Mode: pb.Range_MODE_FINGERPRINT, Count: n, Fingerprint: fp}
}

// listRange answers s in IDS mode with our first items (all of them unless
// there are more than maxRangeIDs) and remembers them as offered.
func (ss *session) listRange(s span, sum summary) *pb.Range {
	r := &pb.Range{Lo: s.lo, Hi: s.hi, Mode: pb.Range_MODE_IDS, Count: uint32(sum.n)}
	r.Ids = make([][]byte, len(sum.items))
	for i, it := range sum.items {
		r.Ids[i] = append([]byte(nil), it.ID[:]...)
		ss.offered[it.ID] = struct{}{}
	}
	return r
}

// answer works out our reply to one of the peer's ranges: nothing, one IDS
// range, or sub-range fingerprints; envelopes to push and to want are
// queued on the way.
func (ss *session) answer(r *pb.Range) ([]*pb.Range, error) {
	s := spanOf(r)
	sum, err := ss.summarize(s, maxRangeIDs)
	if err != nil {
		return nil, err
	}
	if r.Mode == pb.Range_MODE_IDS {
		return ss.answerIDs(s, r, sum)
	}
	switch {
	case uint32(sum.n) == r.Count && string(sum.fp) == string(r.Fingerprint):
		return nil, nil // same set
	case sum.n == 0:
		return []*pb.Range{ss.listRange(s, sum)}, nil // "I have nothing": the peer pushes
	case r.Count == 0 && (sum.n <= maxRangeIDs || !sum.multi):
		// The peer has nothing here: everything we hold is news to it.
		for _, it := range sum.items {
			ss.push(it.ID)
		}
		return nil, nil
	case r.Count == 0:
		return ss.split(s, sum)
	case sum.n <= leafSize || !sum.multi:
		return []*pb.Range{ss.listRange(s, sum)}, nil
	default:
		return ss.split(s, sum)
	}
}

// answerIDs handles a range the peer listed: we push what it lacks and want
// what we lack, or split if we hold too much there to diff in one go. A
// cut list (count > IDs, a range too dense to split) is only used to want.
func (ss *session) answerIDs(s span, r *pb.Range, sum summary) ([]*pb.Range, error) {
	complete := int(r.Count) == len(r.Ids)
	if complete && sum.n > maxRangeIDs && sum.multi {
		return ss.split(s, sum)
	}
	theirs := make(map[parley.EnvelopeID]bool, len(r.Ids)) // true once we are found to hold it
	for _, id := range r.Ids {
		theirs[parley.EnvelopeID(id)] = false
	}
	pushed := 0
	visit := func(it Item) bool {
		if _, ok := theirs[it.ID]; ok {
			theirs[it.ID] = true
		} else if complete && pushed < maxRangeIDs {
			ss.push(it.ID)
			pushed++
		}
		return true
	}
	if sum.n <= len(sum.items) {
		for _, it := range sum.items {
			visit(it)
		}
	} else if err := ss.scan(s, visit); err != nil { // a dense range: look at all of it
		return nil, err
	}
	for _, raw := range r.Ids {
		if id := parley.EnvelopeID(raw); !theirs[id] {
			if err := ss.want(id); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}
