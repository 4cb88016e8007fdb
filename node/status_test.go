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
	"github.com/parley-im/parley/internal/parleytest"
)

func TestStatusListsConnectedPeers(t *testing.T) {
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)

	for _, pair := range []struct{ self, other *parleytest.Node }{{alice, bob}, {bob, alice}} {
		n, other := pair.self, pair.other
		var st parley.NetworkStatus
		parleytest.Eventually(t, n.Name+" listing "+other.Name, func() bool {
			st = n.Messenger().Status()
			return slices.ContainsFunc(st.Peers, func(p parley.ConnectedPeer) bool { return p.PeerID == other.PeerID() })
		})
		for _, p := range st.Peers {
			if p.PeerID != other.PeerID() {
				continue
			}
			if p.Name != other.Name || (p.Transport != "tcp" && p.Transport != "quic-v1") ||
				(p.Direction != "inbound" && p.Direction != "outbound") || len(p.Addrs) == 0 {
				t.Errorf("%s's view of %s: %+v", n.Name, other.Name, p)
			}
			wantLoopback(t, n.Name+"'s peer addrs", p.Addrs)
		}
		if len(st.ListenAddrs) != 2 || len(st.AnnouncedAddrs) == 0 {
			t.Errorf("%s: listen %v, announced %v", n.Name, st.ListenAddrs, st.AnnouncedAddrs)
		}
		wantLoopback(t, n.Name+"'s listen addrs", st.ListenAddrs)
		wantLoopback(t, n.Name+"'s announced addrs", st.AnnouncedAddrs)
		parleytest.Eventually(t, other.Name+" telling "+n.Name+" how it sees it", func() bool {
			st = n.Messenger().Status()
			return len(st.ObservedAddrs) > 0
		})
		wantLoopback(t, n.Name+"'s observed addrs", st.ObservedAddrs)
		// On loopback no peer runs an AutoNAT service, so reachability stays
		// unknown and the auto-server DHT serves.
		if st.Reachability != parley.ReachabilityUnknown || st.DHTMode != "server" {
			t.Errorf("%s: reachability %q, DHT mode %q", n.Name, st.Reachability, st.DHTMode)
		}
		if st.Relays == nil || len(st.Relays) != 0 || st.MDNS {
			t.Errorf("%s: relays %#v, mdns %v", n.Name, st.Relays, st.MDNS)
		}
	}
}

// AutoNAT's verdict reaches Status, and the DHT follows it into client mode.
func TestStatusFollowsReachability(t *testing.T) {
	alice := parleytest.StartNode(t, "alice")
	em, err := alice.Host().EventBus().Emitter(new(event.EvtLocalReachabilityChanged), eventbus.Stateful)
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPrivate}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "private and DHT client", func() bool {
		st := alice.Messenger().Status()
		return st.Reachability == parley.ReachabilityPrivate && st.DHTMode == "client"
	})
	if err := em.Emit(event.EvtLocalReachabilityChanged{Reachability: network.ReachabilityPublic}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "public and DHT server", func() bool {
		st := alice.Messenger().Status()
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
