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
	r, err := NewRouter(h, slog.New(slog.DiscardHandler))
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
				return dst.groups.OnGroupKeys(h.ID(), proto.CloneOf(keys))
			}
			return nil
		},
		Notify: func(parley.Event) {},
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
	msgs, err := m.groups.Messages(group, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(msgs))
	for i, msg := range msgs {
		out[i] = msg.Text
	}
	return out
}

// publishUntilMeshed publishes raw data from a raw router until member m's
// topic counts the publisher as a peer, so that what follows is delivered.
func joinRaw(t *testing.T, r *Router, group parley.ConversationID) (*gossipsub.Topic, *gossipsub.Subscription) {
	t.Helper()
	topic, err := r.PubSub().Join(TopicName(group))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	return topic, sub
}

// A peer on the topic that is not a member relays ciphertext only: no text,
// no author, no pubsub signature or sender field.
func TestNonMemberSeesOnlyCiphertext(t *testing.T) {
	tn := newTestNet()
	alice, bob := tn.start(t, "alice"), tn.start(t, "bob")
	g, err := alice.groups.Create("secret club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)

	// The relay: a plain GossipSub router on the topic, linked to both.
	rh, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer rh.Close()
	relay, err := NewRouter(rh, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	topic, sub := joinRaw(t, relay, g.ID)
	defer topic.Close()
	defer sub.Cancel()
	connect(t, rh, alice.host)
	connect(t, rh, bob.host)
	connect(t, alice.host, bob.host)
	meshed(t, g.ID, alice, bob)
	// Both sides must know the other's subscription: a message sent
	// before that may be dropped, and only sync (not run here) recovers it.
	eventually(t, "the relay and alice on the topic", func() bool {
		return hasPeer(topic.ListPeers(), alice.host.ID()) && hasPeer(alice.topicPeers(g.ID), rh.ID()) &&
			pubsubStream(rh, alice.host.ID()) && pubsubStream(alice.host, rh.ID())
	})
	const secret = "the meeting is at noon"
	if _, err := alice.groups.Send(g.ID, secret); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("the relay got nothing: %v", err)
	}
	if msg.From != nil || msg.Signature != nil || msg.Seqno != nil || msg.Key != nil {
		t.Fatalf("pubsub metadata leaked: %+v", msg.Message)
	}
	for _, leak := range [][]byte{[]byte(secret), []byte("secret club"), []byte(alice.host.ID()), []byte(alice.host.ID().String())} {
		if bytes.Contains(msg.Data, leak) {
			t.Fatalf("the relay can read %q", leak)
		}
	}
	if name := TopicName(g.ID); bytes.Contains([]byte(name), []byte("secret")) || bytes.Contains([]byte(name), []byte(g.ID.String())) {
		t.Fatalf("topic name %q leaks the group", name)
	}
	eventually(t, "bob receiving it", func() bool { return len(texts(t, bob, g.ID)) == 1 })
}

// A removed member holds no key for what is sent after the removal, and
// its store never gets it.
func TestRemovedMemberCannotRead(t *testing.T) {
	tn := newTestNet()
	alice, bob, carol := tn.start(t, "alice"), tn.start(t, "bob"), tn.start(t, "carol")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)
	invite(t, alice, carol, g.ID)
	connect(t, alice.host, bob.host)
	connect(t, alice.host, carol.host)
	connect(t, bob.host, carol.host)
	meshed(t, g.ID, alice, bob)
	if err := alice.groups.Remove(g.ID, carol.host.ID()); err != nil {
		t.Fatal(err)
	}
	after, err := alice.groups.Send(g.ID, "carol is gone")
	if err != nil {
		t.Fatal(err)
	}
	env, err := alice.store.Envelope(after.ID)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := identity.ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	// Carol learns of the removal by sync (the op is sealed under the old
	// key, which she has); she holds no key for the new epoch.
	ops, _ := alice.store.GroupOps(g.ID)
	var envs [][]byte
	for _, o := range ops {
		envs = append(envs, o.Envelope)
	}
	envs = append(envs, env)
	_, rejected, err := carol.groups.Ingest(g.ID, envs)
	if err != nil {
		t.Fatal(err)
	}
	if rejected != 1 {
		t.Fatalf("carol's store took the post-removal message (%d rejected)", rejected)
	}
	keys, _ := carol.store.GroupKeys(g.ID)
	for _, k := range keys {
		if _, err := identity.OpenEnvelope(parsed, &identity.SendKey{ID: k.ID, Key: k.Key}); err == nil {
			t.Fatal("carol opened a message sent after her removal")
		}
	}
	// The removal may also reach her on the topic, where the validator
	// applies it just after storing it: wait for it either way.
	eventually(t, "carol seeing her removal", func() bool {
		v, _ := carol.groups.View(g.ID)
		return v.State == parley.GroupRemoved
	})
	if _, err := carol.groups.Send(g.ID, "still here?"); err == nil {
		t.Fatal("a removed member could still send")
	}
	eventually(t, "bob reading it", func() bool {
		ts := texts(t, bob, g.ID)
		return len(ts) == 1 && ts[0] == "carol is gone"
	})
}

