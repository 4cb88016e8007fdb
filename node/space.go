package node

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/storage"
)

// A full disk (storage's write gate, space.go there) makes the node
// read-only: every write, ours or a peer's, fails with a
// *parley.DiskFullError before it is stored or acknowledged, so peers keep
// theirs queued and retry. Reads, the API and the GUI go on.

// spaceChanged is storage's OnSpace: it tells the GUI, and once the store
// is writable again, wakes resumeOnSpace. Called from the store's
// goroutine, possibly before New has built the rest: it touches only the
// hub and a channel.
func (n *Node) spaceChanged(st storage.SpaceState) {
	d := diskStatus(st)
	n.hub.publish(parley.Event{Type: parley.EventDisk, Disk: &d})
	if !st.Full {
		select {
		case n.writable <- struct{}{}:
		default:
		}
	}
}

// resumeOnSpace sends what waited for the disk: our queued messages go out
// at once instead of at their couriers' next back-off, and files the
// auto-accept rule took start. (Peers' couriers
// retry by themselves, within their back-off's one minute.)
func (n *Node) resumeOnSpace() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.writable:
		}
		n.kickOutboxes()
		if err := n.files.FetchAutoAccepted(); err != nil {
			n.log.Warn("starting auto-accepted files", "err", err)
		}
	}
}

// kickOutboxes starts delivery to every contact whose outbox holds
// something (a courier connects first if need be).
func (n *Node) kickOutboxes() {
	contacts, err := n.store.Contacts()
	if err != nil {
		return
	}
	for _, c := range contacts {
		p, err := peer.Decode(c.PeerID)
		if err != nil {
			continue
		}
		if q, err := n.store.OutboxLen(c.PeerID); err == nil && q > 0 {
			n.dm.Kick(p)
		}
	}
}

// Disk says whether the store takes writes, and how much space is free.
func (m *Messenger) Disk() parley.DiskStatus { return diskStatus(m.node().store.Space()) }

func diskStatus(st storage.SpaceState) parley.DiskStatus {
	return parley.DiskStatus{Free: st.Free, MinFree: st.MinFree, Full: st.Full}
}
