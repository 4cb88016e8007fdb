package catchup

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/catchup/pb"
)

// Budgets for the frames we write. With them a frame stays under
// maxFrameSize: ranges up to rangeBudget (checked before each answer, whose
// largest form is one full IDS range), wants up to maxWant IDs, envelopes
// up to envelopeBudget plus, when the first one alone is bigger, that one.
const (
	rangeBudget    = 2 << 20
	maxAnswerSize  = maxRangeIDs*(2+32) + 64
	envelopeBudget = 1 << 20
)

// session is one side of one session. It is used by one goroutine.
type session struct {
	log    Log // nil on the responder until the opening frame is read
	remote peer.ID
	check  checkState
	common map[[16]byte]struct{} // keys both sides hold
	stats  Stats
	trace  func(m *pb.Message, size int)

	// inbound holds the peer's ranges we have not answered, in the order
	// sent; we answer from the end (depth first), which keeps it to about
	// one frame per level of the range tree.
	inbound    []*pb.Range
	inboundIDs int // IDs held in inbound's IDS ranges
	// pendingIDs counts the IDs in check.pending: what waits at the peer
	// as its inbound, which it bounds as we bound ours.
	pendingIDs int

	// pushQueue holds IDs of envelopes to send, in order. Each one is
	// queued once: a range is answered once, and a want is honoured only
	// for an ID still in offered.
	pushQueue []parley.EnvelopeID
	// offered holds the IDs we listed in IDS ranges and the peer has not
	// wanted yet: the only envelopes a want may ask for, so a peer gets
	// nothing under keys it does not hold, and nothing twice.
	offered map[parley.EnvelopeID]struct{}
	// wantQueue holds IDs to ask for; wanting maps every ID we asked for
	// or will ask for to whether it is sent, until the envelope arrives.
	wantQueue []parley.EnvelopeID
	wanting   map[parley.EnvelopeID]bool

	lastSentEmpty bool

	fp  *fingerprinter
	buf []Item // reused by summarize
}

func newSession(lg Log, remote peer.ID, initiator bool) *session {
	return &session{
		log:     lg,
		remote:  remote,
		check:   checkState{initiator: initiator, opening: true},
		offered: make(map[parley.EnvelopeID]struct{}),
		wanting: make(map[parley.EnvelopeID]bool),
		fp:      newFingerprinter(),
	}
}

// sharedKeys lists the keys both sides hold, once the opening frames are
// through.
func (ss *session) sharedKeys() [][16]byte {
	keys := make([][16]byte, 0, len(ss.common))
	for k := range ss.common {
		keys = append(keys, k)
	}
	return keys
}

// startInitiator records the opening frame we send: our keys, and the
// implicit question "what is your whole set?".
func (ss *session) startInitiator(keys [][16]byte) {
	ss.check.keys = make(map[[16]byte]struct{}, len(keys))
	for _, k := range keys {
		ss.check.keys[k] = struct{}{}
	}
	ss.check.pending = []asked{{root: true}}
}

// startResponder answers the initiator's (checked) opening frame: the keys
// we share, and our whole set over them.
func (ss *session) startResponder(ours [][16]byte, theirs [][]byte) (*pb.Message, error) {
	mine := make(map[[16]byte]struct{}, len(ours))
	for _, k := range ours {
		mine[k] = struct{}{}
	}
	ss.common = make(map[[16]byte]struct{})
	reply := &pb.Message{Answered: 1}
	for _, k := range theirs {
		k := [16]byte(k)
		if _, ok := mine[k]; ok {
			if _, dup := ss.common[k]; !dup {
				ss.common[k] = struct{}{}
				reply.KeyIds = append(reply.KeyIds, k[:])
			}
		}
	}
	ss.check.opening = false
	all := span{0, 0}
	sum, err := ss.summarize(all, maxRangeIDs)
	if err != nil {
		return nil, err
	}
	r := &pb.Range{Mode: pb.Range_MODE_FINGERPRINT, Count: uint32(sum.n), Fingerprint: sum.fp}
	if sum.n <= leafSize || !sum.multi {
		r = ss.listRange(all, sum)
	}
	reply.Ranges = []*pb.Range{r}
	ss.sent(reply)
	return reply, nil
}

