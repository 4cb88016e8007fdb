// Package inbound splits a protocol's inbound streams between the peers a
// node knows (contacts, fellow group members) and strangers, so that
// throwaway identities can fill only the strangers' share: contacts never
// wait behind strangers. A Budget only counts; the protocol's service
// decides who is known and when a stream ends (internal/lifetime resets
// the streams it refuses).
package inbound

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// PerStranger is the streams one stranger may have served at once: a
// stream and a spare, as the resource manager allows any peer per
// protocol, so that a sender's fresh try after a stream died is not
// refused while we still count the dead one.
const PerStranger = 2

// Budget is the streams one protocol serves at once. It is not safe for
// concurrent use: call it under one lock (lifetime.Protocol.Admit's admit
// and release run under the lifetime's).
type Budget struct {
	// Known is the most streams served at once from known peers; 0: no
	// limit of ours (the resource manager's per-peer and per-protocol
	// limits still hold).
	Known int
	// Strangers is the most streams served at once from all strangers
	// together, and PerStranger from any one of them (0: Strangers).
	Strangers, PerStranger int

	known, strangers int
	// perStranger counts the open streams of each stranger. An entry lives
	// only while its stranger has a stream open, so the map holds at most
	// Strangers entries: no state is kept for strangers who have left.
	perStranger map[peer.ID]int
}

// Take counts a stream from p, unless its share is full.
func (b *Budget) Take(p peer.ID, known bool) bool {
	if known {
		if b.Known > 0 && b.known >= b.Known {
			return false
		}
		b.known++
		return true
	}
	per := b.PerStranger
	if per <= 0 {
		per = b.Strangers
	}
	if b.strangers >= b.Strangers || b.perStranger[p] >= per {
		return false
	}
	if b.perStranger == nil {
		b.perStranger = make(map[peer.ID]int)
	}
	b.strangers++
	b.perStranger[p]++
	return true
}

// Release uncounts a stream Take counted, with the same arguments.
func (b *Budget) Release(p peer.ID, known bool) {
	if known {
		b.known--
		return
	}
	b.strangers--
	if b.perStranger[p]--; b.perStranger[p] <= 0 {
		delete(b.perStranger, p)
	}
}

// Open is how many streams are counted: from known peers, from strangers,
// and how many strangers have one open.
func (b *Budget) Open() (known, strangers, strangerPeers int) {
	return b.known, b.strangers, len(b.perStranger)
}

// Timeouts bound one inbound stream's reads (frame.Limits): Idle waiting
// for a frame, Frame for the rest of a frame once begun, Stream for the
// stream in all (0: no total).
type Timeouts struct {
	Idle, Frame, Stream time.Duration
}

// End is when a stream that began at start has used its total budget (zero:
// never).
func (t Timeouts) End(start time.Time) time.Time {
	if t.Stream <= 0 {
		return time.Time{}
	}
	return start.Add(t.Stream)
}
