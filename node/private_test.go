package node_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node"
)

// newSwarmKey is a fresh key in the swarm key file format.
func newSwarmKey() []byte {
	key := make([]byte, 32)
	rand.Read(key)
	return []byte("/key/swarm/psk/1.0.0/\n/base16/\n" + hex.EncodeToString(key) + "\n")
}

// startPrivateNode starts a node in the private network of key, on TCP.
func startPrivateNode(t *testing.T, name string, key []byte) *testNode {
	t.Helper()
	tn := &testNode{t: t, dir: t.TempDir(), name: name, swarmKey: key}
	tn.start()
	t.Cleanup(tn.stop)
	return tn
}

// addrInfo is where n listens, for dialing it directly.
func addrInfo(n *testNode) peer.AddrInfo {
	return peer.AddrInfo{ID: n.Host().ID(), Addrs: n.Host().Addrs()}
}

func TestPrivateNetworkKeepsOutsidersOut(t *testing.T) {
	ctx := context.Background()
	key := newSwarmKey()
	alice, bob := startPrivateNode(t, "alice", key), startPrivateNode(t, "bob", key)
	befriend(t, alice, bob)
	hi, err := alice.m.Send(ctx, "bob", "members only")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered inside the private network", func() bool {
		return alice.statusOf("bob", hi.ID) == parley.StatusDelivered
	})
	st := alice.m.Status()
	if !st.PrivateNetwork || len(st.ListenAddrs) != 1 || !strings.Contains(st.ListenAddrs[0], "/tcp/") {
		t.Errorf("alice's status: private %v, listen %v", st.PrivateNetwork, st.ListenAddrs)
	}
	carol := startNode(t, "carol") // no key
	if carol.m.Status().PrivateNetwork {
		t.Error("a node without a swarm key reports a private network")
	}
	dave := startPrivateNode(t, "dave", newSwarmKey()) // another community's key

	outsiders := []*testNode{carol, dave}
	queued := make(map[*testNode]parley.EnvelopeID)
	for _, o := range outsiders {
		if _, err := o.m.AddContact(ctx, alice.m.Self().Invite, "alice"); err != nil {
			t.Fatal(err)
		}
		msg, err := o.m.Send(ctx, "alice", "let me in")
		if err != nil {
			t.Fatal(err)
		}
		queued[o] = msg.ID
	}
	// Every way at once: a dial across different keys may fail only at the
	// swarm's 5 s dial timeout.
	var wg sync.WaitGroup
	for _, o := range outsiders {
		for _, dial := range []struct{ from, to *testNode }{{o, alice}, {alice, o}} {
			wg.Go(func() {
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if err := dial.from.Host().Connect(dctx, addrInfo(dial.to)); err == nil {
					t.Errorf("%s connected to %s across the swarm key", dial.from.name, dial.to.name)
				}
			})
		}
	}
	wg.Wait()
	for _, o := range outsiders {
		if c := alice.Host().Network().Connectedness(o.Host().ID()); c == network.Connected {
			t.Errorf("alice is connected to %s", o.name)
		}
		if s := o.statusOf(alice.peerID(), queued[o]); s != parley.StatusQueued {
			t.Errorf("%s's message to alice is %v, want queued", o.name, s)
		}
		// A message that got through would make o a contact request.
		if _, err := alice.m.Resolve(ctx, o.peerID()); !errors.Is(err, parley.ErrUnknownContact) {
			t.Errorf("alice knows %s: %v", o.name, err)
		}
	}
}

// A private node binds its TCP port again after a restart, as any node does.
func TestPrivateNodeKeepsItsPort(t *testing.T) {
	alice := startPrivateNode(t, "alice", newSwarmKey())
	before := alice.m.Status().ListenAddrs
	alice.restart()
	if after := alice.m.Status().ListenAddrs; !slices.Equal(before, after) {
		t.Errorf("listen addresses changed across a restart: %v → %v", before, after)
	}
}

func TestSwarmKeyRefusals(t *testing.T) {
	good := newSwarmKey()
	for _, tc := range []struct {
		name      string
		key       []byte
		listen    []string
		malformed bool
		want      string
	}{
		{"no header", []byte(strings.Repeat("ab", 32)), nil, true, "swarm key"},
		{"unknown encoding", []byte("/key/swarm/psk/1.0.0/\n/base58/\nxyz\n"), nil, true, "swarm key"},
		{"short key", []byte("/key/swarm/psk/1.0.0/\n/base16/\nabcd\n"), nil, true, "swarm key"},
		{"not hex", []byte("/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat("zz", 32) + "\n"), nil, true, "swarm key"},
		{"QUIC listen address", good, []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}, false, "QUIC cannot run in a private network"},
	} {
		dir := t.TempDir()
		listen := tc.listen
		if listen == nil {
			listen = []string{"/ip4/127.0.0.1/tcp/0"}
		}
		n, err := node.New(context.Background(), node.Config{DataDir: dir, Listen: listen, SwarmKey: tc.key, Logger: quiet})
		if err == nil {
			n.Close()
			t.Errorf("%s: the node started", tc.name)
			continue
		}
		if errors.Is(err, parley.ErrMalformed) != tc.malformed || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: the refused node wrote to its data dir", tc.name)
		}
	}
}
