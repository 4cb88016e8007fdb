package parleytest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node"
)

// Node is a real node in this process, on loopback, with its own data dir.
// It embeds the running *node.Node (nil while stopped), so n.Messenger()
// and n.Host() are the current node's.
type Node struct {
	*node.Node
	// Name is the display name the node starts with; "" keeps the stored
	// one. Name and Dir hold across restarts and may change before Start.
	Name string
	Dir  string // the data dir

	t      testing.TB
	cfg    node.Config
	peerID string // known once started; a stopped node keeps it
}

// Option changes the node.Config a test node starts with, after the
// harness's defaults (see StartNode).
type Option func(*node.Config)

// InDir starts the node on an existing data dir instead of a fresh one.
func InDir(dir string) Option { return func(c *node.Config) { c.DataDir = dir } }

// Bootstrap gives the node DHT bootstrap peers (multiaddrs with /p2p/ID).
func Bootstrap(addrs ...string) Option {
	return func(c *node.Config) { c.Bootstrap = append(c.Bootstrap, addrs...) }
}

// Listen replaces the loopback TCP and QUIC listen addresses.
func Listen(addrs ...string) Option { return func(c *node.Config) { c.Listen = addrs } }

// SwarmKey puts the node in the private network of key, listening on
// loopback TCP only (QUIC cannot run in a private network).
func SwarmKey(key []byte) Option {
	return func(c *node.Config) {
		c.SwarmKey = key
		c.Listen = []string{loopbackTCP}
	}
}

// Gater decides which peers the node may connect to: tests cut links with it.
func Gater(g connmgr.ConnectionGater) Option {
	return func(c *node.Config) { c.ConnectionGater = g }
}

// DefaultIntervals keeps the node's own reconnect and group-sync intervals
// (30 s) instead of the harness's fast ones: for benchmarks, and for tests
// where a lookup must come from the path under test, not a reconnect.
func DefaultIntervals() Option {
	return func(c *node.Config) { c.ReconnectInterval, c.GroupSyncInterval = 0, 0 }
}

// GroupPeers bounds the members of each group the node keeps connected.
func GroupPeers(k int) Option { return func(c *node.Config) { c.GroupPeers = k } }

// ConnLimits sets the connection manager's watermarks and grace period.
func ConnLimits(low, high int, grace time.Duration) Option {
	return func(c *node.Config) { c.ConnLimits = node.ConnLimits{Low: low, High: high, Grace: grace} }
}

// DHTClient has the node query the DHT without serving it.
func DHTClient() Option { return func(c *node.Config) { c.DHTClient = true } }

// Bandwidth counts the node's bytes on the wire in r.
func Bandwidth(r metrics.Reporter) Option { return func(c *node.Config) { c.Bandwidth = r } }

// Quiet drops the node's logs: for benchmarks (each keystore's
// no-passphrase warning would fill the output) and nodes expected to fail.
func Quiet() Option { return func(c *node.Config) { c.Logger = slog.New(slog.DiscardHandler) } }

const (
	loopbackTCP  = "/ip4/127.0.0.1/tcp/0"
	loopbackQUIC = "/ip4/127.0.0.1/udp/0/quic-v1"
)

// StartNode starts a node named name in a fresh data dir, closed when the
// test ends. Defaults: TCP and QUIC on 127.0.0.1 (port 0), mDNS and the
// public DHT off, delivery retried every 20–500 ms, offline contacts every
// 100 ms, groups synced every 200 ms (so tests of reconnection and catch-up
// finish fast; each contact still backs off while it is away), warnings in
// the test's output. opts change any of these.
func StartNode(t testing.TB, name string, opts ...Option) *Node {
	t.Helper()
	cfg := node.Config{
		DataDir:           t.TempDir(),
		Name:              name,
		Listen:            []string{loopbackTCP, loopbackQUIC},
		RetryMin:          20 * time.Millisecond,
		RetryMax:          500 * time.Millisecond,
		ReconnectInterval: 100 * time.Millisecond,
		GroupSyncInterval: 200 * time.Millisecond,
		Logger:            Logger(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	n := &Node{Name: name, Dir: cfg.DataDir, t: t, cfg: cfg}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Start starts the node again on its data dir after Stop.
func (n *Node) Start() {
	n.t.Helper()
	cfg := n.cfg
	cfg.DataDir, cfg.Name = n.Dir, n.Name
	nd, err := node.New(context.Background(), cfg)
	if err != nil {
		n.t.Fatalf("starting %s: %v", n.Name, err)
	}
	n.Node, n.peerID = nd, nd.Messenger().Self().PeerID
}

// Stop closes the node; calling it twice is fine.
func (n *Node) Stop() {
	if n.Node == nil {
		return
	}
	if err := n.Node.Close(); err != nil {
		n.t.Errorf("closing %s: %v", n.Name, err)
	}
	n.Node = nil
}

// Restart stops the node and starts it again on the same data dir.
func (n *Node) Restart() {
	n.t.Helper()
	n.Stop()
	n.Start()
}

// PeerID is the node's peer ID, as a string; asked of a stopped node too
// (whether its contacts see it offline).
func (n *Node) PeerID() string { return n.peerID }

// AddrInfo is where n listens, for dialing it directly.
func (n *Node) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: n.Host().ID(), Addrs: n.Host().Addrs()}
}

// AddrlessInvite is n's invite with every address left out: whoever uses
// it must find n by peer ID alone.
func (n *Node) AddrlessInvite() string {
	n.t.Helper()
	return AddrlessInvite(n.t, n.Dir, n.Name)
}

// AddrlessInvite is the invite of the identity in data dir dir, under
// name, with no address: read from the keystore, so it works for a node
// in another process too (unsealed keystores only).
func AddrlessInvite(t testing.TB, dir, name string) string {
	t.Helper()
	id, _, err := identity.LoadOrCreate(dir, identity.KeystoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := id.SignCard(identity.Card{PeerID: id.PeerID, Name: name, HPKEKey: id.HPKEPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	return identity.EncodeInvite(signed)
}

// Befriend makes a and b contacts of each other through their invites,
// each naming the other by its Name.
func Befriend(t testing.TB, a, b *Node) {
	t.Helper()
	if _, _, err := a.Messenger().AddContact(context.Background(), b.Messenger().Self().InviteLong, b.Name); err != nil {
		t.Fatalf("%s adding %s: %v", a.Name, b.Name, err)
	}
	if _, _, err := b.Messenger().AddContact(context.Background(), a.Messenger().Self().InviteLong, a.Name); err != nil {
		t.Fatalf("%s adding %s: %v", b.Name, a.Name, err)
	}
}

// Connect connects a and b, forgetting the dial back-off that dials refused
// across a cut left behind.
func Connect(t testing.TB, a, b *Node) {
	t.Helper()
	for _, n := range []*Node{a, b} {
		if sw, ok := n.Host().Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(a.Host().ID())
			sw.Backoff().Clear(b.Host().ID())
		}
	}
	if err := a.Host().Connect(context.Background(), b.AddrInfo()); err != nil {
		t.Fatalf("connecting %s to %s: %v", a.Name, b.Name, err)
	}
}

// Logger shows a node's warnings in the test's output (printed only when
// the test fails or runs with -v).
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
