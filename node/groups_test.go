package node_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
)

// groupTexts is n's view of a group: its texts in display order.
func (n *testNode) groupTexts(group parley.ConversationID) []string {
	n.t.Helper()
	msgs, err := n.m.GroupMessages(context.Background(), group.String(), 0, false)
	if err != nil {
		n.t.Fatalf("%s listing group messages: %v", n.name, err)
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func (n *testNode) groupIDs(group parley.ConversationID) []parley.EnvelopeID {
	n.t.Helper()
	msgs, err := n.m.GroupMessages(context.Background(), group.String(), 0, false)
	if err != nil {
		n.t.Fatalf("%s listing group messages: %v", n.name, err)
	}
	out := make([]parley.EnvelopeID, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func (n *testNode) memberIDs(group parley.ConversationID) []string {
	n.t.Helper()
	ms, err := n.m.GroupMembers(context.Background(), group.String())
	if err != nil {
		n.t.Fatalf("%s listing members: %v", n.name, err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.PeerID
	}
	slices.Sort(out)
	return out
}

func (n *testNode) groupState(group parley.ConversationID) parley.GroupState {
	for _, list := range []func(context.Context) ([]parley.Group, error){n.m.Groups, n.m.GroupInvites} {
		gs, err := list(context.Background())
		if err != nil {
			n.t.Fatal(err)
		}
		for _, g := range gs {
			if g.ID == group {
				return g.State
			}
		}
	}
	return ""
}

// createGroup has admin create a group and invite members (its contacts),
// each of whom accepts once the invite arrives.
func createGroup(t *testing.T, name string, admin *testNode, members ...*testNode) parley.ConversationID {
	t.Helper()
	g, err := admin.m.CreateGroup(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if _, err := admin.m.InviteToGroup(context.Background(), g.ID.String(), m.name); err != nil {
			t.Fatalf("inviting %s: %v", m.name, err)
		}
	}
	for _, m := range members {
		eventually(t, m.name+" seeing the invite", func() bool { return m.groupState(g.ID) == parley.GroupInvited })
		if _, err := m.m.AcceptGroup(context.Background(), name); err != nil {
			t.Fatalf("%s accepting: %v", m.name, err)
		}
	}
	all := append([]*testNode{admin}, members...)
	var want []string
	for _, m := range all {
		want = append(want, m.peerID())
	}
	slices.Sort(want)
	for _, m := range all {
		eventually(t, m.name+" seeing every member", func() bool { return slices.Equal(m.memberIDs(g.ID), want) })
	}
	return g.ID
}

func sendGroup(t *testing.T, n *testNode, group parley.ConversationID, text string) parley.Message {
	t.Helper()
	msg, err := n.m.SendToGroup(context.Background(), group.String(), text)
	if err != nil {
		t.Fatalf("%s sending %q: %v", n.name, text, err)
	}
	return msg
}

// displayTexts is the texts of msgs in display order, (HLC, envelope ID),
// which need not be send order: two members writing in one millisecond
// before hearing each other get equal HLCs and sort by ID.
func displayTexts(msgs []parley.Message) []string {
	msgs = slices.Clone(msgs)
	slices.SortFunc(msgs, func(a, b parley.Message) int {
		return cmp.Or(cmp.Compare(a.HLC, b.HLC), bytes.Compare(a.ID[:], b.ID[:]))
	})
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

// sameHistory waits until every node holds exactly want (as a set) and all
// hold it in one order; it returns that order.
func sameHistory(t *testing.T, group parley.ConversationID, want int, nodes ...*testNode) []parley.EnvelopeID {
	t.Helper()
	for _, n := range nodes {
		eventuallyWithin(t, 60*time.Second, fmt.Sprintf("%s holding %d messages", n.name, want), func() bool {
			return len(n.groupIDs(group)) >= want
		})
	}
	first := nodes[0].groupIDs(group)
	if len(first) != want {
		t.Fatalf("%s holds %d messages, want %d (duplicates?)", nodes[0].name, len(first), want)
	}
	for _, n := range nodes[1:] {
		if got := n.groupIDs(group); !slices.Equal(got, first) {
			t.Fatalf("%s holds another history than %s:\n%v\n%v", n.name, nodes[0].name, got, first)
		}
	}
	return first
}

// The "done when": three users create a group and chat; one is
// removed and reads nothing after; a fourth joins later and reads the
// history.
func TestGroupLifecycle(t *testing.T) {
	alice, bob, carol := startNode(t, "alice"), startNode(t, "bob"), startNode(t, "carol")
	befriend(t, alice, bob)
	befriend(t, alice, carol)
	g := createGroup(t, "friends", alice, bob, carol)

	before := []parley.Message{
		sendGroup(t, alice, g, "hello from alice"),
		sendGroup(t, bob, g, "hello from bob"),
		sendGroup(t, carol, g, "hello from carol"),
	}
	sameHistory(t, g, 3, alice, bob, carol)

	if err := alice.m.RemoveFromGroup(context.Background(), "friends", "carol"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "carol learning she was removed", func() bool { return carol.groupState(g) == parley.GroupRemoved })
	eventually(t, "bob seeing carol gone", func() bool { return len(bob.memberIDs(g)) == 2 })
	sendGroup(t, alice, g, "carol is out")
	sendGroup(t, bob, g, "just us now")
	sameHistory(t, g, 5, alice, bob)
	if _, err := carol.m.SendToGroup(context.Background(), g.String(), "let me back"); err == nil {
		t.Fatal("a removed member could still send")
	}

	dave := startNode(t, "dave")
	befriend(t, alice, dave)
	if _, err := alice.m.InviteToGroup(context.Background(), "friends", "dave"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dave's invite", func() bool { return dave.groupState(g) == parley.GroupInvited })
	invites, err := dave.m.GroupInvites(context.Background())
	if err != nil || len(invites) != 1 || invites[0].Name != "friends" || invites[0].InvitedBy != alice.peerID() {
		t.Fatalf("dave's invites: %+v, %v", invites, err)
	}
	if convs, err := dave.m.Conversations(context.Background()); err != nil || len(convs) != 0 {
		t.Fatalf("an unanswered invite is listed as a conversation: %+v, %v", convs, err)
	}
	if _, err := dave.m.AcceptGroup(context.Background(), "friends"); err != nil {
		t.Fatal(err)
	}
	convs, err := dave.m.Conversations(context.Background())
	if err != nil || len(convs) != 1 || convs[0].Kind != parley.ConversationGroup || convs[0].Name != "friends" {
		t.Fatalf("dave's conversations after accepting: %+v, %v", convs, err)
	}
	// Accepting starts dave's catch-up: until he holds the op that added
	// him, the ops he holds say he is not a member and Send refuses.
	eventually(t, "dave seeing himself a member", func() bool { return slices.Contains(dave.memberIDs(g), dave.peerID()) })
	sendGroup(t, dave, g, "hi, I'm new")
	sameHistory(t, g, 6, alice, bob, dave)
	// Carol kept what she had and got nothing sent after her removal.
	if got, want := carol.groupTexts(g), displayTexts(before); !slices.Equal(got, want) {
		t.Fatalf("carol holds %q, want %q", got, want)
	}
	if got := dave.groupTexts(g); got[len(got)-1] != "hi, I'm new" || len(got) != 6 {
		t.Fatalf("dave holds %q", got)
	}
	// The members list shows who is in, admin first.
	members, err := dave.m.GroupMembers(context.Background(), "friends")
	if err != nil || len(members) != 3 || members[0].PeerID != alice.peerID() || members[0].Role != parley.RoleAdmin {
		t.Fatalf("members: %+v, %v", members, err)
	}
	// Bob leaves; the others see it.
	if err := bob.m.LeaveGroup(context.Background(), "friends"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice seeing bob leave", func() bool { return len(alice.memberIDs(g)) == 2 })
}

// Ten members, every one writing: every message reaches every member
// exactly once, and all hold them in the same order.
func TestGroupTenMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("ten nodes")
	}
	nodes := []*testNode{startNode(t, "n0")}
	for i := 1; i < 10; i++ {
		n := startNode(t, fmt.Sprintf("n%d", i))
		befriend(t, nodes[0], n)
		nodes = append(nodes, n)
	}
	g := createGroup(t, "ten", nodes[0], nodes[1:]...)
	const each = 3
	for round := range each {
		for _, n := range nodes {
			sendGroup(t, n, g, fmt.Sprintf("%s #%d", n.name, round))
		}
	}
	sameHistory(t, g, each*len(nodes), nodes...)
}

// A member offline while others write catches up, on restart, from a
// member who wrote none of it, with the writers gone.
func TestGroupOfflineCatchUp(t *testing.T) {
	alice, bob, carol, dave := startNode(t, "alice"), startNode(t, "bob"), startNode(t, "carol"), startNode(t, "dave")
	befriend(t, alice, bob)
	befriend(t, alice, carol)
	befriend(t, alice, dave)
	befriend(t, carol, dave) // so dave can find carol alone
	g := createGroup(t, "club", alice, bob, carol, dave)
	dave.stop()
	for i := range 25 {
		sendGroup(t, alice, g, fmt.Sprintf("alice %d", i))
		sendGroup(t, bob, g, fmt.Sprintf("bob %d", i))
	}
	sameHistory(t, g, 50, alice, bob, carol)
	alice.stop()
	bob.stop()
	dave.start()
	sameHistory(t, g, 50, carol, dave)
}

// partition is a connection gater that refuses the peers across a cut.
type partition struct {
	mu      sync.Mutex
	blocked map[peer.ID]bool // guarded by mu
}

func (p *partition) refuse(id peer.ID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blocked[id]
}

func (p *partition) set(ids map[peer.ID]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = ids
}

func (p *partition) InterceptPeerDial(id peer.ID) bool                 { return !p.refuse(id) }
func (p *partition) InterceptAddrDial(id peer.ID, _ ma.Multiaddr) bool { return !p.refuse(id) }
func (p *partition) InterceptAccept(network.ConnMultiaddrs) bool       { return true }
func (p *partition) InterceptSecured(_ network.Direction, id peer.ID, _ network.ConnMultiaddrs) bool {
	return !p.refuse(id)
}
func (p *partition) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// linkNodes connects a and b, forgetting the dial back-off that refused dials
// across a cut left behind.
func linkNodes(t *testing.T, a, b *testNode) {
	t.Helper()
	for _, n := range []*testNode{a, b} {
		if sw, ok := n.Host().Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(a.Host().ID())
			sw.Backoff().Clear(b.Host().ID())
		}
	}
	if err := a.Host().Connect(context.Background(), peer.AddrInfo{ID: b.Host().ID(), Addrs: b.Host().Addrs()}); err != nil {
		t.Fatalf("connecting %s to %s: %v", a.name, b.name, err)
	}
}

// A six-member group split 3/3 chats on both sides; once healed, all six
// hold every message, once, in one order.
func TestGroupPartitionHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("six nodes")
	}
	var nodes []*testNode
	gates := make([]*partition, 6)
	for i := range 6 {
		gates[i] = &partition{}
		n := &testNode{t: t, dir: t.TempDir(), name: fmt.Sprintf("n%d", i), gater: gates[i]}
		n.start()
		t.Cleanup(n.stop)
		if i > 0 {
			befriend(t, nodes[0], n)
		}
		nodes = append(nodes, n)
	}
	connectAll := func() {
		for i, a := range nodes {
			for _, b := range nodes[i+1:] {
				linkNodes(t, a, b)
			}
		}
	}
	connectAll()
	g := createGroup(t, "split", nodes[0], nodes[1:]...)
	sendGroup(t, nodes[0], g, "before the split")
	sameHistory(t, g, 1, nodes...)

	left, right := nodes[:3], nodes[3:]
	cut := func(side, other []*testNode) {
		ids := make(map[peer.ID]bool)
		for _, o := range other {
			ids[o.Host().ID()] = true
		}
		for _, n := range side {
			gates[slices.Index(nodes, n)].set(ids)
			for id := range ids {
				_ = n.Host().Network().ClosePeer(id)
			}
		}
	}
	cut(left, right)
	cut(right, left)
	for _, n := range nodes {
		sendGroup(t, n, g, "during the split from "+n.name)
	}
	sameHistory(t, g, 4, left...)
	sameHistory(t, g, 4, right...)

	for _, gt := range gates {
		gt.set(nil)
	}
	connectAll()
	sameHistory(t, g, 7, nodes...)
}

// An invitee does not need the inviter: with the inviter gone before the
// invite is accepted, the invitee finds another member (not a contact,
// known only by peer ID from the invite) through the DHT and catches up
// from them.
func TestInviteeCatchesUpWithoutTheInviter(t *testing.T) {
	boot := startNode(t, "boot")
	addr := boot.m.Self().Addrs[0]
	alice, bob := startNode(t, "alice", addr), startNode(t, "bob", addr)
	// Dave may not reach bob until alice is gone, so nothing but the
	// invite's member list leads him to bob.
	daveGate := &partition{}
	daveGate.set(map[peer.ID]bool{bob.Host().ID(): true})
	dave := &testNode{t: t, dir: t.TempDir(), name: "dave", bootstrap: []string{addr}, gater: daveGate}
	dave.start()
	t.Cleanup(dave.stop)
	befriend(t, alice, bob)
	befriend(t, alice, dave)
	g := createGroup(t, "club", alice, bob)
	sendGroup(t, alice, g, "before dave")
	sendGroup(t, bob, g, "also before dave")
	sameHistory(t, g, 2, alice, bob)
	if _, err := alice.m.InviteToGroup(context.Background(), "club", "dave"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dave's invite", func() bool { return dave.groupState(g) == parley.GroupInvited })
	eventually(t, "bob learning dave was added", func() bool { return len(bob.memberIDs(g)) == 3 })
	alice.stop()
	if dave.m.Online(bob.peerID()) {
		t.Fatal("dave and bob are connected before the test lets them")
	}
	daveGate.set(nil)
	if _, err := dave.m.AcceptGroup(context.Background(), "club"); err != nil {
		t.Fatal(err)
	}
	sameHistory(t, g, 2, bob, dave)
	sendGroup(t, dave, g, "hi bob")
	sameHistory(t, g, 3, bob, dave)
}

// Two admins change the group at once on two sides of a partition (one
// removes the other, who removes a third member and invites a fourth);
// after healing, every member holds the same membership.
func TestConcurrentAdminsConverge(t *testing.T) {
	if testing.Short() {
		t.Skip("six nodes")
	}
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	nodes := make(map[string]*testNode)
	gates := make(map[string]*partition)
	for _, name := range names {
		gates[name] = &partition{}
		n := &testNode{t: t, dir: t.TempDir(), name: name, gater: gates[name]}
		n.start()
		t.Cleanup(n.stop)
		nodes[name] = n
	}
	alice, bob := nodes["alice"], nodes["bob"]
	for _, name := range names[1:] {
		befriend(t, alice, nodes[name])
	}
	befriend(t, bob, nodes["frank"])
	connectAll := func() {
		for i, a := range names {
			for _, b := range names[i+1:] {
				linkNodes(t, nodes[a], nodes[b])
			}
		}
	}
	connectAll()
	g := createGroup(t, "club", alice, nodes["carol"], nodes["dave"], bob, nodes["erin"])
	if _, err := alice.m.SetGroupRole(context.Background(), "club", "bob", parley.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob an admin in his own eyes", func() bool {
		ms, _ := bob.m.GroupMembers(context.Background(), "club")
		for _, m := range ms {
			if m.Self && m.Role == parley.RoleAdmin {
				return true
			}
		}
		return false
	})

	left, right := []string{"alice", "carol", "dave"}, []string{"bob", "erin", "frank"}
	cut := func(side, other []string) {
		ids := make(map[peer.ID]bool)
		for _, o := range other {
			ids[nodes[o].Host().ID()] = true
		}
		for _, name := range side {
			gates[name].set(ids)
			for id := range ids {
				_ = nodes[name].Host().Network().ClosePeer(id)
			}
		}
	}
	cut(left, right)
	cut(right, left)
	if err := alice.m.RemoveFromGroup(context.Background(), "club", bob.peerID()); err != nil {
		t.Fatal(err)
	}
	if err := bob.m.RemoveFromGroup(context.Background(), "club", nodes["carol"].peerID()); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.m.InviteToGroup(context.Background(), "club", "frank"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "frank's invite", func() bool { return nodes["frank"].groupState(g) == parley.GroupInvited })
	if _, err := nodes["frank"].m.AcceptGroup(context.Background(), "club"); err != nil {
		t.Fatal(err)
	}

	for _, gt := range gates {
		gt.set(nil)
	}
	connectAll()
	// Dave and erin are untouched by either admin, one on each side.
	var want []string
	eventuallyWithin(t, 60*time.Second, "dave and erin agreeing", func() bool {
		want = nodes["dave"].memberIDs(g)
		return slices.Equal(nodes["erin"].memberIDs(g), want)
	})
	t.Logf("converged on %d members", len(want))
	// Every member of the outcome holds the same membership.
	for _, name := range names {
		n := nodes[name]
		if !slices.Contains(want, n.peerID()) {
			continue
		}
		eventually(t, name+" agreeing", func() bool { return slices.Equal(n.memberIDs(g), want) })
	}
	// Bob is out in every outcome (he cannot remove alice, so her removal
	// of him stands); his own changes stand only if they sort before it:
	// then carol is out and frank in, else carol stays and frank never
	// got in.
	bobIn, carolIn, frankIn := slices.Contains(want, bob.peerID()), slices.Contains(want, nodes["carol"].peerID()), slices.Contains(want, nodes["frank"].peerID())
	if bobIn || frankIn == carolIn {
		t.Fatalf("unexpected outcome: bob %v, carol %v, frank %v", bobIn, carolIn, frankIn)
	}
}
