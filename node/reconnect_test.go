package node_test

import (
	"testing"
)

// A dropped connection to a contact comes back by itself, with nothing
// queued to deliver and no restart.
func TestDroppedContactReconnects(t *testing.T) {
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	aliceID, bobID := mustDecode(t, alice.peerID()), mustDecode(t, bob.peerID())
	eventually(t, "connected", func() bool { return alice.m.Online(bob.peerID()) })
	// Drop every connection, again if a dial still in flight from adding
	// the contacts brings one back, until both are seen apart.
	eventually(t, "disconnected", func() bool {
		if !alice.m.Online(bob.peerID()) {
			return true
		}
		alice.Host().Network().ClosePeer(bobID)
		bob.Host().Network().ClosePeer(aliceID)
		return false
	})
	eventually(t, "reconnected", func() bool { return alice.m.Online(bob.peerID()) })
}
