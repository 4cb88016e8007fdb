package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	circuitproto "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// startConfigured starts a node on loopback with cfg's network options, in
// cfg.DataDir if set (a restart), else in a fresh data dir. Contacts are
// retried at the node's own pace (cfg's intervals, zero: the defaults).
func startConfigured(t *testing.T, name string, cfg node.Config) *parleytest.Node {
	t.Helper()
	return parleytest.StartNode(t, name, func(c *node.Config) {
		if cfg.DataDir == "" {
			cfg.DataDir = c.DataDir
		}
		cfg.Name, cfg.Listen, cfg.Logger = c.Name, c.Listen, c.Logger
		cfg.RetryMin, cfg.RetryMax = c.RetryMin, c.RetryMax
		*c = cfg
	})
}

// A node told it is a relay is public at once: it serves relay v2 and the
// DHT with no AutoNAT verdict (none comes on loopback).
func TestRelayServiceServesAtOnce(t *testing.T) {
	relay := startConfigured(t, "relay", node.Config{RelayService: true})
	parleytest.Eventually(t, "public, serving the DHT and relay v2", func() bool {
		st := relay.Messenger().Status()
		return st.Reachability == parley.ReachabilityPublic && st.DHTMode == "server" && st.RelayService &&
			slices.Contains(relay.Host().Mux().Protocols(), circuitproto.ProtoIDv2Hop)
	})
	// Without the flag, on loopback, nothing says the node is public: it
	// offers no relay.
	plain := parleytest.StartNode(t, "plain")
	if slices.Contains(plain.Host().Mux().Protocols(), circuitproto.ProtoIDv2Hop) || plain.Messenger().Status().RelayService {
		t.Error("a node of unknown reachability serves as a relay")
	}
}

