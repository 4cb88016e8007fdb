package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-im/parley"
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
	boot := startNode(t, "boot")
	addr := boot.m.Self().Addrs[0]
	nodes := make([]*testNode, dhtNodes-1)
	for i := range nodes {
		nodes[i] = startNode(t, "n"+string(rune('a'+i)), addr)
	}
	alice, zed := nodes[0], nodes[len(nodes)-1]
	if alice.m.Online(zed.peerID()) {
		t.Log("alice and zed are already connected through DHT maintenance; the lookup is trivial")
	}
	if _, err := alice.m.AddContact(ctx, inviteWithoutAddrs(t, zed), "zed"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := alice.m.Send(ctx, "zed", "found you among twenty")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered through the DHT", func() bool { return alice.statusOf("zed", m.ID) == parley.StatusDelivered })
	t.Logf("lookup, connect and delivery took %v", time.Since(start))
	if got := zed.messages(alice.peerID()); len(got) != 1 || got[0].Text != "found you among twenty" {
		t.Fatalf("zed holds %+v", got)
	}
}
