package node_test

// Group benchmarks: Parley's group chats against GossipSub alone, measured
// in the same run. Every node runs in this process on loopback TCP, each
// with its own data dir (so its own synced badger store), all on one disk
// and two cores: a group of N here shares what N machines would not, the
// disk's syncs above all. Set TMPDIR to a tmpfs to see the rest alone.
//
//	go test -run='^$' -bench=Group -benchtime=1x ./node/
//
// Reported metrics. GroupLatency: p50-ms and p99-ms from SendToGroup until
// the last member has stored the message, member-p50/p99-ms for each
// member's copy, the same for GossipSub alone (base-...) and for the
// durable floor (floor-...: GossipSub with one synced badger write before
// publishing and one at each receiver before it counts), p99-ratio and
// p99-floor-ratio. GroupThroughput, at 5, 30 and 50 members:
// max-msgs/s, the highest of a ladder of fixed rates that every member
// kept up with (each step is logged), base-max-msgs/s the same for
// GossipSub alone in the same run, rate-ratio, and heap-MiB/node, the
// process's heap over the nodes in it. GroupCatchUp10k: s and msgs/s for
// a member coming back to 10,000 new messages, and cpu-µs/msg.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p"
	gossipsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/pubsub"
)

const (
	// ringLinks: node i dials nodes i+1 … i+ringLinks (mod N), on top of
	// the admin's connections to every member (its contacts).
	ringLinks = 4
	// deliveryLimit bounds the wait for one message to reach every member:
	// past a sync interval, so a message pubsub lost still counts, late.
	deliveryLimit = 45 * time.Second
	warmUpTime    = 3 * time.Second
)

// startBenchNode starts a node for the group benchmarks: TCP only, as the
// baseline's hosts. Invites travel as DMs: retried quickly during set-up,
// as in the tests. Everything else keeps its default, group sync every
// 30 s included.
//
// PARLEY_BENCH_RECEIPT_DELAY (a duration), when set, is the nodes' group
// receipt delay: a diagnostic, to see what the receipts every member sends
// cost the others (1h: none are sent during a run).
func startBenchNode(b *testing.B, name string) *parleytest.Node {
	b.Helper()
	opts := []parleytest.Option{parleytest.Listen("/ip4/127.0.0.1/tcp/0"), parleytest.DefaultIntervals(), parleytest.Quiet()}
	if v := os.Getenv("PARLEY_BENCH_RECEIPT_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("PARLEY_BENCH_RECEIPT_DELAY: %v", err)
		}
		opts = append(opts, func(c *node.Config) { c.ReceiptDelay = d })
	}
	return parleytest.StartNode(b, name, opts...)
}

func startBenchNodes(b *testing.B, count int) []*parleytest.Node {
	b.Helper()
	nodes := make([]*parleytest.Node, count)
	for i := range nodes {
		nodes[i] = startBenchNode(b, fmt.Sprintf("n%d", i))
	}
	return nodes
}

func stopAll(nodes []*parleytest.Node) {
	for _, n := range nodes {
		n.Stop()
	}
}

// benchGroup is createGroup for benchmarks: admin creates a group, invites
// its contacts members, each accepts, and all see every member.
func benchGroup(b *testing.B, name string, admin *parleytest.Node, members ...*parleytest.Node) parley.ConversationID {
	b.Helper()
	ctx := context.Background()
	g, err := admin.Messenger().CreateGroup(ctx, name)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range members {
		if _, err := admin.Messenger().InviteToGroup(ctx, g.ID.String(), m.Name); err != nil {
			b.Fatalf("inviting %s: %v", m.Name, err)
		}
	}
	for _, m := range members {
		parleytest.EventuallyWithin(b, time.Minute, m.Name+"'s invite", func() bool {
			invites, err := m.Messenger().GroupInvites(ctx)
			return err == nil && slices.ContainsFunc(invites, func(i parley.Group) bool { return i.ID == g.ID })
		})
		if _, err := m.Messenger().AcceptGroup(ctx, g.ID.String()); err != nil {
			b.Fatalf("%s accepting: %v", m.Name, err)
		}
	}
	for _, m := range append([]*parleytest.Node{admin}, members...) {
		parleytest.EventuallyWithin(b, time.Minute, m.Name+" seeing every member", func() bool {
			ms, err := m.Messenger().GroupMembers(ctx, g.ID.String())
			return err == nil && len(ms) == len(members)+1
		})
	}
	return g.ID
}

