package node

import (
	"github.com/parley-im/parley"
	"github.com/parley-im/parley/storage"
)

// GroupEnvelopes is every envelope n holds of group g, in sync order.
func (n *Node) GroupEnvelopes(g parley.ConversationID) ([][]byte, error) {
	var ids []parley.EnvelopeID
	if err := n.store.SyncScan(g, 0, 0, func(it storage.SyncItem) bool { ids = append(ids, it.ID); return true }); err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(ids))
	for _, id := range ids {
		env, err := n.store.Envelope(id)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// IngestGroup hands envelopes of group g to n as sync would.
func (n *Node) IngestGroup(g parley.ConversationID, envs [][]byte) (added, rejected int, err error) {
	return n.groups.Ingest(g, envs)
}

// StoreHolds reports whether n's open store holds needle in any key or
// value, any version.
func (n *Node) StoreHolds(needle string) (bool, error) { return n.store.Holds([]byte(needle)) }

// SendAnnotationUnchecked sends an edit, delete or reaction to a contact
// without the checks Act makes: how a misbehaving peer would.
func (n *Node) SendAnnotationUnchecked(peer string, msg parley.Message) (parley.Message, error) {
	c, err := n.store.Contact(peer)
	if err != nil {
		return parley.Message{}, err
	}
	return n.dm.SendAnnotation(c, msg)
}

// AnnotateGroupUnchecked is SendAnnotationUnchecked for a group.
func (n *Node) AnnotateGroupUnchecked(g parley.ConversationID, msg parley.Message) (parley.Message, error) {
	return n.groups.Annotate(g, msg)
}

// StoredMessage is the record n holds for id.
func (n *Node) StoredMessage(id parley.EnvelopeID) (parley.Message, error) {
	return n.store.Message(id)
}
