package catchup

import (
	"fmt"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/catchup/pb"
)

// Wire limits (PROTOCOL.md, "Sync"). A frame that breaks one is a protocol
// violation: the stream is reset.
const (
	maxFrameSize = 4 << 20
	maxKeyIDs    = 4096
	maxRanges    = 1024
	// maxRangeIDs caps an IDS range. Ranges are listed at leafSize or
	// fewer items; the cap is higher so that envelopes sharing one HLC
	// (which no boundary can separate) still reconcile in one range.
	maxRangeIDs = 4096
	maxWant     = 4096
	// maxSplit is the most sub-ranges one range is answered with.
	maxSplit = 16
)

// Session limits, beyond which the peer is dropped.
const (
	maxRounds = 10_000
	// maxRejected: a few rejections are tolerated (members may disagree for
	// a moment about who belongs), a stream of them is not.
	maxRejected = 16
	// maxPendingRanges and maxPendingIDs bound the peer's ranges we hold
	// unanswered. An honest peer stays far below: ranges are answered
	// depth first, so about one frame's worth per level of the tree wait.
	maxPendingRanges = 1 << 16
	maxPendingIDs    = 1 << 20
	// maxWanting bounds the envelopes we have asked for and not yet
	// received.
	maxWanting = 1 << 20
)

// span is a half-open HLC interval [lo, hi); hi == 0 means no upper bound.
type span struct{ lo, hi uint64 }

func spanOf(r *pb.Range) span { return span{r.Lo, r.Hi} }

func (s span) valid() bool { return s.hi == 0 || s.lo < s.hi }

// contains reports whether t lies within s.
func (s span) contains(t span) bool {
	return s.lo <= t.lo && (s.hi == 0 || (t.hi != 0 && t.hi <= s.hi))
}

// asked is a range we sent and the peer has not answered yet.
type asked struct {
	span
	ids  bool // sent in IDS mode
	root bool // the initiator's implicit question: the responder's whole set
	nids int  // IDs listed, in IDS mode
}

// checkState is what checkMessage needs to know of the session.
type checkState struct {
	initiator bool // we opened the session
	opening   bool // the next frame is the peer's first
	// keys we listed in our first frame (initiator only): the responder's
	// list must be a subset.
	keys map[[16]byte]struct{}
	// pending are our unanswered ranges in the order sent; the peer answers
	// from the end.
	pending []asked
}

// checkMessage validates a decoded frame against the session state, without
// changing it: field sizes, limits, which fields may appear in which frame,
// and that every range answers one of ours in the shape the protocol allows.
// Any error is a protocol violation.
func checkMessage(m *pb.Message, c *checkState) error {
	first := c.opening
	switch {
	case first && !c.initiator: // the initiator's opening frame
		if len(m.ConversationId) != len(parley.ConversationID{}) {
			return malformed("conversation ID of %d bytes", len(m.ConversationId))
		}
		if m.Answered != 0 || len(m.Ranges) != 0 || len(m.Want) != 0 || len(m.Envelopes) != 0 {
			return malformed("the opening frame carries only the conversation and key IDs")
		}
	case first && c.initiator: // the responder's first frame
		if len(m.ConversationId) != 0 {
			return malformed("conversation ID outside the opening frame")
		}
		if m.Answered != 1 || len(m.Ranges) != 1 || len(m.Want) != 0 || len(m.Envelopes) != 0 {
			return malformed("the first answer is one range over the whole set")
		}
	default:
		if len(m.ConversationId) != 0 || len(m.KeyIds) != 0 {
			return malformed("conversation or key IDs after the first frames")
		}
	}
	if first {
		if len(m.KeyIds) > maxKeyIDs {
			return malformed("%d key IDs, at most %d", len(m.KeyIds), maxKeyIDs)
		}
		for _, k := range m.KeyIds {
			if len(k) != 16 {
				return malformed("key ID of %d bytes", len(k))
			}
			if c.initiator {
				if _, ok := c.keys[[16]byte(k)]; !ok {
					return malformed("the responder lists a key we did not offer")
				}
			}
		}
	}
	if int(m.Answered) > len(c.pending) {
		return malformed("answers %d ranges, %d are open", m.Answered, len(c.pending))
	}
	if len(m.Ranges) > maxRanges {
		return malformed("%d ranges, at most %d", len(m.Ranges), maxRanges)
	}
	for _, r := range m.Ranges {
		if err := checkRange(r); err != nil {
			return err
		}
	}
	if err := checkAnswers(m.Ranges, c.pending[len(c.pending)-int(m.Answered):]); err != nil {
		return err
	}
	if len(m.Want) > maxWant {
		return malformed("wants %d envelopes, at most %d per frame", len(m.Want), maxWant)
	}
	for _, id := range m.Want {
		if len(id) != len(parley.EnvelopeID{}) {
			return malformed("wanted ID of %d bytes", len(id))
		}
	}
	for _, e := range m.Envelopes {
		if len(e) == 0 || len(e) > identity.MaxEnvelopeSize {
			return malformed("envelope of %d bytes", len(e))
		}
	}
	return nil
}

