package pubsub

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	gossipsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// attacker is a raw go-libp2p peer that speaks GossipSub by hand: it
// writes its own RPCs on /meshsub/1.1.0 streams, so it sends what no
// honest router would (invalid and replayed messages at any rate, IHAVE,
// IWANT, GRAFT and PRUNE spam), and reads what members send it. Knowing a
// group's ID is enough to find its topic (TopicName).
type attacker struct {
	host  host.Host
	topic string

	mu       sync.Mutex
	captured map[string][]byte // message ID → data members published to us; guarded by mu
	out      map[peer.ID]pbio.WriteCloser
}

// maxCaptured bounds what the attacker keeps to replay.
const maxCaptured = 1000

func newAttacker(t *testing.T, group parley.ConversationID) *attacker {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	a := &attacker{host: h, topic: TopicName(group), captured: map[string][]byte{}, out: map[peer.ID]pbio.WriteCloser{}}
	// Members open their own stream to us once identify says we speak
	// GossipSub; what they publish arrives there.
	h.SetStreamHandler(gossipsub.GossipSubID_v11, a.read)
	return a
}

// read captures the topic's messages from a member's stream until it ends.
func (a *attacker) read(s network.Stream) {
	defer s.Reset()
	r := pbio.NewDelimitedReader(s, 2*MaxMessageSize)
	for {
		var rpc gossipsubpb.RPC
		if err := r.ReadMsg(&rpc); err != nil {
			return
		}
		a.mu.Lock()
		for _, m := range rpc.Publish {
			if m.GetTopic() == a.topic && len(a.captured) < maxCaptured {
				a.captured[MessageID(m)] = m.Data
			}
		}
		a.mu.Unlock()
	}
}

// capturedMessages returns what the attacker holds to replay.
func (a *attacker) capturedMessages() (ids []string, data [][]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, d := range a.captured {
		ids = append(ids, id)
		data = append(data, d)
	}
	return ids, data
}

// join connects to m, opens our stream and subscribes to the topic.
func (a *attacker) join(t *testing.T, m *member) {
	t.Helper()
	if err := a.host.Connect(context.Background(), peer.AddrInfo{ID: m.host.ID(), Addrs: m.host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := a.host.NewStream(context.Background(), m.host.ID(), gossipsub.GossipSubID_v11)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.out[m.host.ID()] = pbio.NewDelimitedWriter(s)
	a.mu.Unlock()
	if err := a.send(m.host.ID(), &gossipsubpb.RPC{
		Subscriptions: []*gossipsubpb.RPC_SubOpts{{Subscribe: proto.Bool(true), Topicid: proto.String(a.topic)}},
		Control:       &gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{{TopicID: proto.String(a.topic)}}},
	}); err != nil {
		t.Fatal(err)
	}
}

// send writes one RPC to p. Each stream has one writer at a time (the
// attack loop), so the lock only guards the map.
func (a *attacker) send(p peer.ID, rpc *gossipsubpb.RPC) error {
	a.mu.Lock()
	w := a.out[p]
	a.mu.Unlock()
	return w.WriteMsg(rpc)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = string(randomBytes(32))
	}
	return ids
}

// meshWatch is a GossipSub tracer on a member: whether each peer is in
// its mesh, and why it refused the messages each peer sent.
type meshWatch struct {
	mu       sync.Mutex
	inMesh   map[peer.ID]bool           // guarded by mu
	rejected map[peer.ID]map[string]int // by sender, then reason; guarded by mu
}

func newMeshWatch() *meshWatch {
	return &meshWatch{inMesh: map[peer.ID]bool{}, rejected: map[peer.ID]map[string]int{}}
}

func (w *meshWatch) meshed(p peer.ID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inMesh[p]
}

func (w *meshWatch) rejections(p peer.ID) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.rejected[p])
}