// groupText is message k's text: its number, padded to benchTextBytes.
func groupText(k int) string {
	s := fmt.Sprintf("%08d ", k)
	return s + strings.Repeat("x", benchTextBytes-len(s))
}

func textNumber(s string) (int, bool) {
	if len(s) < 8 {
		return 0, false
	}
	k, err := strconv.Atoi(s[:8])
	return k, err == nil
}

// groupEnvelopeSize is the size of a group envelope carrying text, as a
// member seals it.
func groupEnvelopeSize(b *testing.B, text string) int {
	b.Helper()
	id, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	group, _ := identity.NewGroupID(id.PeerID)
	body, err := proto.Marshal(&ppb.Body{Kind: &ppb.Body_Text{Text: &ppb.Text{Text: text}}})
	if err != nil {
		b.Fatal(err)
	}
	env, _, err := id.SealEnvelope(group, identity.NewGroupKey(group), false, parley.NewClock(nil).Now(), body, nil)
	if err != nil {
		b.Fatal(err)
	}
	return len(env)
}

// arrivals records when each node got each numbered message. Messages are
// numbered from 0 without gaps, and every node records each at most once,
// so a node holding count messages holds exactly [0, count).
type arrivals struct {
	wg sync.WaitGroup

	mu      sync.Mutex
	changed sync.Cond                 // on mu: broadcast on every record
	at      map[int]map[int]time.Time // guarded by mu: message → node → first arrival
	count   map[int]int               // guarded by mu: node → messages recorded
	broken  error                     // guarded by mu: a feed that ended early
}

func newArrivals() *arrivals {
	a := &arrivals{at: make(map[int]map[int]time.Time), count: make(map[int]int)}
	a.changed.L = &a.mu
	return a
}

func (a *arrivals) record(node, msg int, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.at[msg]
	if m == nil {
		m = make(map[int]time.Time)
		a.at[msg] = m
	}
	if _, ok := m[node]; !ok {
		m[node] = t
		a.count[node]++
	}
	a.changed.Broadcast()
}

func (a *arrivals) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.broken = err
	a.changed.Broadcast()
}

// await waits until cond (called with mu held) holds. It returns an error
// when ctx ends first or a feed broke.
func (a *arrivals) await(ctx context.Context, cond func() bool) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.changed.Broadcast()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for !cond() {
		switch {
		case a.broken != nil:
			return a.broken
		case ctx.Err() != nil:
			return ctx.Err()
		}
		a.changed.Wait()
	}
	return nil
}

// missing is how many copies of messages [0, to) nodes 0 … n-1 lack. Call
// with mu held.
func (a *arrivals) missing(n, to int) int {
	missing := 0
	for node := range n {
		missing += to - a.count[node]
	}
	return missing
}

// latencies turns the arrivals of messages [from, to), message k sent by
// node k%n at start[k], into time to the last member and to each member.
func (a *arrivals) latencies(n, from, to int, start map[int]time.Time) (all, each []time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := from; k < to; k++ {
		var last time.Duration
		for node, t := range a.at[k] {
			if node == k%n {
				continue
			}
			d := t.Sub(start[k])
			each = append(each, d)
			last = max(last, d)
		}
		all = append(all, last)
	}
	return all, each
}

// lastArrival is when the last copy of messages [from, to) arrived.
func (a *arrivals) lastArrival(from, to int) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var last time.Time
	for k := from; k < to; k++ {
		for _, t := range a.at[k] {
			if t.After(last) {
				last = t
			}
		}
	}
	return last
}

// watchParley records the group messages node idx stores (its own, as it
// sends them, included), until ctx ends.
func (a *arrivals) watchParley(ctx context.Context, idx int, n *parleytest.Node, group parley.ConversationID) {
	events := n.Messenger().Subscribe(ctx)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for e := range events {
			if e.Type != parley.EventMessage || e.Message.Conversation != group {
				continue
			}
			if k, ok := textNumber(e.Message.Text); ok {
				a.record(idx, k, time.Now())
			}
		}
		if ctx.Err() == nil {
			a.fail(fmt.Errorf("%s's event feed closed: the benchmark fell behind", n.Name))
		}
	}()
}

