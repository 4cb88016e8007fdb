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

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// newSwarmKey is a fresh key in the swarm key file format.
func newSwarmKey() []byte {
	key := make([]byte, 32)
	rand.Read(key)
	return []byte("/key/swarm/psk/1.0.0/\n/base16/\n" + hex.EncodeToString(key) + "\n")
}

func TestPrivateNetworkKeepsOutsidersOut(t *testing.T) {
	ctx := context.Background()
	key := newSwarmKey()
	alice, bob := parleytest.StartNode(t, "alice", parleytest.SwarmKey(key)), parleytest.StartNode(t, "bob", parleytest.SwarmKey(key))
	parleytest.Befriend(t, alice, bob)
	hi, err := alice.Messenger().Send(ctx, "bob", "members only", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered inside the private network", func() bool {
		return alice.StatusOf("bob", hi.ID) == parley.StatusDelivered
	})
	st := alice.Messenger().Status()
	if !st.PrivateNetwork || len(st.ListenAddrs) != 1 || !strings.Contains(st.ListenAddrs[0], "/tcp/") {
		t.Errorf("alice's status: private %v, listen %v", st.PrivateNetwork, st.ListenAddrs)
	}
	carol := parleytest.StartNode(t, "carol") // no key
	if carol.Messenger().Status().PrivateNetwork {
		t.Error("a node without a swarm key reports a private network")
	}
	dave := parleytest.StartNode(t, "dave", parleytest.SwarmKey(newSwarmKey())) // another community's key

	outsiders := []*parleytest.Node{carol, dave}
	queued := make(map[*parleytest.Node]parley.EnvelopeID)
	for _, o := range outsiders {
		if _, _, err := o.Messenger().AddContact(ctx, alice.Messenger().Self().InviteLong, "alice"); err != nil {
			t.Fatal(err)
		}
		msg, err := o.Messenger().Send(ctx, "alice", "let me in", parley.ClientID{})
		if err != nil {
			t.Fatal(err)
		}
		queued[o] = msg.ID
	}
	// Every way at once: a dial across different keys may fail only at the
	// swarm's 5 s dial timeout.
	var wg sync.WaitGroup
	for _, o := range outsiders {
		for _, dial := range []struct{ from, to *parleytest.Node }{{o, alice}, {alice, o}} {
			wg.Go(func() {
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if err := dial.from.Host().Connect(dctx, dial.to.AddrInfo()); err == nil {
					t.Errorf("%s connected to %s across the swarm key", dial.from.Name, dial.to.Name)
				}
			})
		}
	}
	wg.Wait()
	for _, o := range outsiders {
		if c := alice.Host().Network().Connectedness(o.Host().ID()); c == network.Connected {
			t.Errorf("alice is connected to %s", o.Name)
		}
		if s := o.StatusOf(alice.PeerID(), queued[o]); s != parley.StatusQueued {
			t.Errorf("%s's message to alice is %v, want queued", o.Name, s)
		}
		// A message that got through would make o a contact request.
		if _, err := alice.Messenger().Resolve(ctx, o.PeerID()); !errors.Is(err, parley.ErrUnknownContact) {
			t.Errorf("alice knows %s: %v", o.Name, err)
		}
	}
}

// A private node binds its TCP port again after a restart, as any node does.
func TestPrivateNodeKeepsItsPort(t *testing.T) {
	alice := parleytest.StartNode(t, "alice", parleytest.SwarmKey(newSwarmKey()))
	before := alice.Messenger().Status().ListenAddrs
	alice.Restart()
	if after := alice.Messenger().Status().ListenAddrs; !slices.Equal(before, after) {
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