func (w *meshWatch) Graft(p peer.ID, _ string) { w.mu.Lock(); w.inMesh[p] = true; w.mu.Unlock() }
func (w *meshWatch) Prune(p peer.ID, _ string) { w.mu.Lock(); w.inMesh[p] = false; w.mu.Unlock() }
func (w *meshWatch) RejectMessage(m *gossipsub.Message, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rejected[m.ReceivedFrom] == nil {
		w.rejected[m.ReceivedFrom] = map[string]int{}
	}
	w.rejected[m.ReceivedFrom][reason]++
}
func (*meshWatch) OnNewOutboundStream(peer.ID, protocol.ID)                {}
func (*meshWatch) OnClosedOutboundStream(peer.ID)                          {}
func (*meshWatch) Join(string)                                             {}
func (*meshWatch) Leave(string)                                            {}
func (*meshWatch) ValidateMessage(*gossipsub.Message)                      {}
func (*meshWatch) DeliverMessage(*gossipsub.Message)                       {}
func (*meshWatch) DuplicateMessage(*gossipsub.Message)                     {}
func (*meshWatch) ThrottlePeer(peer.ID)                                    {}
func (*meshWatch) RecvRPC(*gossipsub.RPC)                                  {}
func (*meshWatch) SendRPC(*gossipsub.RPC, peer.ID)                         {}
func (*meshWatch) SendRPCCompleted(*gossipsub.RPC, peer.ID, time.Duration) {}
func (*meshWatch) DropRPC(*gossipsub.RPC, peer.ID)                         {}
func (*meshWatch) UndeliverableMessage(*gossipsub.Message)                 {}

// window is the round-th run of n IDs from pool, wrapping around.
func window(pool []string, round, n int) []string {
	start := round * n % len(pool)
	return slices.Clone(pool[start : start+n])
}

// attackFigures is what one run of the attack measured.
type attackFigures struct {
	before, during        []time.Duration // honest delivery latency, per receiving member
	invalid, replayed     int             // messages the attacker sent
	ihaveIDs, iwantIDs    int             // message IDs in its gossip spam
	grafts, prunes        int
	heapBefore, heapAfter uint64 // live heap after GC, before and after the attack
	heapPeak              uint64 // the most in use while it ran
	minScore, lastScore   float64
	rpcErrs               int            // RPCs the attacker could not write (members reset it)
	rejected              map[string]int // the attacker's messages members validated and refused, by reason
}

