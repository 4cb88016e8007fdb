package pubsub

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// member is one Groups service on a real loopback host with a real store.
// Keys travel by a direct call into the recipient's OnGroupKeys instead of
// the DM protocol (the node's tests cover that path).
type member struct {
	t      *testing.T
	name   string
	id     *identity.Identity
	host   host.Host
	router *Router
	store  *storage.DB
	groups *Groups
	net    *testNet
}

// testNet routes key handovers between the members of one test.
type testNet struct {
	mu      sync.Mutex
	members map[string]*member // by peer ID; guarded by mu
	// onEvent, when set before the members start, sees what each member's
	// service notifies (by the member's name).
	onEvent func(name string, ev parley.Event)
	// routerOpts, likewise, adds options to each member's router.
	routerOpts func(name string) []gossipsub.Option
	// intercept, when set, sees each key handover first and may keep it
	// (true): the handover then does not happen.
	intercept func(from peer.ID, to *member, keys *pb.GroupKeys) bool
}

func (tn *testNet) member(p string) *member {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.members[p]
}

func newTestNet() *testNet { return &testNet{members: make(map[string]*member)} }

func (tn *testNet) start(t *testing.T, name string) *member {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(id.Key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	var opts []gossipsub.Option
	if tn.routerOpts != nil {
		opts = tn.routerOpts(name)
	}
	r, err := NewRouter(h, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(storage.Options{Dir: filepath.Join(t.TempDir(), "db"), EncryptionKey: id.StoreKey, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{t: t, name: name, id: id, host: h, router: r, store: db, net: tn}
	m.groups, err = NewGroups(Config{
		Host: h, Router: r, Identity: id, Store: db, Clock: parley.NewClock(nil),
		SelfName: func() string { return name },
		SendKeys: func(to parley.Contact, keys *pb.GroupKeys) error {
			if dst := tn.member(to.PeerID); dst != nil {
				tn.mu.Lock()
				intercept := tn.intercept
				tn.mu.Unlock()
				if intercept != nil && intercept(h.ID(), dst, proto.CloneOf(keys)) {
					return nil
				}
				return dst.groups.OnGroupKeys(h.ID(), proto.CloneOf(keys))
			}
			return nil
		},
		Notify: func(ev parley.Event) {
			if tn.onEvent != nil {
				tn.onEvent(name, ev)
			}
		},
		Active: func(parley.ConversationID) {},
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	tn.mu.Lock()
	tn.members[h.ID().String()] = m
	tn.mu.Unlock()
	t.Cleanup(func() {
		m.groups.Close()
		r.Close()
		h.Close()
		db.Close()
	})
	return m
}

// contact makes other a contact of m (what an invite needs).
func (m *member) contact(other *member) parley.Contact {
	m.t.Helper()
	c := parley.Contact{PeerID: other.host.ID().String(), Name: other.name, HPKEKey: other.id.HPKEPublicKey(), State: parley.ContactAccepted}
	if err := m.store.PutContact(c); err != nil {
		m.t.Fatal(err)
	}
	return c
}

func connect(t *testing.T, a, b host.Host) {
	t.Helper()
	if err := a.Connect(context.Background(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

// invite has admin add m to group and m accept.
func invite(t *testing.T, admin, m *member, group parley.ConversationID) {
	t.Helper()
	m.contact(admin)
	if _, err := admin.groups.Invite(group, admin.contact(m)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.groups.Accept(group); err != nil {
		t.Fatal(err)
	}
	// The new member catches the ops up (the node does this with sync).
	ops, err := admin.store.GroupOps(group)
	if err != nil {
		t.Fatal(err)
	}
	envs := make([][]byte, len(ops))
	for i, o := range ops {
		envs[i] = o.Envelope
	}
	if _, rejected, err := m.groups.Ingest(group, envs); err != nil || rejected != 0 {
		t.Fatalf("catching up ops: %d rejected, %v", rejected, err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func texts(t *testing.T, m *member, group parley.ConversationID) []string {
	t.Helper()
	msgs, err := m.groups.Messages(group, parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(msgs))
	for i, msg := range msgs {
		out[i] = msg.Text
	}
	return out
}

// rawPeer is a peer on a group's topic that is not a member: a bare host
// with a router of ours and no validator, as a relay or an attacker has.
type rawPeer struct {
	host  host.Host
	topic *gossipsub.Topic
	sub   *gossipsub.Subscription
}

// newRawPeer starts a rawPeer on group's topic; the test's cleanup stops it.
func newRawPeer(t *testing.T, group parley.ConversationID) *rawPeer {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	r, err := NewRouter(h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	topic, err := r.PubSub().Join(TopicName(group))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { topic.Close() })
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	return &rawPeer{host: h, topic: topic, sub: sub}
}

// meshWith connects rp to m and waits until each knows the other on the
// topic and has its own pubsub stream to it: a message sent before that
// may be dropped, and only sync (not run here) would recover it.
func (rp *rawPeer) meshWith(t *testing.T, m *member, group parley.ConversationID) {
	t.Helper()
	connect(t, rp.host, m.host)
	eventually(t, m.name+" and the raw peer on the topic", func() bool {
		return hasPeer(rp.topic.ListPeers(), m.host.ID()) && hasPeer(m.topicPeers(group), rp.host.ID()) &&
			pubsubStream(rp.host, m.host.ID()) && pubsubStream(m.host, rp.host.ID())
	})
}

func hasPeer(ps []peer.ID, p peer.ID) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// topicPeers lists the peers m knows on a group's topic.
func (m *member) topicPeers(group parley.ConversationID) []peer.ID {
	m.groups.mu.Lock()
	g := m.groups.groups[group]
	m.groups.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.topic == nil {
		return nil
	}
	return g.topic.ListPeers()
}

// meshed waits until a and b know each other on a group's topic and each
// has its own pubsub stream to the other: a message published before that
// may be dropped (the node's sync recovers such messages; these tests run
// no sync).
func meshed(t *testing.T, group parley.ConversationID, a, b *member) {
	t.Helper()
	eventually(t, a.name+" and "+b.name+" on the topic", func() bool {
		return hasPeer(a.topicPeers(group), b.host.ID()) && hasPeer(b.topicPeers(group), a.host.ID()) &&
			pubsubStream(a.host, b.host.ID()) && pubsubStream(b.host, a.host.ID())
	})
}

// pubsubStream reports whether h has opened its GossipSub stream to p.
func pubsubStream(h host.Host, p peer.ID) bool {
	for _, c := range h.Network().ConnsToPeer(p) {
		for _, st := range c.GetStreams() {
			if strings.HasPrefix(string(st.Protocol()), "/meshsub/") && st.Stat().Direction == network.DirOutbound {
				return true
			}
		}
	}
	return false
}

// tamper flips a bit in the ciphertext's last byte.
func tamper(env []byte) []byte {
	out := bytes.Clone(env)
	out[len(out)-1] ^= 1
	return out
}

// syncOps hands every op from one member to another, as sync would.
func syncOps(t *testing.T, from, to *member, group parley.ConversationID) {
	t.Helper()
	ops, err := from.store.GroupOps(group)
	if err != nil {
		t.Fatal(err)
	}
	envs := make([][]byte, len(ops))
	for i, o := range ops {
		envs[i] = o.Envelope
	}
	if _, _, err := to.groups.Ingest(group, envs); err != nil {
		t.Fatal(err)
	}
}

func hasKey(t *testing.T, m *member, group parley.ConversationID, id [16]byte) bool {
	t.Helper()
	keys, err := m.store.GroupKeys(group)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(keys, func(k storage.GroupKey) bool { return k.ID == id })
}