// watchSub records the messages a baseline subscription delivers; the
// first 8 bytes of each are its number. With a store, a message counts
// once written to it (synced): the durable floor.
func (a *arrivals) watchSub(ctx context.Context, idx int, sub *gossipsub.Subscription, store *badger.DB, self peer.ID) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer sub.Cancel()
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if store != nil && m.ReceivedFrom != self { // the sender stored its own before publishing
				if err := storeFloor(store, m.Data); err != nil {
					a.fail(err)
					return
				}
			}
			a.record(idx, int(binary.BigEndian.Uint64(m.Data)), time.Now())
		}
	}()
}

// openFloorStore opens a badger store for the durable floor: synced
// writes and the memory sizes Parley's store uses (storage/db.go), so that
// 50 of them fit in one process.
func openFloorStore(b *testing.B) *badger.DB {
	b.Helper()
	db, err := badger.Open(badger.DefaultOptions(b.TempDir()).
		WithSyncWrites(true).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(8 << 20).
		WithValueLogFileSize(32 << 20).
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// storeFloor is the durable floor's one synced write of a message: keyed
// by its ID, as Parley keys an envelope.
func storeFloor(db *badger.DB, data []byte) error {
	id := sha256.Sum256(data)
	return db.Update(func(txn *badger.Txn) error { return txn.Set(id[:], data) })
}

// link is a connection between nodes i < j.
type link [2]int

// ringTopology is the connections made before the group exists: every
// node dials its ringLinks successors, and node 0 (the admin) is connected
// to every node, its contacts. Parley then dials every member it is not
// connected to (group sync), so the graph becomes complete: the baseline
// gets the graph as measured (connectedLinks), not this one.
func ringTopology(n int) []link {
	set := map[link]bool{}
	for i := range n {
		for d := 1; d <= min(ringLinks, n-1); d++ {
			j := (i + d) % n
			set[link{min(i, j), max(i, j)}] = true
		}
		if i > 0 {
			set[link{0, i}] = true
		}
	}
	out := make([]link, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y link) int { return x[0]*n + x[1] - y[0]*n - y[1] })
	return out
}

// connectLinks dials every link.
func connectLinks(b *testing.B, hosts []host.Host, links []link) {
	b.Helper()
	for _, l := range links {
		a, c := hosts[l[0]], hosts[l[1]]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := a.Connect(ctx, peer.AddrInfo{ID: c.ID(), Addrs: c.Addrs()})
		cancel()
		if err != nil {
			b.Fatalf("connecting %d to %d: %v", l[0], l[1], err)
		}
	}
}

// connectedLinks is the connection graph as it stands.
func connectedLinks(hosts []host.Host) []link {
	var out []link
	for i, a := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			if a.Network().Connectedness(hosts[j].ID()) == network.Connected {
				out = append(out, link{i, j})
			}
		}
	}
	return out
}

func hostsOf(nodes []*parleytest.Node) []host.Host {
	hs := make([]host.Host, len(nodes))
	for i, n := range nodes {
		hs[i] = n.Host()
	}
	return hs
}

// sendRounds sends messages [from, to) one at a time, message k from node
// k%n, each once the previous reached every member. It returns when each
// was sent.
func sendRounds(b *testing.B, arr *arrivals, n, from, to int, send func(k int) error) map[int]time.Time {
	b.Helper()
	start := make(map[int]time.Time, to-from)
	for k := from; k < to; k++ {
		start[k] = time.Now()
		if err := send(k); err != nil {
			b.Fatalf("sending message %d from node %d: %v", k, k%n, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), deliveryLimit)
		err := arr.await(ctx, func() bool { return len(arr.at[k]) >= n })
		cancel()
		if err != nil {
			arr.mu.Lock()
			got := len(arr.at[k])
			arr.mu.Unlock()
			b.Fatalf("message %d from node %d reached %d of %d nodes: %v", k, k%n, got, n, err)
		}
	}
	return start
}

