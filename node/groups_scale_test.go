package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// scaleGroup builds a group of n nodes with no hub: admin invites
// len(subs) sub-admins, makes them admins, and each invites its own share
// of the rest. Every node is a contact of at most its admin and its share,
// so no node is connected to every other by contacts alone.
func scaleGroup(t testing.TB, nodes []*parleytest.Node, subs int) parley.ConversationID {
	t.Helper()
	ctx := context.Background()
	admin, rest := nodes[0], nodes[1:]
	for _, s := range rest[:subs] {
		parleytest.Befriend(t, admin, s)
	}
	g := parleytest.CreateGroup(t, "scale", admin, rest[:subs]...)
	for _, s := range rest[:subs] {
		if _, err := admin.Messenger().SetGroupRole(ctx, g.String(), s.Name, parley.RoleAdmin); err != nil {
			t.Fatalf("making %s an admin: %v", s.Name, err)
		}
	}
	for i, m := range rest[subs:] {
		s := rest[i%subs]
		parleytest.Befriend(t, s, m)
		parleytest.EventuallyWithin(t, time.Minute, s.Name+" seeing itself an admin", func() bool {
			ms, err := s.Messenger().GroupMembers(ctx, g.String())
			return err == nil && slices.ContainsFunc(ms, func(gm parley.GroupMember) bool {
				return gm.PeerID == s.PeerID() && gm.Role == parley.RoleAdmin
			})
		})
		if _, err := s.Messenger().InviteToGroup(ctx, g.String(), m.Name); err != nil {
			t.Fatalf("%s inviting %s: %v", s.Name, m.Name, err)
		}
	}
	for _, m := range rest[subs:] {
		parleytest.EventuallyWithin(t, time.Minute, m.Name+" seeing the invite", func() bool {
			return m.GroupState(g) == parley.GroupInvited
		})
		if _, err := m.Messenger().AcceptGroup(ctx, g.String()); err != nil {
			t.Fatalf("%s accepting: %v", m.Name, err)
		}
	}
	for _, m := range nodes {
		parleytest.EventuallyWithin(t, time.Minute, m.Name+" seeing every member", func() bool {
			return len(m.MemberIDs(g)) == len(nodes)
		})
	}
	return g
}

// memberConns counts the members of group g that n holds a connection to.
func memberConns(t testing.TB, n *parleytest.Node, nodes []*parleytest.Node) int {
	t.Helper()
	c := 0
	for _, m := range nodes {
		if m == n || m.Node == nil {
			continue
		}
		id, err := peer.Decode(m.PeerID())
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Host().Network().ConnsToPeer(id)) > 0 {
			c++
		}
	}
	return c
}

// A 20-member group whose members keep 3 others each (GroupPeers) holds
// together: nobody is connected to every other member, yet every message
// reaches every member, through GossipSub's multi-hop mesh and sync, and
// a member that was offline catches up on restart. Before the bound, each
// round dialled every member, and every node ended with 19 connections.
func TestGroupWithoutFullMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("23 nodes")
	}
	const size, bound, keepFactor, admins = 20, 3, 2, 3
	// The DHT is the rest of the world: three nodes outside the group
	// serve it, the members only query it. (Were every member a DHT
	// server, as in a world of 24 nodes, the DHT's own lookups would
	// connect each member to most others; among millions of DHT servers
	// they connect to strangers.)
	var world []string
	for i := range 3 {
		w := parleytest.StartNode(t, fmt.Sprintf("dht%d", i), parleytest.Listen("/ip4/127.0.0.1/tcp/0"))
		for _, a := range w.Host().Addrs() {
			world = append(world, a.String()+"/p2p/"+w.PeerID())
		}
	}
	nodes := make([]*parleytest.Node, size)
	for i := range nodes {
		nodes[i] = parleytest.StartNode(t, fmt.Sprintf("m%02d", i), parleytest.Listen("/ip4/127.0.0.1/tcp/0"),
			parleytest.GroupPeers(bound), parleytest.DHTClient(), parleytest.Bootstrap(world...),
			parleytest.ConnLimits(8, 12, time.Second))
	}
	g := scaleGroup(t, nodes, admins-1)

	// Several rounds of sync and dialling: the sets settle.
	parleytest.EventuallyWithin(t, time.Minute, "every member connected to another", func() bool {
		for _, n := range nodes {
			if memberConns(t, n, nodes) == 0 {
				return false
			}
		}
		return true
	})
	send := func(from []*parleytest.Node, tag string) int {
		for _, n := range from {
			n.SendToGroup(g, n.Name+" "+tag)
		}
		return len(from)
	}
	want := 0
	want += send(nodes[size-6:], "first")
	want += send(nodes[:3], "second")
	sameHistory(t, g, want, nodes...)
	// A member dials bound others and protects up to keepFactor×bound
	// (those it chose and those that chose it). The three admins also DM
	// the group's keys to each member added, which connects them to
	// everyone once: the connection manager (watermarks 8 and 12 here, 64
	// and 128 by default) trims those connections, but not the admins'
	// contacts, nor GossipSub's mesh peers (up to 12, which it protects),
	// so in a group this small an admin may stay connected to most. The
	// others hold their bounded set plus the admins.
	conns := make([]int, size)
	bounded := func() bool {
		total := 0
		for i, n := range nodes {
			conns[i] = memberConns(t, n, nodes)
			if i >= admins {
				total += conns[i]
			}
		}
		return slices.Max(conns[admins:]) < size/2 && total <= (size-admins)*(keepFactor*bound+admins)
	}
	for deadline := time.Now().Add(30 * time.Second); !bounded(); {
		if time.Now().After(deadline) {
			t.Fatalf("members are connected to %v others; want those who are not admins connected to fewer than %d each, %d on average", conns, size/2, keepFactor*bound+admins)
		}
		time.Sleep(100 * time.Millisecond) // the connection manager trims on a timer
	}
	t.Logf("connections to members, per member: %v", conns)

	// A member offline while others write catches up when it comes back,
	// from whichever members its bounded set reaches.
	away := nodes[size-1]
	away.Stop()
	want += send(nodes[size-8:size-1], "while away")
	sameHistory(t, g, want, nodes[:size-1]...)
	away.Start()
	sameHistory(t, g, want, nodes...)
}