// Each kind of bad envelope on the topic is dropped, stored nowhere, and
// lowers the score of the peer that sent it.
func TestValidatorRejectsAndScoresDown(t *testing.T) {
	tn := newTestNet()
	alice := tn.start(t, "alice")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	alice.groups.mu.Lock()
	gr := alice.groups.groups[g.ID]
	alice.groups.mu.Unlock()
	gr.mu.Lock()
	key := gr.current
	gr.mu.Unlock()
	outsider, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	text := func(s string) []byte {
		b, _ := proto.Marshal(&pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: s}}})
		return b
	}
	seal := func(id *identity.Identity, conv parley.ConversationID, k *identity.SendKey, hlc parley.HLC, body string) []byte {
		env, _, err := id.SealEnvelope(conv, k, false, hlc, text(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	now := parley.NewClock(nil).Now()
	old := parley.HLC(uint64(time.Now().Add(-time.Hour).UnixMilli()) << 16)
	forgedKey := identity.NewGroupKey(g.ID)
	otherConv := parley.ConversationID{1}
	cases := map[string][]byte{
		"garbage":        []byte("not an envelope at all"),
		"oversized":      bytes.Repeat([]byte{1}, identity.MaxEnvelopeSize+1),
		"unknown key":    seal(outsider, g.ID, forgedKey, now, "forged"),
		"another group":  seal(outsider, otherConv, key, now, "misrouted"),
		"replayed (old)": seal(outsider, g.ID, key, old, "from long ago"),
		"tampered":       tamper(seal(outsider, g.ID, key, now, "tampered")),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			ah, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
			if err != nil {
				t.Fatal(err)
			}
			defer ah.Close()
			attacker, err := NewRouter(ah, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer attacker.Close()
			topic, sub := joinRaw(t, attacker, g.ID)
			defer topic.Close()
			defer sub.Cancel()
			connect(t, ah, alice.host)
			eventually(t, "alice and the attacker on the topic", func() bool {
				return hasPeer(topic.ListPeers(), alice.host.ID()) && hasPeer(alice.topicPeers(g.ID), ah.ID()) &&
					pubsubStream(ah, alice.host.ID()) && pubsubStream(alice.host, ah.ID())
			})
			before := len(texts(t, alice, g.ID))
			// Several distinct messages: the router forgets nothing it saw,
			// so each must differ; and the score needs more than one.
			for i := range 3 {
				if err := topic.Publish(context.Background(), append(bytes.Clone(data), make([]byte, i)...)); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "the attacker's score falling", func() bool { return alice.router.Score(ah.ID()) < 0 })
			if after := len(texts(t, alice, g.ID)); after != before {
				t.Fatalf("alice stored %d messages from the attacker", after-before)
			}
		})
	}
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

// One admin adds a member while another starts a new epoch it has not
// heard of: the newcomer still gets the new epoch's key, from the admin
// who made it, once that admin learns of the add.
func TestAddConcurrentWithRekeyGetsTheNewKey(t *testing.T) {
	tn := newTestNet()
	alice, bob, carol, dave := tn.start(t, "alice"), tn.start(t, "bob"), tn.start(t, "carol"), tn.start(t, "dave")
	g, err := alice.groups.Create("club")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, alice, bob, g.ID)
	if _, err := alice.groups.SetRole(g.ID, bob.host.ID(), parley.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	invite(t, alice, carol, g.ID)
	syncOps(t, alice, bob, g.ID)

	// Concurrently: alice adds dave (handing him the keys she holds), bob
	// removes carol and rekeys, telling the members he knows of.
	invite(t, alice, dave, g.ID)
	if err := bob.groups.Remove(g.ID, carol.host.ID()); err != nil {
		t.Fatal(err)
	}
	bob.groups.mu.Lock()
	gb := bob.groups.groups[g.ID]
	bob.groups.mu.Unlock()
	gb.mu.Lock()
	newKey := gb.current.ID
	gb.mu.Unlock()
	if hasKey(t, dave, g.ID, newKey) {
		t.Fatal("the test is broken: dave got the new key directly")
	}
	// Bob learns of dave's add; dave learns of bob's removal of carol.
	syncOps(t, alice, bob, g.ID)
	syncOps(t, bob, dave, g.ID)
	if !hasKey(t, dave, g.ID, newKey) {
		t.Fatal("dave never got the key of the epoch that began as he was added")
	}
	if hasKey(t, carol, g.ID, newKey) {
		t.Fatal("carol got the key of the epoch that removed her")
	}
}
