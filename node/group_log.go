package node

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/catchup"
	"github.com/parley-im/parley/storage"
)

// groupLog is a group's log as package catchup sees it: the envelopes the
// store holds for the group, and pubsub's ingest for what a peer sends.
type groupLog struct {
	n  *Node
	id parley.ConversationID
}

// openLog opens a group's log for a sync session with remote, which must
// be one pubsub lets sync that group (a member, or an invite's hint).
func (n *Node) openLog(conv parley.ConversationID, remote peer.ID) (catchup.Log, error) {
	if !n.groups.MaySync(conv, remote) {
		return nil, fmt.Errorf("%w: %s may not sync this conversation", parley.ErrNotMember, remote)
	}
	return groupLog{n: n, id: conv}, nil
}

func (l groupLog) KeyIDs() ([][16]byte, error) { return l.n.groups.KeyIDs(l.id) }

func (l groupLog) Scan(lo, hi parley.HLC, fn func(catchup.Item) bool) error {
	return l.n.store.SyncScan(l.id, lo, hi, func(si storage.SyncItem) bool {
		return fn(catchup.Item{HLC: si.HLC, ID: si.ID, KeyID: si.KeyID})
	})
}

func (l groupLog) Envelope(id parley.EnvelopeID) ([]byte, error) { return l.n.store.Envelope(id) }

func (l groupLog) Accept(_ peer.ID, envs [][]byte) (added, rejected int, err error) {
	return l.n.groups.Ingest(l.id, envs)
}
