package node

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

// Reconnecting to contacts. Delivery retries only peers with queued
// messages, and a restart dials every contact once; between the two, a
// contact lost to a dropped link or a healed partition would stay offline
// until someone wrote. So the node keeps trying its offline contacts, each
// on a back-off of its own, so a contact gone for days costs one attempt
// every maxReconnectBackoff.
const (
	defaultReconnectInterval = 30 * time.Second
	maxReconnectBackoff      = 10 * time.Minute
)

// reconnectState is one offline contact's back-off.
type reconnectState struct {
	next  time.Time
	delay time.Duration
}

// keepContactsInReach runs until Close.
func (n *Node) keepContactsInReach(interval time.Duration) {
	defer n.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	backoff := make(map[peer.ID]*reconnectState)
	for {
		select {
		case <-n.ctx.Done():
			return
		case now := <-tick.C:
			n.reconnectDue(now, interval, backoff)
		}
	}
}

// reconnectDue tries the offline contacts whose back-off has run out.
func (n *Node) reconnectDue(now time.Time, interval time.Duration, backoff map[peer.ID]*reconnectState) {
	contacts, err := n.store.Contacts()
	if err != nil {
		n.log.Warn("listing contacts to reconnect", "err", err)
		return
	}
	offline := make(map[peer.ID]bool)
	for _, c := range contacts {
		p, err := peer.Decode(c.PeerID)
		if err != nil || p == n.host.ID() || c.State != parley.ContactAccepted {
			continue
		}
		if !reachable(n.host.Network().Connectedness(p)) {
			offline[p] = true
		}
	}
	for p := range backoff {
		if !offline[p] {
			delete(backoff, p) // back online, or no longer a contact
		}
	}
	for p := range offline {
		st := backoff[p]
		if st == nil {
			st = &reconnectState{delay: interval}
			backoff[p] = st
		}
		if now.Before(st.next) {
			continue
		}
		n.reach(p)
		st.next = now.Add(st.delay)
		st.delay = min(2*st.delay, maxReconnectBackoff)
	}
}
