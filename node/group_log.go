package node

import (
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/catchup"
	"github.com/parley-im/parley/storage"
)

// groupLog is a group's log as package catchup sees it: the envelopes the
// store holds for the group, and pubsub's ingest for what a peer sends.
// One serves one session.
type groupLog struct {
	n  *Node
	id parley.ConversationID
	// pending is our queued messages in the group as the session began:
	// once it ends cleanly, the member holds those under the keys both
	// hold, and they become "sent".
	pending []storage.PendingSend
	// covers says which envelopes this session reconciles (the group's
	// history setting, pubsub.Groups.SyncFilter); nil: all.
	covers func(parley.EnvelopeID, parley.HLC) bool
}

// openLog opens a group's log for a sync session with remote, which must
// be one pubsub lets sync that group (a member, or an invite's hint).
func (n *Node) openLog(conv parley.ConversationID, remote peer.ID) (catchup.Log, error) {
	if !n.groups.MaySync(conv, remote) {
		return nil, fmt.Errorf("%w: %s may not sync this conversation", parley.ErrNotMember, remote)
	}
	pending, err := n.store.PendingGroupSends(conv)
	if err != nil {
		// Only statuses suffer: they stay queued until a later session.
		n.log.Warn("group sync: listing queued messages", "group", conv, "err", err)
	}
	return &groupLog{n: n, id: conv, pending: pending, covers: n.groups.SyncFilter(conv, remote)}, nil
}

func (l *groupLog) KeyIDs() ([][16]byte, error) { return l.n.groups.KeyIDs(l.id) }

func (l *groupLog) Scan(lo, hi parley.HLC, fn func(catchup.Item) bool) error {
	return l.n.store.SyncScan(l.id, lo, hi, func(si storage.SyncItem) bool {
		if l.covers != nil && !l.covers(si.ID, si.HLC) {
			return true
		}
		return fn(catchup.Item{HLC: si.HLC, ID: si.ID, KeyID: si.KeyID})
	})
}

func (l *groupLog) Envelope(id parley.EnvelopeID) ([]byte, error) { return l.n.store.Envelope(id) }

func (l *groupLog) Accept(_ peer.ID, envs [][]byte) (added, rejected int, err error) {
	return l.n.groups.Ingest(l.id, envs)
}

func (l *groupLog) Synced(shared [][16]byte) {
	var held []parley.EnvelopeID
	for _, p := range l.pending {
		if slices.Contains(shared, p.KeyID) {
			held = append(held, p.ID)
		}
	}
	if err := l.n.groups.Held(held); err != nil {
		l.n.log.Warn("group sync: marking messages sent", "group", l.id, "err", err)
	}
}