// warmUp sends rounds of one message from every member until warmUpTime
// has passed, so that GossipSub's mesh has gone through a few heartbeats
// (one a second). It returns the number of messages sent.
func warmUp(b *testing.B, arr *arrivals, n int, send func(k int) error) int {
	b.Helper()
	k := 0
	for start := time.Now(); time.Since(start) < warmUpTime; k += n {
		sendRounds(b, arr, n, k, k+n, send)
	}
	return k
}

func BenchmarkGroupLatency(b *testing.B) {
	for _, size := range []struct{ members, rounds int }{{10, 300}, {30, 300}, {50, 200}} {
		b.Run(fmt.Sprintf("members=%d", size.members), func(b *testing.B) {
			if testing.Short() && size.members > 30 {
				b.Skip("50 nodes")
			}
			benchGroupLatency(b, size.members, size.rounds)
		})
	}
}

func benchGroupLatency(b *testing.B, n, rounds int) {
	envSize := groupEnvelopeSize(b, groupText(0))
	var all, each, baseAll, baseEach, floorAll, floorEach []time.Duration
	var p99s [][3]time.Duration // each run's: Parley, GossipSub, floor
	var degree float64
	var cpu, baseCPU, floorCPU time.Duration // in the measured rounds
	samples := 0
	for b.Loop() {
		// Parley: n nodes, the admin's contacts plus a ring to start with.
		nodes := startBenchNodes(b, n)
		for _, m := range nodes[1:] {
			parleytest.Befriend(b, nodes[0], m)
		}
		hosts := hostsOf(nodes)
		connectLinks(b, hosts, ringTopology(n))
		g := benchGroup(b, "bench", nodes[0], nodes[1:]...)
		ctx, cancel := context.WithCancel(context.Background())
		arr := newArrivals()
		for i, nd := range nodes {
			arr.watchParley(ctx, i, nd, g)
		}
		send := func(k int) error {
			_, err := nodes[k%n].Messenger().SendToGroup(context.Background(), g.String(), groupText(k), parley.ClientID{})
			return err
		}
		w := warmUp(b, arr, n, send)
		links := connectedLinks(hosts)
		runtime.GC()
		cpu0 := cpuTime(b, 0)
		start := sendRounds(b, arr, n, w, w+rounds, send)
		cpu += cpuTime(b, 0) - cpu0
		a, e := arr.latencies(n, w, w+rounds, start)
		all, each = append(all, a...), append(each, e...)
		if after := connectedLinks(hosts); !slices.Equal(after, links) {
			b.Logf("members=%d: the connections changed during the run: %d links before, %d after", n, len(links), len(after))
		}
		degree = 2 * float64(len(links)) / float64(n)
		cancel()
		arr.wg.Wait()
		stopAll(nodes)

		// Baseline: GossipSub alone, on the connections Parley had; then
		// the durable floor, GossipSub with a synced write before
		// publishing and one at each receiver.
		a, e = gossipBaseline(b, n, rounds, envSize, links, false, &baseCPU)
		baseAll, baseEach = append(baseAll, a...), append(baseEach, e...)
		a, e = gossipBaseline(b, n, rounds, envSize, links, true, &floorCPU)
		floorAll, floorEach = append(floorAll, a...), append(floorEach, e...)
		p99s = append(p99s, [3]time.Duration{percentile(all[len(all)-rounds:], 0.99),
			percentile(baseAll[len(baseAll)-rounds:], 0.99), percentile(floorAll[len(floorAll)-rounds:], 0.99)})
		samples += rounds
	}
	for _, r := range p99s {
		b.Logf("members=%d, one run's p99: Parley %.2f ms, GossipSub %.2f ms, durable floor %.2f ms: %.2fx the floor",
			n, ms(r[0]), ms(r[1]), ms(r[2]), float64(r[0])/float64(r[2]))
	}
	p99, b99 := percentile(all, 0.99), percentile(baseAll, 0.99)
	b.ReportMetric(ms(percentile(all, 0.5)), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(percentile(each, 0.5)), "member-p50-ms")
	b.ReportMetric(ms(percentile(each, 0.99)), "member-p99-ms")
	b.ReportMetric(ms(percentile(baseAll, 0.5)), "base-p50-ms")
	b.ReportMetric(ms(b99), "base-p99-ms")
	b.ReportMetric(ms(percentile(baseEach, 0.5)), "base-member-p50-ms")
	b.ReportMetric(ms(percentile(baseEach, 0.99)), "base-member-p99-ms")
	b.ReportMetric(float64(p99)/float64(b99), "p99-ratio")
	f99 := percentile(floorAll, 0.99)
	b.ReportMetric(ms(percentile(floorAll, 0.5)), "floor-p50-ms")
	b.ReportMetric(ms(f99), "floor-p99-ms")
	b.ReportMetric(ms(percentile(floorEach, 0.5)), "floor-member-p50-ms")
	b.ReportMetric(ms(percentile(floorEach, 0.99)), "floor-member-p99-ms")
	b.ReportMetric(float64(p99)/float64(f99), "p99-floor-ratio")
	b.ReportMetric(ms(cpu)/float64(samples), "cpu-ms/msg")
	b.ReportMetric(ms(baseCPU)/float64(samples), "base-cpu-ms/msg")
	b.ReportMetric(ms(floorCPU)/float64(samples), "floor-cpu-ms/msg")
	b.ReportMetric(degree, "conns/node")
	b.ReportMetric(float64(envSize), "envelope-bytes")
}