// loop runs the session after the opening frames, until it ends cleanly
// (nil) or fails.
func (ss *session) loop(rw *frameIO) error {
	for {
		m, err := rw.read()
		if errors.Is(err, io.EOF) {
			// The peer ends only after our empty frame, owing us nothing.
			if !ss.lastSentEmpty {
				return fmt.Errorf("%w: the peer closed the session early", parley.ErrMalformed)
			}
			return ss.owed()
		}
		if err != nil {
			return err
		}
		if ss.stats.Rounds > maxRounds {
			return fmt.Errorf("%w: more than %d rounds", parley.ErrMalformed, maxRounds)
		}
		if err := checkMessage(m, &ss.check); err != nil {
			return err
		}
		if err := ss.receive(m); err != nil {
			return err
		}
		out, err := ss.next()
		if err != nil {
			return err
		}
		if empty(out) && len(ss.inbound) > 0 {
			// Only possible when our ranges in flight reach the peer's
			// limit and the peer answers none of them.
			return errors.New("reconciliation stalled")
		}
		if empty(m) && empty(out) {
			// The peer sent nothing, so it holds none of our ranges and
			// queues nothing; neither do we: done.
			if len(ss.check.pending) > 0 {
				return fmt.Errorf("%w: the peer stopped with %d of our ranges unanswered", parley.ErrMalformed, len(ss.check.pending))
			}
			return ss.owed()
		}
		if err := rw.write(out); err != nil {
			return err
		}
		ss.lastSentEmpty = empty(out)
	}
}

// owed fails the end of a session while envelopes we asked for are missing.
func (ss *session) owed() error {
	if len(ss.wanting) > 0 {
		return fmt.Errorf("%w: the peer did not send %d envelopes it listed", parley.ErrMalformed, len(ss.wanting))
	}
	return nil
}

func empty(m *pb.Message) bool {
	return len(m.Ranges) == 0 && len(m.Want) == 0 && len(m.Envelopes) == 0
}

// receive applies a checked frame from the peer.
func (ss *session) receive(m *pb.Message) error {
	if ss.check.opening { // the responder's first frame (the initiator's is read in handleStream)
		ss.check.opening = false
		ss.common = make(map[[16]byte]struct{}, len(m.KeyIds))
		for _, k := range m.KeyIds {
			ss.common[[16]byte(k)] = struct{}{}
		}
	}
	n := len(ss.check.pending) - int(m.Answered)
	for _, a := range ss.check.pending[n:] {
		ss.pendingIDs -= a.nids
	}
	ss.check.pending = ss.check.pending[:n]

	if len(m.Envelopes) > 0 {
		if len(ss.wanting) > 0 {
			for _, e := range m.Envelopes {
				delete(ss.wanting, sha256.Sum256(e))
			}
		}
		added, rejected, err := ss.log.Accept(ss.remote, m.Envelopes)
		if err != nil {
			return &localError{fmt.Errorf("accepting envelopes: %w", err)}
		}
		ss.stats.Received += added
		ss.stats.Rejected += rejected
		if ss.stats.Rejected > maxRejected {
			return fmt.Errorf("%w: %d envelopes rejected", parley.ErrMalformed, ss.stats.Rejected)
		}
	}

	for _, raw := range m.Want {
		id := parley.EnvelopeID(raw)
		if _, ok := ss.offered[id]; ok {
			delete(ss.offered, id)
			ss.push(id)
		}
		// Else: not something we listed (or already sent): ignored.
	}

	for _, r := range m.Ranges {
		ss.inbound = append(ss.inbound, r)
		ss.inboundIDs += len(r.Ids)
	}
	if len(ss.inbound) > maxPendingRanges || ss.inboundIDs > maxPendingIDs {
		return fmt.Errorf("%w: %d ranges of the peer's wait for answers", parley.ErrMalformed, len(ss.inbound))
	}
	return nil
}

