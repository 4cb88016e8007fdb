package node_test

import (
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/parley-im/parley"
)

func TestStatusListsConnectedPeers(t *testing.T) {
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)

	for _, pair := range []struct{ self, other *testNode }{{alice, bob}, {bob, alice}} {
		n, other := pair.self, pair.other
		var st parley.NetworkStatus
		eventually(t, n.name+" listing "+other.name, func() bool {
			st = n.m.Status()
			return slices.ContainsFunc(st.Peers, func(p parley.ConnectedPeer) bool { return p.PeerID == other.peerID() })
		})
		for _, p := range st.Peers {
			if p.PeerID != other.peerID() {
				continue
			}
			if p.Name != other.name || (p.Transport != "tcp" && p.Transport != "quic-v1") ||
				(p.Direction != "inbound" && p.Direction != "outbound") || len(p.Addrs) == 0 {
				t.Errorf("%s's view of %s: %+v", n.name, other.name, p)
			}
			wantLoopback(t, n.name+"'s peer addrs", p.Addrs)
		}
		if len(st.ListenAddrs) != 2 || len(st.AnnouncedAddrs) == 0 {
			t.Errorf("%s: listen %v, announced %v", n.name, st.ListenAddrs, st.AnnouncedAddrs)
		}
		wantLoopback(t, n.name+"'s listen addrs", st.ListenAddrs)
		wantLoopback(t, n.name+"'s announced addrs", st.AnnouncedAddrs)
		eventually(t, other.name+" telling "+n.name+" how it sees it", func() bool {
			st = n.m.Status()
			return len(st.ObservedAddrs) > 0
		})
		wantLoopback(t, n.name+"'s observed addrs", st.ObservedAddrs)
		// On loopback no peer runs an AutoNAT service, so reachability stays
		// unknown and the auto-server DHT serves.
		if st.Reachability != parley.ReachabilityUnknown || st.DHTMode != "server" {
			t.Errorf("%s: reachability %q, DHT mode %q", n.name, st.Reachability, st.DHTMode)
		}
		if st.Relays == nil || len(st.Relays) != 0 || st.MDNS {
			t.Errorf("%s: relays %#v, mdns %v", n.name, st.Relays, st.MDNS)
		}
	}
}

// AutoNAT's verdict reaches Status, and the DHT follows it into client mode.
func TestStatusFollowsReachability(t *testing.T) {
	alice := startNode(t, "alice")
	em, err := alice.Host().EventBus().Emitter(new(event.EvtLocalReachabilityChanged), eventbus.Stateful)
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPrivate}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "private and DHT client", func() bool {
		st := alice.m.Status()
		return st.Reachability == parley.ReachabilityPrivate && st.DHTMode == "client"
	})
	if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPublic}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "public and DHT server", func() bool {
		st := alice.m.Status()
		return st.Reachability == parley.ReachabilityPublic && st.DHTMode == "server"
	})
}

func wantLoopback(t *testing.T, what string, addrs []string) {
	t.Helper()
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil || !manet.IsIPLoopback(a) {
			t.Errorf("%s: %q is not a loopback address (%v)", what, s, err)
		}
	}
}