// gossipBaseline runs n plain go-libp2p hosts with Parley's router options,
// connected by links, on one topic: no encryption, random payloads of size
// bytes. It returns time to the last member and to each. durable gives
// each host a badger store, and each message a synced write there before
// it is published and at each receiver before it counts: the floor.
func gossipBaseline(b *testing.B, n, rounds, size int, links []link, durable bool, cpu *time.Duration) (all, each []time.Duration) {
	b.Helper()
	g := startGossipNet(b, n, size, links, durable)
	defer g.close()
	w := warmUp(b, g.arr, n, g.send)
	runtime.GC()
	cpu0 := cpuTime(b, 0)
	start := sendRounds(b, g.arr, n, w, w+rounds, g.send)
	*cpu += cpuTime(b, 0) - cpu0
	return g.arr.latencies(n, w, w+rounds, start)
}

// gossipNet is the baseline's hosts on their topic, each subscription
// recorded in arr.
type gossipNet struct {
	n, size int
	arr     *arrivals
	hosts   []host.Host
	routers []*pubsub.Router
	topics  []*gossipsub.Topic
	stores  []*badger.DB // durable floor only
	cancel  context.CancelFunc
}

func startGossipNet(b *testing.B, n, size int, links []link, durable bool) *gossipNet {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gossipNet{n: n, size: size, arr: newArrivals(), cancel: cancel,
		hosts: make([]host.Host, n), routers: make([]*pubsub.Router, n),
		topics: make([]*gossipsub.Topic, n), stores: make([]*badger.DB, n)}
	b.Cleanup(g.close)
	const topic = "/parley-bench/group"
	for i := range n {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), node.SecurityOptions(), libp2p.DisableMetrics())
		if err != nil {
			b.Fatal(err)
		}
		g.hosts[i] = h
		if g.routers[i], err = pubsub.NewRouter(h, quiet); err != nil {
			b.Fatal(err)
		}
		if g.topics[i], err = g.routers[i].PubSub().Join(topic); err != nil {
			b.Fatal(err)
		}
		// A subscription drops what its reader has not taken when its
		// buffer is full: large, so that the rate measured is
		// GossipSub's, not this reader's.
		sub, err := g.topics[i].Subscribe(gossipsub.WithBufferSize(subBuffer))
		if err != nil {
			b.Fatal(err)
		}
		if durable {
			g.stores[i] = openFloorStore(b)
		}
		g.arr.watchSub(ctx, i, sub, g.stores[i], h.ID())
	}
	connectLinks(b, g.hosts, links)
	neighbours := make([]int, n)
	for _, l := range links {
		neighbours[l[0]]++
		neighbours[l[1]]++
	}
	for i, t := range g.topics {
		parleytest.EventuallyWithin(b, 30*time.Second, fmt.Sprintf("baseline node %d seeing its neighbours on the topic", i), func() bool {
			return len(t.ListPeers()) >= neighbours[i]
		})
	}
	return g
}

