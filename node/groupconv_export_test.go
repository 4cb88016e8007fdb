package node

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/storage"
)

// OwnGroupWrites is every envelope n wrote to group g, of any kind.
func (n *Node) OwnGroupWrites(g parley.ConversationID) ([]parley.Message, error) {
	var ids []parley.EnvelopeID
	if err := n.store.SyncScan(g, 0, 0, func(it storage.SyncItem) bool { ids = append(ids, it.ID); return true }); err != nil {
		return nil, err
	}
	var out []parley.Message
	for _, id := range ids {
		m, err := n.store.Message(id)
		if err == nil && m.Outgoing {
			out = append(out, m)
		}
	}
	return out, nil
}

// DepositedFor reports whether a mailbox of member holds n's group
// envelope id.
func (n *Node) DepositedFor(g parley.ConversationID, id parley.EnvelopeID, member string) bool {
	p, err := peer.Decode(member)
	if err != nil {
		return false
	}
	mbs, err := n.groupMailboxesOf(g, p)
	if err != nil {
		return false
	}
	for _, mb := range mbs {
		if ok, err := n.store.GroupDeposited(id, member, mb.PeerID); err == nil && ok {
			return true
		}
	}
	return false
}