// checkRange validates one range on its own.
func checkRange(r *pb.Range) error {
	if !spanOf(r).valid() {
		return malformed("empty range [%d, %d)", r.Lo, r.Hi)
	}
	switch r.Mode {
	case pb.Range_MODE_FINGERPRINT:
		if len(r.Fingerprint) != fingerprintSize || len(r.Ids) != 0 {
			return malformed("fingerprint range with a %d-byte fingerprint and %d IDs", len(r.Fingerprint), len(r.Ids))
		}
	case pb.Range_MODE_IDS:
		if len(r.Fingerprint) != 0 || len(r.Ids) > maxRangeIDs {
			return malformed("IDS range with a fingerprint or %d IDs", len(r.Ids))
		}
		if int(r.Count) < len(r.Ids) || (int(r.Count) > len(r.Ids) && len(r.Ids) != maxRangeIDs) {
			return malformed("IDS range with count %d for %d IDs", r.Count, len(r.Ids))
		}
		for _, id := range r.Ids {
			if len(id) != len(parley.EnvelopeID{}) {
				return malformed("envelope ID of %d bytes", len(id))
			}
		}
	default:
		return malformed("range mode %d", r.Mode)
	}
	return nil
}

// checkAnswers checks that ranges answer parents, which the peer took from
// the end: answers to the last parent come first. A parent may get no
// answer; otherwise every range must lie inside its parent, and the
// parent's answers must be one IDS range equal to it (for a fingerprint),
// or 2 to maxSplit fingerprint ranges tiling it exactly. The root gets
// exactly one range over everything, in either mode.
func checkAnswers(ranges []*pb.Range, parents []asked) error {
	j := len(parents) - 1
	for i := 0; i < len(ranges); {
		for j >= 0 && !parents[j].contains(spanOf(ranges[i])) {
			if parents[j].root {
				return malformed("the whole set was not answered")
			}
			j--
		}
		if j < 0 {
			return malformed("range [%d, %d) answers nothing we asked", ranges[i].Lo, ranges[i].Hi)
		}
		p := parents[j]
		k := i + 1
		for k < len(ranges) && p.contains(spanOf(ranges[k])) {
			k++
		}
		if err := checkAnswer(p, ranges[i:k]); err != nil {
			return err
		}
		i, j = k, j-1
	}
	for ; j >= 0; j-- {
		if parents[j].root {
			return malformed("the whole set was not answered")
		}
	}
	return nil
}

func checkAnswer(p asked, group []*pb.Range) error {
	first, last := spanOf(group[0]), spanOf(group[len(group)-1])
	if len(group) == 1 && first == p.span {
		if p.root || (!p.ids && group[0].Mode == pb.Range_MODE_IDS) {
			return nil
		}
		return malformed("range [%d, %d) answered with itself", p.lo, p.hi)
	}
	if p.root || len(group) < 2 || len(group) > maxSplit {
		return malformed("range [%d, %d) answered with %d ranges", p.lo, p.hi, len(group))
	}
	if first.lo != p.lo || last.hi != p.hi {
		return malformed("sub-ranges do not tile [%d, %d)", p.lo, p.hi)
	}
	for i, r := range group {
		if r.Mode != pb.Range_MODE_FINGERPRINT {
			return malformed("a split answered in IDS mode")
		}
		if i > 0 && (group[i-1].Hi == 0 || r.Lo != group[i-1].Hi) {
			return malformed("sub-ranges do not tile [%d, %d)", p.lo, p.hi)
		}
	}
	return nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{parley.ErrMalformed}, args...)...)
}