// send publishes message k from host k%n.
func (g *gossipNet) send(k int) error {
	return g.sendFrom(k%g.n, k)
}

func (g *gossipNet) sendFrom(from, k int) error {
	payload := make([]byte, g.size) // pubsub keeps it (message cache)
	rand.Read(payload)
	binary.BigEndian.PutUint64(payload, uint64(k))
	if g.stores[from] != nil {
		if err := storeFloor(g.stores[from], payload); err != nil {
			return err
		}
	}
	return g.topics[from].Publish(context.Background(), payload)
}

// close stops everything; a second call does nothing.
func (g *gossipNet) close() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	g.arr.wg.Wait()
	for i := range g.n {
		if g.routers[i] != nil { // closing the router ends its topics
			g.routers[i].Close()
		}
		if g.hosts[i] != nil {
			g.hosts[i].Close()
		}
		if g.stores[i] != nil {
			g.stores[i].Close()
		}
	}
}

// Throughput: a fixed rate for throughputStep, then at most keepUpLimit
// for every member to hold every message. The rates climb by about a
// third a step, from the first, until a step the members do not keep up
// with; the same ladder for Parley and for GossipSub alone.
const (
	throughputStep = 5 * time.Second
	keepUpLimit    = time.Second
	// settleLimit: after a Parley step that fell behind, how long to
	// wait for sync (every 30 s by default) to hand over what pubsub
	// dropped. GossipSub alone has no sync: what it drops is lost.
	settleLimit = 40 * time.Second
	// sendWorkers: sends in flight. A send returns once its synced write
	// is done, and concurrent sends share a sync (the store's group
	// commit): with a sync taking 50–150 ms on this loaded disk, 32 sends
	// in flight held the senders to about 100 msg/s whatever the rate.
	sendWorkers = 512
	subBuffer   = 1 << 14
)

var (
	throughputSizes = []int{5, 30, 50}
	throughputRates = []int{50, 75, 100, 133, 178, 237, 316, 422, 562, 750, 1000, 1333, 1778, 2371, 3162, 4217, 5623, 7499, 10000}
)

// BenchmarkGroupThroughput finds, at each group size, the highest rate of
// the ladder that Parley keeps up with, messages sent by every member in
// turn, and the same for GossipSub alone (gossipBaseline's hosts, no
// store) on the connections Parley had. The two run side by side, their
// steps interleaved (Parley's step at a rate, then GossipSub's), so that
// both meet the same load from the rest of the machine.
func BenchmarkGroupThroughput(b *testing.B) {
	for _, n := range throughputSizes {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			if testing.Short() && n > 5 {
				b.Skip("many nodes")
			}
			benchGroupThroughput(b, n)
		})
	}
}