func (f *attackFigures) p(which []time.Duration, q float64) time.Duration {
	s := slices.Clone(which)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// Attack rounds: each round the attacker sends every member one RPC of
// invalidPerRound bad messages plus every captured message again, and one
// of gossip spam.
const (
	attackRounds    = 150
	attackTick      = 20 * time.Millisecond
	invalidPerRound = 20
	ihavePerRound   = 1000
	iwantPerRound   = 500
	honestBaseline  = 40
	honestDuring    = 120
	honestInterval  = 25 * time.Millisecond
)

// attackKind is what the attacker sends: messages (invalid envelopes of
// every kind, which only our validator can judge, and replays of what it
// captured, in a flood), signed (messages with a pubsub signature and
// author, which GossipSub itself refuses under StrictNoSign), gossip
// (IHAVE, IWANT, GRAFT and PRUNE spam), or several.
type attackKind struct{ messages, signed, gossip bool }

// runGossipSubAttack starts five members of one group, fully connected,
// and an attacker joined to each. Members write before (while the attacker
// captures their envelopes) and during the attack; it returns what was
// measured, after checking that every member stored exactly the honest
// messages, each once.
func runGossipSubAttack(t *testing.T, kind attackKind) attackFigures {
	tn := newTestNet()
	type sent struct {
		from string
		at   time.Time
		live bool // sent while the attack ran
	}
	var (
		mu        sync.Mutex
		honest    = map[string]sent{}
		delivered = map[string]int{} // member/text → deliveries
		fig       attackFigures
	)
	tn.onEvent = func(name string, ev parley.Event) {
		if ev.Type != parley.EventMessage || ev.Message == nil {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		s, ok := honest[ev.Message.Text]
		if !ok || s.from == name {
			return
		}
		delivered[name+"/"+ev.Message.Text]++
		if s.live {
			fig.during = append(fig.during, now.Sub(s.at))
		} else {
			fig.before = append(fig.before, now.Sub(s.at))
		}
	}
	names := []string{"alice", "bob", "carol", "dave", "erin"}
	watches := map[string]*meshWatch{}
	for _, n := range names {
		watches[n] = newMeshWatch()
	}
	tn.routerOpts = func(name string) []gossipsub.Option {
		return []gossipsub.Option{gossipsub.WithRawTracer(watches[name])}
	}
	members := make([]*member, len(names))
	for i, n := range names {
		members[i] = tn.start(t, n)
	}
	alice := members[0]
	g, err := alice.groups.Create("attacked")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members[1:] {
		invite(t, alice, m, g.ID)
	}
	for _, m := range members[1:] {
		syncOps(t, alice, m, g.ID)
	}
	for i, a := range members {
		for _, b := range members[i+1:] {
			connect(t, a.host, b.host)
		}
	}
	for i, a := range members {
		for _, b := range members[i+1:] {
			meshed(t, g.ID, a, b)
		}
	}

	evil := newAttacker(t, g.ID)
	for _, m := range members {
		evil.join(t, m)
	}
	for _, m := range members {
		eventually(t, m.name+" seeing the attacker on the topic", func() bool {
			return hasPeer(m.topicPeers(g.ID), evil.host.ID()) && pubsubStream(m.host, evil.host.ID())
		})
	}

	seq := 0
	talk := func(n int, live bool) {
		for range n {
			m := members[seq%len(members)]
			text := fmt.Sprintf("honest %d from %s", seq, m.name)
			seq++
			mu.Lock()
			honest[text] = sent{from: m.name, at: time.Now(), live: live}
			mu.Unlock()
			if _, err := m.groups.Send(g.ID, text, parley.ClientID{}); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(honestInterval) // the pace of a busy group, not a wait for an event
		}
	}
	allDelivered := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) == len(honest)*(len(members)-1)
	}
	talk(honestBaseline, false)
	eventually(t, "the baseline delivered", allDelivered)
	eventually(t, "the attacker capturing envelopes", func() bool {
		ids, _ := evil.capturedMessages()
		return len(ids) >= honestBaseline/2
	})

	// The attacker's material: envelopes it cannot make valid.
	outsider, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	wrongEpoch := identity.NewGroupKey(g.ID)
	otherGroup := parley.ConversationID{7}
	textBody, err := proto.Marshal(&pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: "let me in"}}})
	if err != nil {
		t.Fatal(err)
	}
	clock := parley.NewClock(nil)
	forge := func(conv parley.ConversationID) []byte {
		env, _, err := outsider.SealEnvelope(conv, wrongEpoch, false, clock.Now(), textBody, nil)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	// Made before the attack starts, so that the attacker's own work (it
	// shares the machine's two cores) weighs little on what is measured.
	// Every member gets each forgery once: distinct data, so GossipSub's
	// seen cache does not spare our validator.
	perKind := attackRounds * invalidPerRound / 4
	wrongEpochEnvs, otherGroupEnvs := make([][]byte, perKind), make([][]byte, perKind)
	for i := range perKind {
		wrongEpochEnvs[i], otherGroupEnvs[i] = forge(g.ID), forge(otherGroup)
	}
	ihaveIDs, iwantIDs := randomIDs(10*ihavePerRound), randomIDs(10*iwantPerRound)
	capturedIDs, capturedData := evil.capturedMessages()
	// bad is the attacker's i-th invalid message to a member.
	bad := func(i int) *gossipsubpb.Message {
		topic := proto.String(evil.topic)
		kinds := 4
		if kind.signed {
			kinds = 5
		}
		switch i % kinds {
		case 0: // garbage
			return &gossipsubpb.Message{Topic: topic, Data: randomBytes(64 + i%448)}
		case 1: // sealed under an epoch key no member holds
			return &gossipsubpb.Message{Topic: topic, Data: wrongEpochEnvs[i/kinds%perKind]}
		case 2: // of another group
			return &gossipsubpb.Message{Topic: topic, Data: otherGroupEnvs[i/kinds%perKind]}
		case 3: // a captured envelope with one byte changed: fails to open
			env := bytes.Clone(capturedData[i%len(capturedData)])
			env[len(env)-1-i%16] ^= byte(1 + i%255)
			return &gossipsubpb.Message{Topic: topic, Data: env}
		default: // a pubsub signature and author where the topic wants none
			return &gossipsubpb.Message{Topic: topic, Data: randomBytes(100), From: []byte(evil.host.ID()),
				Seqno: randomBytes(8), Signature: randomBytes(64)}
		}
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fig.heapBefore = ms.HeapInuse
	fig.heapPeak = ms.HeapInuse

	attackDone := make(chan struct{})
	minScore := make([]float64, len(members)) // per member: the attacker's lowest score there
	var watcher, attack sync.WaitGroup
	watcher.Add(1)
	go func() { // watch the attacker's score and our heap while it runs
		defer watcher.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, m := range members {
				minScore[i] = min(minScore[i], m.router.Score(evil.host.ID()))
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fig.heapPeak = max(fig.heapPeak, ms.HeapInuse)
			select {
			case <-attackDone:
				return
			case <-tick.C:
			}
		}
	}()
	attack.Add(1)
	go func() {
		defer attack.Done()
		tick := time.NewTicker(attackTick)
		defer tick.Stop()
		for round := range attackRounds {
			for _, m := range members {
				n := round * invalidPerRound
				var rpcs []*gossipsubpb.RPC
				if kind.messages || kind.signed {
					msgs := make([]*gossipsubpb.Message, 0, invalidPerRound+len(capturedData))
					for range invalidPerRound {
						msgs = append(msgs, bad(n))
						n++
					}
					for _, d := range capturedData {
						msgs = append(msgs, &gossipsubpb.Message{Topic: proto.String(evil.topic), Data: d})
					}
					fig.invalid += invalidPerRound
					fig.replayed += len(capturedData)
					rpcs = append(rpcs, &gossipsubpb.RPC{Publish: msgs})
				}
				if kind.gossip {
					ctl := &gossipsubpb.ControlMessage{
						Ihave: []*gossipsubpb.ControlIHave{{TopicID: proto.String(evil.topic), MessageIDs: window(ihaveIDs, round, ihavePerRound)}},
						Iwant: []*gossipsubpb.ControlIWant{{MessageIDs: append(window(iwantIDs, round, iwantPerRound), capturedIDs...)}},
					}
					if round%2 == 0 {
						ctl.Graft = []*gossipsubpb.ControlGraft{{TopicID: proto.String(evil.topic)}}
						fig.grafts++
					} else {
						ctl.Prune = []*gossipsubpb.ControlPrune{{TopicID: proto.String(evil.topic), Backoff: proto.Uint64(0)}}
						fig.prunes++
					}
					fig.ihaveIDs += ihavePerRound
					fig.iwantIDs += iwantPerRound + len(capturedIDs)
					rpcs = append(rpcs, &gossipsubpb.RPC{Control: ctl})
				}
				for _, rpc := range rpcs {
					if err := evil.send(m.host.ID(), rpc); err != nil {
						fig.rpcErrs++
					}
				}
			}
			<-tick.C
		}
	}()
	talk(honestDuring, true)
	attack.Wait()
	eventually(t, "every honest message delivered to every member", allDelivered)
	close(attackDone)
	watcher.Wait()
	fig.minScore, fig.lastScore = slices.Max(minScore), 0 // the attacker fared best on that member
	for _, m := range members {
		fig.lastScore = min(fig.lastScore, m.router.Score(evil.host.ID()))
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fig.heapAfter = ms.HeapInuse
	fig.rejected = map[string]int{}
	for _, m := range members {
		// Graylisted, its GRAFTs are ignored and the next heartbeat
		// prunes it.
		eventually(t, m.name+" pruning the attacker from its mesh", func() bool { return !watches[m.name].meshed(evil.host.ID()) })
		for reason, n := range watches[m.name].rejections(evil.host.ID()) {
			fig.rejected[reason] += n
		}
	}

	// What a user sees: every honest message once, and nothing else.
	mu.Lock()
	want := make([]string, 0, len(honest))
	for text := range honest {
		want = append(want, text)
	}
	for key, n := range delivered {
		if n != 1 {
			t.Errorf("%s notified %d times", key, n)
		}
	}
	mu.Unlock()
	slices.Sort(want)
	for _, m := range members {
		got := texts(t, m, g.ID)
		slices.Sort(got)
		got = slices.DeleteFunc(got, func(s string) bool { return s == "" }) // ops have no text
		if !slices.Equal(got, want) {
			t.Errorf("%s stored %d texts, want the %d honest ones each once", m.name, len(got), len(want))
		}
	}
	return fig
}

// A raw peer on a group's topic attacks five members at once, with
// messages (invalid of every kind, replays of what it captured, a flood)
// and with gossip spam (IHAVE of unknown IDs, IWANT, GRAFT/PRUNE churn),
// each alone, then both with messages GossipSub itself refuses. Members go
// on delivering each other's messages, store nothing of the attacker's and
// every honest message once, keep their heap bounded, and each scores the
// attacker below the graylist threshold and prunes it from its mesh: from
// then on GossipSub drops everything it sends. Figures: docs/benchmarks.md,
// "GossipSub attacker".
func TestGossipSubAttacker(t *testing.T) {
	for name, kind := range map[string]attackKind{
		"messages": {messages: true},
		"gossip":   {gossip: true},
		"all":      {messages: true, signed: true, gossip: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := runGossipSubAttack(t, kind)
			t.Logf("attacker sent %d invalid, %d replayed; IHAVE %d IDs, IWANT %d IDs, %d GRAFT, %d PRUNE; %d RPCs refused",
				f.invalid, f.replayed, f.ihaveIDs, f.iwantIDs, f.grafts, f.prunes, f.rpcErrs)
			t.Logf("honest delivery: before p50 %v p99 %v max %v (%d); during p50 %v p99 %v max %v (%d)",
				f.p(f.before, 0.5), f.p(f.before, 0.99), f.p(f.before, 1), len(f.before),
				f.p(f.during, 0.5), f.p(f.during, 0.99), f.p(f.during, 1), len(f.during))
			t.Logf("members validated and refused %v of the attacker's messages", f.rejected)
			t.Logf("heap in use: %d MiB before, %d MiB peak, %d MiB after; attacker's score: highest minimum over members %.0f, after %.0f",
				f.heapBefore>>20, f.heapPeak>>20, f.heapAfter>>20, f.minScore, f.lastScore)
			if f.minScore >= graylistThreshold {
				t.Errorf("the attacker's score fell only to %.0f on some member; want below the graylist threshold %d", f.minScore, graylistThreshold)
			}
			// Generous: the heap grows by tens of MiB; a leak per spam
			// message would be hundreds.
			const heapBound = 256 << 20
			if f.heapPeak-f.heapBefore > heapBound || f.heapAfter > f.heapBefore+heapBound/4 {
				t.Errorf("heap grew from %d MiB to a peak of %d MiB and %d MiB after", f.heapBefore>>20, f.heapPeak>>20, f.heapAfter>>20)
			}
		})
	}
}
