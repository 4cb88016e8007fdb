package node_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	circuitproto "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node"
)

// startConfigured starts a node on loopback with cfg's network options.
func startConfigured(t *testing.T, name string, cfg node.Config) *testNode {
	t.Helper()
	tn := &testNode{t: t, dir: t.TempDir(), name: name}
	cfg.DataDir, cfg.Name, cfg.Logger = tn.dir, name, testLogger(t)
	cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 500*time.Millisecond
	nd, err := node.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	tn.Node, tn.m = nd, nd.Messenger()
	t.Cleanup(tn.stop)
	return tn
}

// A node told it is a relay is public at once: it serves relay v2 and the
// DHT with no AutoNAT verdict (none comes on loopback).
func TestRelayServiceServesAtOnce(t *testing.T) {
	relay := startConfigured(t, "relay", node.Config{RelayService: true})
	eventually(t, "public, serving the DHT and relay v2", func() bool {
		st := relay.m.Status()
		return st.Reachability == parley.ReachabilityPublic && st.DHTMode == "server" &&
			slices.Contains(relay.Host().Mux().Protocols(), circuitproto.ProtoIDv2Hop)
	})
	// Without the flag, on loopback, nothing says the node is public: it
	// offers no relay.
	plain := startNode(t, "plain")
	if slices.Contains(plain.Host().Mux().Protocols(), circuitproto.ProtoIDv2Hop) {
		t.Error("a node of unknown reachability serves as a relay")
	}
}

// publicDHTStandIn is a one-server stand-in for the public IPFS DHT, on
// loopback: go-libp2p-kad-dht with its defaults (the /ipfs prefix).
func publicDHTStandIn(t *testing.T) (*dht.IpfsDHT, string) {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	d, err := dht.New(h, dht.Mode(dht.ModeServer))
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		h.Close()
	})
	return d, h.Addrs()[0].String() + "/p2p/" + h.ID().String()
}

// Two nodes with no Parley bootstrap peer in common, both in the public
// DHT (here a stand-in): one finds the other by peer ID alone, through the
// rendezvous key the other advertises there, and they chat.
func TestPublicDHTFindsContact(t *testing.T) {
	public, addr := publicDHTStandIn(t)
	cfg := node.Config{PublicDHT: true, PublicDHTBootstrap: []string{addr}}
	alice, bob := startConfigured(t, "alice", cfg), startConfigured(t, "bob", cfg)

	bobID, err := peer.Decode(bob.peerID())
	if err != nil {
		t.Fatal(err)
	}
	disc := drouting.NewRoutingDiscovery(public)
	eventually(t, "bob's peer key advertised in the public DHT", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		found, err := disc.FindPeers(ctx, node.PeerRendezvousKey(bobID))
		if err != nil {
			return false
		}
		for ai := range found {
			if ai.ID == bobID {
				return true
			}
		}
		return false
	})
	if alice.m.Online(bob.peerID()) || alice.m.Status().DHTPeers != 0 {
		t.Fatal("alice is connected to bob, or has Parley DHT peers, before any lookup")
	}
	if _, err := alice.m.AddContact(context.Background(), inviteWithoutAddrs(t, bob), "bob"); err != nil {
		t.Fatal(err)
	}
	m, err := alice.m.Send(context.Background(), "bob", "found you in the public DHT")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered through the public DHT", func() bool { return alice.statusOf("bob", m.ID) == parley.StatusDelivered })
}

// The public DHT's peers cannot hold a private network's key.
func TestPublicDHTRefusedInPrivateNetwork(t *testing.T) {
	_, err := node.New(context.Background(), node.Config{
		DataDir: t.TempDir(), Listen: []string{"/ip4/127.0.0.1/tcp/0"}, SwarmKey: newSwarmKey(), PublicDHT: true, Logger: quiet,
	})
	if err == nil || !strings.Contains(err.Error(), "private network") {
		t.Fatalf("public DHT with a swarm key: %v", err)
	}
}
