package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// dhtNodes is how many nodes TestDHTFindsContactAmongMany runs in one
// process: enough that most pairs are not connected directly.
const dhtNodes = 20

// In a 20-node Parley DHT, bootstrapped from one node, a user who knows a
// contact only by peer ID (and keys) finds and reaches them.
func TestDHTFindsContactAmongMany(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 nodes")
	}
	ctx := context.Background()
	boot := parleytest.StartNode(t, "boot")
	addr := boot.Messenger().Self().Addrs[0]
	nodes := make([]*parleytest.Node, dhtNodes-1)
	for i := range nodes {
		nodes[i] = parleytest.StartNode(t, "n"+string(rune('a'+i)), parleytest.Bootstrap(addr))
	}
	alice, zed := nodes[0], nodes[len(nodes)-1]
	if alice.Messenger().Online(zed.PeerID()) {
		t.Log("alice and zed are already connected through DHT maintenance; the lookup is trivial")
	}
	if _, _, err := alice.Messenger().AddContact(ctx, zed.AddrlessInvite(), "zed"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := alice.Messenger().Send(ctx, "zed", "found you among twenty", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered through the DHT", func() bool { return alice.StatusOf("zed", m.ID) == parley.StatusDelivered })
	t.Logf("lookup, connect and delivery took %v", time.Since(start))
	if got := zed.Messages(alice.PeerID()); len(got) != 1 || got[0].Text != "found you among twenty" {
		t.Fatalf("zed holds %+v", got)
	}
}