// next builds our next frame: answers to the peer's ranges, last first,
// while they fit; then wants; then envelopes.
func (ss *session) next() (*pb.Message, error) {
	out := &pb.Message{}
	size, outIDs := 0, 0
	for len(ss.inbound) > 0 {
		if len(out.Ranges) > 0 && (len(out.Ranges)+maxSplit > maxRanges || size+maxAnswerSize > rangeBudget) {
			break
		}
		// Our ranges in flight are the ones waiting at the peer: stay
		// within the limits it enforces.
		if len(ss.check.pending)+len(out.Ranges)+maxSplit > maxPendingRanges || ss.pendingIDs+outIDs+maxRangeIDs > maxPendingIDs {
			break
		}
		r := ss.inbound[len(ss.inbound)-1]
		ans, err := ss.answer(r)
		if err != nil {
			return nil, err
		}
		ss.inbound[len(ss.inbound)-1] = nil
		ss.inbound = ss.inbound[:len(ss.inbound)-1]
		ss.inboundIDs -= len(r.Ids)
		out.Answered++
		for _, a := range ans {
			size += proto.Size(a)
			outIDs += len(a.Ids)
		}
		out.Ranges = append(out.Ranges, ans...)
	}

	for len(ss.wantQueue) > 0 && len(out.Want) < maxWant {
		id := ss.wantQueue[0]
		ss.wantQueue = ss.wantQueue[1:]
		if sent, ok := ss.wanting[id]; ok && !sent { // gone: it arrived meanwhile
			ss.wanting[id] = true
			out.Want = append(out.Want, id[:])
		}
	}

	size = 0
	for len(ss.pushQueue) > 0 {
		id := ss.pushQueue[0]
		env, err := ss.log.Envelope(id)
		switch {
		case errors.Is(err, parley.ErrNotFound):
		case err != nil:
			return nil, &localError{fmt.Errorf("reading envelope %s: %w", id, err)}
		case len(env) == 0 || len(env) > identity.MaxEnvelopeSize:
			// The peer would take it for a violation; our store is at fault.
		case size > 0 && size+len(env) > envelopeBudget:
			ss.sent(out)
			return out, nil
		default:
			out.Envelopes = append(out.Envelopes, env)
			size += len(env)
		}
		ss.pushQueue[0] = parley.EnvelopeID{}
		ss.pushQueue = ss.pushQueue[1:]
	}
	ss.sent(out)
	return out, nil
}

// sent records the ranges of a frame we are about to write as pending.
func (ss *session) sent(m *pb.Message) {
	for _, r := range m.Ranges {
		ss.check.pending = append(ss.check.pending, asked{span: spanOf(r), ids: r.Mode == pb.Range_MODE_IDS, nids: len(r.Ids)})
		ss.pendingIDs += len(r.Ids)
	}
}

func (ss *session) push(id parley.EnvelopeID) {
	ss.pushQueue = append(ss.pushQueue, id)
}

func (ss *session) want(id parley.EnvelopeID) error {
	if _, ok := ss.wanting[id]; ok {
		return nil
	}
	if len(ss.wanting) >= maxWanting {
		return fmt.Errorf("%w: the peer lists more than %d envelopes we lack", parley.ErrMalformed, maxWanting)
	}
	ss.wanting[id] = false
	ss.wantQueue = append(ss.wantQueue, id)
	return nil
}

// frameSize is the size of m on the wire, length prefix included.
func frameSize(m *pb.Message) int64 {
	n := proto.Size(m)
	return int64(n + len(binary.AppendUvarint(nil, uint64(n))))
}
