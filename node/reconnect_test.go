package node_test

import (
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// A dropped connection to a contact comes back by itself, with nothing
// queued to deliver and no restart.
func TestDroppedContactReconnects(t *testing.T) {
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	aliceID, bobID := mustDecode(t, alice.PeerID()), mustDecode(t, bob.PeerID())
	parleytest.Eventually(t, "connected", func() bool { return alice.Messenger().Online(bob.PeerID()) })
	// Drop every connection, again if a dial still in flight from adding
	// the contacts brings one back, until both are seen apart.
	parleytest.Eventually(t, "disconnected", func() bool {
		if !alice.Messenger().Online(bob.PeerID()) {
			return true
		}
		alice.Host().Network().ClosePeer(bobID)
		bob.Host().Network().ClosePeer(aliceID)
		return false
	})
	parleytest.Eventually(t, "reconnected", func() bool { return alice.Messenger().Online(bob.PeerID()) })
}