func benchGroupThroughput(b *testing.B, n int) {
	envSize := groupEnvelopeSize(b, groupText(0))
	var rates, baseRates, ratios, heaps []float64
	for b.Loop() {
		nodes := startBenchNodes(b, n)
		for _, m := range nodes[1:] {
			parleytest.Befriend(b, nodes[0], m)
		}
		hosts := hostsOf(nodes)
		connectLinks(b, hosts, ringTopology(n))
		g := benchGroup(b, "bench", nodes[0], nodes[1:]...)
		ctx, cancel := context.WithCancel(context.Background())
		arr := newArrivals()
		for i, nd := range nodes {
			arr.watchParley(ctx, i, nd, g)
		}
		send := func(k int) error {
			_, err := nodes[k%n].Messenger().SendToGroup(context.Background(), g.String(), groupText(k), parley.ClientID{})
			return err
		}
		parleyRun := &rateRun{b: b, what: "Parley", arr: arr, n: n, send: send, settle: true}
		parleyRun.next = warmUp(b, arr, n, send)
		net := startGossipNet(b, n, envSize, connectedLinks(hosts), false)
		baseRun := &rateRun{b: b, what: "GossipSub", arr: net.arr, n: n, send: net.send}
		baseRun.next = warmUp(b, net.arr, n, net.send)
		for _, rate := range throughputRates {
			parleyRun.step(rate)
			baseRun.step(rate)
			if parleyRun.done && baseRun.done {
				break
			}
		}
		net.close()
		runtime.GC()
		var mem runtime.MemStats
		runtime.ReadMemStats(&mem)
		heaps = append(heaps, float64(mem.HeapInuse)/float64(n)/(1<<20))
		cancel()
		arr.wg.Wait()
		stopAll(nodes)
		rates, baseRates = append(rates, float64(parleyRun.sustained)), append(baseRates, float64(baseRun.sustained))
		b.Logf("members=%d: Parley kept up with %d msg/s, GossipSub alone %d", n, parleyRun.sustained, baseRun.sustained)
		if baseRun.sustained > 0 { // else the machine could not carry GossipSub's lowest rate: no ratio
			ratios = append(ratios, float64(parleyRun.sustained)/float64(baseRun.sustained))
		}
	}
	b.ReportMetric(median(rates), "max-msgs/s")
	b.ReportMetric(median(baseRates), "base-max-msgs/s")
	if len(ratios) > 0 {
		b.ReportMetric(median(ratios), "rate-ratio")
	}
	b.ReportMetric(median(heaps), "heap-MiB/node")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// rateRun is one system's climb up throughputRates: message k from member
// k%n, one step at a time, until a step the members do not keep up with.
type rateRun struct {
	b      *testing.B
	what   string
	arr    *arrivals
	n      int
	send   func(k int) error
	settle bool // after the failed step, wait for sync to bring what was missing

	next      int  // the next message's number
	sustained int  // the last rate kept up with
	done      bool // a step failed
}

func (r *rateRun) step(rate int) {
	b, arr, n := r.b, r.arr, r.n
	if r.done {
		return
	}
	from, to := r.next, r.next+rate*int(throughputStep/time.Second)
	r.next = to
	cpu0 := cpuTime(b, 0)
	elapsed := sendPaced(b, from, to, rate, r.send)
	sentAt := time.Now()
	all := func() bool { return arr.missing(n, to) == 0 }
	keepCtx, stop := context.WithTimeout(context.Background(), keepUpLimit)
	err := arr.await(keepCtx, all)
	stop()
	cpu := cpuTime(b, 0) - cpu0
	achieved := float64(to-from) / elapsed.Seconds()
	step := fmt.Sprintf("%s, %d members, %d msg/s for %v: sent at %.0f msg/s, CPU %.0f µs/msg (all nodes)",
		r.what, n, rate, throughputStep, achieved, float64(cpu.Microseconds())/float64(to-from))
	if err != nil {
		r.done = true
		arr.mu.Lock()
		behind := arr.missing(n, to)
		arr.mu.Unlock()
		outcome := "no sync to wait for"
		if r.settle {
			settleCtx, stop := context.WithTimeout(context.Background(), settleLimit)
			err := arr.await(settleCtx, all)
			stop()
			outcome = fmt.Sprintf("all arrived %v after the last send", arr.lastArrival(from, to).Sub(sentAt).Round(time.Millisecond))
			if err != nil {
				arr.mu.Lock()
				outcome = fmt.Sprintf("%d still missing after %v", arr.missing(n, to), settleLimit)
				arr.mu.Unlock()
			}
		}
		b.Logf("%s; %d of %d copies missing %v after the last send; %s", step, behind, (to-from)*n, keepUpLimit, outcome)
		return
	}
	b.Logf("%s; every member held all %d within %v of the last send", step, to-from,
		arr.lastArrival(from, to).Sub(sentAt).Round(time.Millisecond))
	if achieved < 0.95*float64(rate) {
		r.done = true
		b.Logf("%s, %d members: the senders could not keep %d msg/s", r.what, n, rate)
		return
	}
	r.sustained = rate
}

// sendPaced sends messages [from, to) at rate per second, with up to
// sendWorkers sends in flight. It returns once the last send returned,
// with the time the sends took to start: (to-from)/rate when the senders
// kept the pace. (Not until the last returned: a send that waits for its
// synced write would otherwise count against the rate it was started at.)
func sendPaced(b *testing.B, from, to, rate int, send func(k int) error) time.Duration {
	b.Helper()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var failure error
	for range sendWorkers {
		wg.Go(func() {
			for k := range jobs {
				if err := send(k); err != nil {
					once.Do(func() { failure = fmt.Errorf("sending message %d: %w", k, err) })
				}
			}
		})
	}
	start := time.Now()
	for k := from; k < to; k++ {
		if d := time.Until(start.Add(time.Duration(k-from) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d) // pacing, not waiting on a condition
		}
		jobs <- k
	}
	started := time.Since(start) + time.Second/time.Duration(rate)
	close(jobs)
	wg.Wait()
	if failure != nil {
		b.Fatal(failure)
	}
	return started
}

// Catch-up: a member offline while 10,000 messages were written comes
// back; sync brings it every one.
const (
	catchUpMessages = 10_000
	catchUpSenders  = 16
	catchUpLimit    = 4 * time.Minute
)

func BenchmarkGroupCatchUp10k(b *testing.B) {
	var took, cpu time.Duration
	for b.Loop() {
		alice, bob, carol := startBenchNode(b, "alice"), startBenchNode(b, "bob"), startBenchNode(b, "carol")
		parleytest.Befriend(b, alice, bob)
		parleytest.Befriend(b, alice, carol)
		parleytest.Befriend(b, bob, carol)
		g := benchGroup(b, "catch-up", alice, bob, carol)
		carol.Stop()
		ctx, cancel := context.WithCancel(context.Background())
		arr := newArrivals()
		arr.watchParley(ctx, 1, bob, g)

		var wg sync.WaitGroup
		for w := range catchUpSenders {
			wg.Go(func() {
				for k := w; k < catchUpMessages; k += catchUpSenders {
					if _, err := alice.Messenger().SendToGroup(context.Background(), g.String(), groupText(k), parley.ClientID{}); err != nil {
						b.Errorf("sending message %d: %v", k, err)
						return
					}
				}
			})
		}
		wg.Wait()
		awaitCount(b, arr, 1, catchUpMessages, "bob holding every message")

		start, cpu0 := time.Now(), cpuTime(b, 0)
		carol.Start()
		// The clock stops when carol's conversation counts every message
		// unread. (Her event feed cannot be the clock: a catch-up stores
		// thousands of messages per batch, and the node drops a
		// subscriber that falls that far behind, as it should.)
		awaitUnread(b, carol, g, catchUpMessages)
		took, cpu = time.Since(start), cpuTime(b, 0)-cpu0
		msgs, err := carol.Messenger().GroupMessages(context.Background(), g.String(), parley.Page{}, false)
		if err != nil || len(msgs) != catchUpMessages {
			b.Fatalf("carol lists %d messages (%v), want %d", len(msgs), err, catchUpMessages)
		}
		cancel()
		arr.wg.Wait()
		stopAll([]*parleytest.Node{alice, bob, carol})
	}
	b.ReportMetric(took.Seconds(), "s")
	b.ReportMetric(catchUpMessages/took.Seconds(), "msgs/s")
	// All three nodes: the two that send carol what she lacks, and carol.
	b.ReportMetric(float64(cpu.Microseconds())/catchUpMessages, "cpu-µs/msg")
}

// awaitUnread polls n's unread count of a conversation until it is want.
func awaitUnread(b *testing.B, n *parleytest.Node, conv parley.ConversationID, want int) {
	b.Helper()
	deadline := time.Now().Add(catchUpLimit)
	for {
		convs, err := n.Messenger().Conversations(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range convs {
			if c.ID == conv && c.Unread >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not catch up within %v", n.Name, catchUpLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitCount waits until node has recorded want messages.
func awaitCount(b *testing.B, arr *arrivals, node, want int, what string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), catchUpLimit)
	defer cancel()
	if err := arr.await(ctx, func() bool { return arr.count[node] >= want }); err != nil {
		arr.mu.Lock()
		got := arr.count[node]
		arr.mu.Unlock()
		b.Fatalf("waiting for %s: %d of %d: %v", what, got, want, err)
	}
}
