package pubsub

import (
	"bytes"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// Group-scoped mailbox grants (PROTOCOL.md §9.10): a member tells the
// group's members its mailboxes in a GroupMailboxGrant, an envelope of the
// group like a text (sealed under the group's key, signed, published and
// synced), but never displayed. Its capabilities are issued for the group
// and the epoch of the key that seals it; the node builds them
// (node/group_grants.go), this only carries and checks them.

// EpochKey names one epoch of a group: its key's ID and when it began.
type EpochKey struct {
	ID  [identity.KeyIDSize]byte
	HLC parley.HLC
}

// Epoch is the key we seal with in a group (ok false: we hold none), and
// every other epoch key we hold.
func (s *Groups) Epoch(id parley.ConversationID) (current EpochKey, others []EpochKey, ok bool) {
	g, err := s.get(id)
	if err != nil {
		return current, nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for kid, hlc := range g.keyHLC {
		if g.current != nil && kid == g.current.ID {
			current, ok = EpochKey{ID: kid, HLC: hlc}, true
			continue
		}
		others = append(others, EpochKey{ID: kid, HLC: hlc})
	}
	return current, others, ok
}

// IsMember reports whether p is a member of the group now, as the ops we
// hold say.
func (s *Groups) IsMember(id parley.ConversationID, p peer.ID) bool {
	g, err := s.get(id)
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.IsMember(p)
}

// GroupIDs lists every group we know of, in any state.
func (s *Groups) GroupIDs() []parley.ConversationID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]parley.ConversationID, 0, len(s.groups))
	for id := range s.groups {
		out = append(out, id)
	}
	return out
}

// PublishMailboxGrant writes our grant to a group, built by build for the
// epoch key it will be sealed under. It refuses (and publishes nothing)
// when the epoch changed while the grant was built: the caller builds it
// again.
func (s *Groups) PublishMailboxGrant(id parley.ConversationID, build func(epoch [identity.KeyIDSize]byte) (*pb.GroupMailboxGrant, error)) (parley.Message, error) {
	g, err := s.writable(id)
	if err != nil {
		return parley.Message{}, err
	}
	if err := s.awaitFreshKey(g); err != nil {
		return parley.Message{}, err
	}
	g.mu.Lock()
	key := g.current
	g.mu.Unlock()
	if key == nil {
		return parley.Message{}, fmt.Errorf("%w: no key for this group yet", parley.ErrNotMember)
	}
	grant, err := build(key.ID)
	if err != nil {
		return parley.Message{}, err
	}
	return s.writeOnce(g, &pb.Body{Kind: &pb.Body_GroupMailboxGrant{GroupMailboxGrant: grant}}, parley.ClientID{}, key)
}

// sameKey reports whether two optional keys are the same epoch.
func sameKey(a, b *identity.SendKey) bool {
	return a != nil && b != nil && bytes.Equal(a.ID[:], b.ID[:])
}