// Two nodes with no Parley bootstrap peer in common, both in the public
// DHT (here a stand-in): one finds the other by peer ID alone, through the
// rendezvous key the other advertises there, and they chat.
func TestPublicDHTFindsContact(t *testing.T) {
	public, addr := parleytest.PublicDHTStandIn(t)
	cfg := node.Config{PublicDHT: true, PublicDHTBootstrap: []string{addr}}
	alice, bob := startConfigured(t, "alice", cfg), startConfigured(t, "bob", cfg)

	bobID, err := peer.Decode(bob.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	disc := drouting.NewRoutingDiscovery(public)
	parleytest.Eventually(t, "bob's peer key advertised in the public DHT", func() bool {
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
	if alice.Messenger().Online(bob.PeerID()) || alice.Messenger().Status().DHTPeers != 0 {
		t.Fatal("alice is connected to bob, or has Parley DHT peers, before any lookup")
	}
	if _, _, err := alice.Messenger().AddContact(context.Background(), bob.AddrlessInvite(), "bob"); err != nil {
		t.Fatal(err)
	}
	m, err := alice.Messenger().Send(context.Background(), "bob", "found you in the public DHT", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered through the public DHT", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })
}

// The public DHT's peers cannot hold a private network's key: the flag
// stops the start, the setting is refused, and a setting stored before the
// data dir joined a private network is ignored. (Each node is pointed at
// a stand-in, so that a failure never reaches the real public DHT.)
func TestPublicDHTRefusedInPrivateNetwork(t *testing.T) {
	_, addr := parleytest.PublicDHTStandIn(t)
	cfg := func(dir string) node.Config {
		return node.Config{DataDir: dir, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, SwarmKey: newSwarmKey(),
			PublicDHTBootstrap: []string{addr}, Logger: quiet}
	}
	flagged := cfg(t.TempDir())
	flagged.PublicDHT = true
	_, err := node.New(context.Background(), flagged)
	if !errors.Is(err, parley.ErrPrivateNetwork) || !strings.Contains(err.Error(), "public DHT") {
		t.Fatalf("public DHT with a swarm key: %v", err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte(`{"public_dht": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := node.New(context.Background(), cfg(dir))
	if err != nil {
		t.Fatalf("a stored public DHT setting stopped a private node: %v", err)
	}
	defer n.Close()
	m := n.Messenger()
	if m.Status().PublicDHT || m.Settings(t.Context()).PublicDHT {
		t.Error("a private node joined the public DHT by a stored setting")
	}
	if _, err := m.SetPublicDHT(t.Context(), true); !errors.Is(err, parley.ErrPrivateNetwork) {
		t.Errorf("SetPublicDHT(true) with a swarm key: %v, want ErrPrivateNetwork", err)
	}
	if m.Status().PublicDHT {
		t.Error("a refused SetPublicDHT joined the public DHT")
	}
	// Leaving is always allowed, and stored.
	if set, err := m.SetPublicDHT(t.Context(), false); err != nil || set.PublicDHT {
		t.Errorf("SetPublicDHT(false) with a swarm key: %+v, %v", set, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "settings.json")); !strings.Contains(string(b), `"public_dht": false`) {
		t.Errorf("settings.json after leaving: %s", b)
	}
}

// The public DHT as a setting: joined and left while the node runs, and
// still joined (or left) after a restart. Status polls throughout, for the
// race detector.
func TestSetPublicDHT(t *testing.T) {
	_, addr := parleytest.PublicDHTStandIn(t)
	cfg := node.Config{PublicDHTBootstrap: []string{addr}}
	alice := startConfigured(t, "alice", cfg)
	ctx := t.Context()
	if alice.Messenger().Status().PublicDHT || alice.Messenger().Settings(ctx).PublicDHT {
		t.Fatal("the public DHT is on by default")
	}

	stopPolling := pollStatus(alice.Messenger())
	set, err := alice.Messenger().SetPublicDHT(ctx, true)
	if err != nil || !set.PublicDHT {
		t.Fatalf("SetPublicDHT(true): %+v, %v", set, err)
	}
	inPublicDHT := func(n *parleytest.Node) func() bool {
		return func() bool {
			st := n.Messenger().Status()
			return st.PublicDHT && st.PublicDHTPeers > 0
		}
	}
	parleytest.Eventually(t, "the stand-in in alice's public routing table", inPublicDHT(alice))
	publicGoroutines := []string{"node.(*publicDHT).run(", "node.watchAddrs("}
	if goroutinesIn(publicGoroutines...) == "" {
		t.Fatal("no public DHT goroutine found while joined: the check after leaving would prove nothing")
	}
	if set, err := alice.Messenger().SetPublicDHT(ctx, true); err != nil || !set.PublicDHT {
		t.Fatalf("SetPublicDHT(true) again: %+v, %v", set, err)
	}

	stopPolling()

	// The setting outlives the node; Config.PublicDHT stays off.
	alice.Stop()
	cfg.DataDir = alice.Dir
	alice = startConfigured(t, "alice", cfg)
	if !alice.Messenger().Settings(ctx).PublicDHT {
		t.Fatal("the public DHT is off after a restart")
	}
	parleytest.Eventually(t, "the stand-in in alice's public routing table after a restart", inPublicDHT(alice))

	stopPolling = pollStatus(alice.Messenger())
	set, err = alice.Messenger().SetPublicDHT(ctx, false)
	stopPolling()
	if err != nil || set.PublicDHT {
		t.Fatalf("SetPublicDHT(false): %+v, %v", set, err)
	}
	if st := alice.Messenger().Status(); st.PublicDHT || st.PublicDHTPeers != 0 {
		t.Errorf("status after leaving: public DHT %v, %d peers", st.PublicDHT, st.PublicDHTPeers)
	}
	// Leaving returns once the public DHT's goroutines have ended.
	if g := goroutinesIn(publicGoroutines...); g != "" {
		t.Errorf("the public DHT still runs after leaving:\n%s", g)
	}
	alice.Stop()
	alice = startConfigured(t, "alice", cfg)
	if alice.Messenger().Settings(ctx).PublicDHT || alice.Messenger().Status().PublicDHT {
		t.Error("the public DHT is on again after a restart")
	}
	// The command-line flag joins whatever the setting says.
	alice.Stop()
	cfg.PublicDHT = true
	alice = startConfigured(t, "alice", cfg)
	parleytest.Eventually(t, "alice in the public DHT by Config.PublicDHT", inPublicDHT(alice))
}

// pollStatus reads m's status and settings until the returned stop is
// called: beside SetPublicDHT, for the race detector.
func pollStatus(m *node.Messenger) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				m.Status()
				m.Settings(context.Background())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// goroutinesIn describes the goroutines with a frame in any of funcs
// (written "pkg.name(", which "created by" lines do not match); "" when
// there are none.
func goroutinesIn(funcs ...string) string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for _, f := range funcs {
			if strings.Contains(g, f) {
				out = append(out, g)
				break
			}
		}
	}
	return strings.Join(out, "\n\n")
}
