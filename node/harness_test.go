package node_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"go.uber.org/goleak"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Started once per process by libraries we use, never stopped.
		goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("github.com/dgraph-io/ristretto/v2/z.(*AllocatorPool).freeupAllocators"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p-kad-dht/netsize.(*Estimator).track"),
	)
}

// testNode is a real node on loopback with its own data dir. mDNS stays off:
// tests never reach beyond this machine.
type testNode struct {
	t         *testing.T
	dir       string
	name      string
	bootstrap []string
	swarmKey  []byte // set: a private network, on TCP only
	gater     connmgr.ConnectionGater
	listen    []string // nil: TCP and QUIC on loopback
	*node.Node
	m *node.Messenger
}

// startNode starts a node named name in a fresh data dir.
func startNode(t *testing.T, name string, bootstrap ...string) *testNode {
	t.Helper()
	return startNodeIn(t, t.TempDir(), name, bootstrap...)
}

// startNodeIn starts (or restarts) a node on an existing data dir.
func startNodeIn(t *testing.T, dir, name string, bootstrap ...string) *testNode {
	t.Helper()
	tn := &testNode{t: t, dir: dir, name: name, bootstrap: bootstrap}
	tn.start()
	t.Cleanup(tn.stop)
	return tn
}

func (n *testNode) start() {
	n.t.Helper()
	listen := []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	if n.swarmKey != nil {
		listen = listen[:1]
	}
	if n.listen != nil {
		listen = n.listen
	}
	nd, err := node.New(context.Background(), node.Config{
		DataDir:   n.dir,
		Listen:    listen,
		SwarmKey:  n.swarmKey,
		Bootstrap: n.bootstrap,
		Name:      n.name,
		RetryMin:  20 * time.Millisecond,
		RetryMax:  500 * time.Millisecond,
		// Contacts are retried every 100ms, so tests of reconnection
		// finish fast; each contact still backs off while it is away.
		ReconnectInterval: 100 * time.Millisecond,
		GroupSyncInterval: 200 * time.Millisecond,
		ConnectionGater:   n.gater,
		Logger:            testLogger(n.t),
	})
	if err != nil {
		n.t.Fatalf("starting %s: %v", n.name, err)
	}
	n.Node, n.m = nd, nd.Messenger()
}

// stop closes the node; calling it twice is fine.
func (n *testNode) stop() {
	if n.Node == nil {
		return
	}
	if err := n.Node.Close(); err != nil {
		n.t.Errorf("closing %s: %v", n.name, err)
	}
	n.Node = nil
}

// restart stops the node and starts it again on the same data dir.
func (n *testNode) restart() {
	n.t.Helper()
	n.stop()
	n.start()
}

func (n *testNode) peerID() string { return n.m.Self().PeerID }

// befriend makes a and b contacts of each other through their invites.
func befriend(t *testing.T, a, b *testNode) {
	t.Helper()
	if _, err := a.m.AddContact(context.Background(), b.m.Self().Invite, b.name); err != nil {
		t.Fatalf("%s adding %s: %v", a.name, b.name, err)
	}
	if _, err := b.m.AddContact(context.Background(), a.m.Self().Invite, a.name); err != nil {
		t.Fatalf("%s adding %s: %v", b.name, a.name, err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin is eventually with a deadline of its own.
func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// messages is n's view of the conversation with peer, without marking read.
func (n *testNode) messages(peer string) []parley.Message {
	n.t.Helper()
	ms, err := n.m.Messages(context.Background(), peer, 0, false)
	if err != nil {
		n.t.Fatalf("%s listing messages with %s: %v", n.name, peer, err)
	}
	return ms
}

// statusOf is the status n holds for message id in its conversation with peer.
func (n *testNode) statusOf(peer string, id parley.EnvelopeID) parley.Status {
	for _, m := range n.messages(peer) {
		if m.ID == id {
			return m.Status
		}
	}
	n.t.Fatalf("%s has no message %s", n.name, id)
	return 0
}

// filesContaining lists the files under dir whose bytes contain needle.
func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// newNodeErr tries to start a node on dir and returns the error, closing
// the node if it unexpectedly started.
func newNodeErr(dir string) (*node.Node, error) {
	n, err := node.New(context.Background(), node.Config{DataDir: dir, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: quiet})
	if err == nil {
		n.Close()
	}
	return n, err
}

// inviteWithoutAddrs is n's invite with every address left out: whoever
// uses it must find n by peer ID alone.
func inviteWithoutAddrs(t *testing.T, n *testNode) string {
	t.Helper()
	id, _, err := identity.LoadOrCreate(n.dir, identity.KeystoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := id.SignCard(identity.Card{PeerID: id.PeerID, Name: n.name, HPKEKey: id.HPKEPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	return identity.EncodeInvite(signed)
}

// testLogger shows a node's warnings in the test's output (printed only
// when the test fails or runs with -v).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// quiet drops logs, for benchmarks and for nodes expected to fail.
var quiet = slog.New(slog.DiscardHandler)
