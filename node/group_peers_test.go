package node

import (
	"crypto/rand"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

func testPeers(t *testing.T, n int) []peer.ID {
	t.Helper()
	out := make([]peer.ID, n)
	for i := range out {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = peer.IDFromPublicKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func isIn(set []peer.ID) func(peer.ID) bool {
	return func(p peer.ID) bool { return slices.Contains(set, p) }
}

// The planner dials only to fill the bound, counts connected members and
// dials under way first, prefers contacts, skips members on back-off, and
// picks the same members round after round.
func TestPlanGroupPeers(t *testing.T) {
	members := testPeers(t, 50)
	self := testPeers(t, 1)[0]
	var id parley.ConversationID
	rand.Read(id[:])
	always := func(peer.ID) bool { return true }
	none := isIn(nil)

	plan := planGroupPeers(self, id, members, 8, 0, none, none, always)
	if len(plan.dial) != 8 || len(plan.keep) != 0 {
		t.Fatalf("nobody connected: dial %d, keep %d; want 8, 0", len(plan.dial), len(plan.keep))
	}
	again := planGroupPeers(self, id, members, 8, 0, none, none, always)
	if !slices.Equal(plan.dial, again.dial) {
		t.Fatal("two rounds chose different members")
	}
	other := planGroupPeers(testPeers(t, 1)[0], id, members, 8, 0, none, none, always)
	if slices.Equal(plan.dial, other.dial) {
		t.Fatal("another member chose the same members: choices do not spread")
	}

	connected := members[:5]
	plan = planGroupPeers(self, id, members, 8, 2, isIn(connected), none, always)
	if len(plan.dial) != 1 || slices.Contains(connected, plan.dial[0]) {
		t.Fatalf("5 connected, 2 dialling, bound 8: dial %v, want one unconnected member", plan.dial)
	}
	if len(plan.keep) != 5 {
		t.Fatalf("keep %d, want the 5 connected", len(plan.keep))
	}

	many := members[:30]
	plan = planGroupPeers(self, id, members, 8, 0, isIn(many), none, always)
	if len(plan.dial) != 0 || len(plan.keep) != keepFactor*8 || len(plan.connected) != 30 {
		t.Fatalf("30 connected: dial %d, keep %d, connected %d; want 0, %d, 30", len(plan.dial), len(plan.keep), len(plan.connected), keepFactor*8)
	}

	contacts := members[40:43]
	plan = planGroupPeers(self, id, members, 8, 0, none, isIn(contacts), always)
	for _, c := range contacts {
		if !slices.Contains(plan.dial[:3], c) {
			t.Fatalf("contact %s not among the first dials %v", c, plan.dial)
		}
	}

	away := plan.dial[3:5]
	next := planGroupPeers(self, id, members, 8, 0, none, isIn(contacts), func(p peer.ID) bool { return !slices.Contains(away, p) })
	if len(next.dial) != 8 || slices.ContainsFunc(next.dial, isIn(away)) {
		t.Fatalf("members on back-off were not replaced: %v", next.dial)
	}
}

// A group of up to fullMeshUpTo members, us included, keeps every fellow
// member connected; a larger one, defaultGroupPeers; Config.GroupPeers
// overrides both.
func TestGroupPeerBound(t *testing.T) {
	def := &groupSync{}
	for _, c := range []struct{ others, want int }{
		{0, 0}, {1, 1}, {9, 9}, {fullMeshUpTo - 1, fullMeshUpTo - 1}, {fullMeshUpTo, defaultGroupPeers}, {199, defaultGroupPeers},
	} {
		if got := def.groupPeerBound(c.others); got != c.want {
			t.Errorf("default, %d fellow members: bound %d, want %d", c.others, got, c.want)
		}
	}
	if got := (&groupSync{peers: 3}).groupPeerBound(9); got != 3 {
		t.Errorf("GroupPeers 3, 9 fellow members: bound %d, want 3", got)
	}
}

// A round's sync partners: the inviter of a group just joined always,
// when connected; otherwise any k distinct connected members.
func TestSyncPicks(t *testing.T) {
	ps := testPeers(t, 9)
	connected, inviter, stranger := ps[:8], ps[5], ps[8]
	for range 50 {
		got := syncPicks(connected, inviter, 3)
		if len(got) != 3 || got[0] != inviter {
			t.Fatalf("with the inviter connected: %v, want it first of 3", got)
		}
		for _, first := range []peer.ID{"", stranger} {
			got := syncPicks(connected, first, 3)
			slices.Sort(got)
			if len(got) != 3 || len(slices.Compact(got)) != 3 || slices.ContainsFunc(got, func(p peer.ID) bool { return !slices.Contains(connected, p) }) {
				t.Fatalf("first %q: %v, want 3 distinct connected members", first, got)
			}
		}
	}
	if got := syncPicks(connected[:2], inviter, 3); len(got) != 2 {
		t.Fatalf("two connected: %v", got)
	}
	if got := syncPicks(nil, inviter, 3); len(got) != 0 {
		t.Fatalf("none connected: %v", got)
	}
}
