package node

import (
	"cmp"
	"context"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

// A bounded set of peers per group (issue 16, "no full mesh"). Each round
// picks up to groupPeers members to stay connected with; members reach
// the others through GossipSub (whose mesh forwards across hops) and
// /parley/sync (which catches up on whatever gossip missed). Connected
// members count first, so a member dials only while fewer than
// groupPeers members are connected, and at most that many at once.
//
// Which members: connected ones first (contacts before others), then the
// others in an order of their own for each (us, group) pair: SHA-256 of
// our peer ID, the group ID and theirs. That order is random across nodes
// but stable across rounds, so the set does not churn while its members
// stay, and the union of every member's picks is a random k-out graph,
// connected with high probability for k >= 2 (Fenner and Frieze 1982), with
// a diameter of O(log N). A member that goes away is replaced by the next
// one in the order at the next round (a disconnection triggers one).
//
// We protect up to keepFactor times as many connected members as we dial
// for: the members that chose us hold connections we did not open, and
// trimming them on our side would make them dial again (churn).
//
// Groups of up to fullMeshUpTo members still connect everyone to everyone
// unless Config.GroupPeers says otherwise: every figure in
// docs/benchmarks.md for such groups was measured that way, and with a
// bounded set group mail deposits for every member we are not connected
// to (group_mail.go), which is a mailbox write per unconnected member and
// message. Larger groups take the bound: their full mesh (hundreds of
// connections per node) would be trimmed by the connection manager anyway.
const (
	defaultGroupPeers = 8
	fullMeshUpTo      = 64
	keepFactor        = 2
)

// groupPeerTag protects the chosen members' connections from the
// connection manager's trimming, one tag per group so that one group
// dropping a member leaves another's protection alone.
func groupPeerTag(id parley.ConversationID) string {
	return "parley-group-" + id.String()[:16]
}

// peerRank orders the members of group id for us: stable for the pair,
// unrelated across members, so that the members' choices spread.
func peerRank(self peer.ID, id parley.ConversationID, p peer.ID) [32]byte {
	h := sha256.New()
	h.Write([]byte(self))
	h.Write(id[:])
	h.Write([]byte(p))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// groupPlan is one round's view of a group's members.
type groupPlan struct {
	connected []peer.ID // connected members, contacts first, then by rank
	keep      []peer.ID // connected members to protect: the first 2×groupPeers
	dial      []peer.ID // members to dial this round, within the bound
}

// planGroupPeers orders the members and picks which to keep and dial.
// isConnected, isContact and dialDue are asked once per member; dialing
// counts the dials already under way for this group.
func planGroupPeers(self peer.ID, id parley.ConversationID, members []peer.ID, bound, dialing int,
	isConnected, isContact func(peer.ID) bool, dialDue func(peer.ID) bool) groupPlan {
	type cand struct {
		p         peer.ID
		connected bool
		contact   bool
		rank      [32]byte
	}
	cands := make([]cand, 0, len(members))
	for _, p := range members {
		cands = append(cands, cand{p, isConnected(p), isContact(p), peerRank(self, id, p)})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.connected != b.connected {
			if a.connected {
				return -1
			}
			return 1
		}
		if a.contact != b.contact {
			if a.contact {
				return -1
			}
			return 1
		}
		return cmp.Compare(string(a.rank[:]), string(b.rank[:]))
	})
	var plan groupPlan
	slots := bound - dialing
	for _, c := range cands {
		switch {
		case c.connected:
			plan.connected = append(plan.connected, c.p)
			if len(plan.keep) < keepFactor*bound {
				plan.keep = append(plan.keep, c.p)
			}
			slots--
		case slots > 0 && dialDue(c.p):
			// A member on back-off is skipped, not waited for: the next
			// one in the order takes its place until it is back.
			plan.dial = append(plan.dial, c.p)
			slots--
		}
	}
	return plan
}

// groupPeerBound is the node's bound on members kept connected in a group
// where we have that many fellow members (pubsub.Groups.MemberPeers: us
// left out).
func (gs *groupSync) groupPeerBound(others int) int {
	switch {
	case gs.peers > 0:
		return gs.peers
	case others+1 <= fullMeshUpTo:
		return others
	}
	return defaultGroupPeers
}

// protectGroupPeers makes keep the group's protected set: newly chosen
// members are protected, members no longer chosen lose this group's tag.
func (gs *groupSync) protectGroupPeers(id parley.ConversationID, keep []peer.ID) {
	cm := gs.n.host.ConnManager()
	tag := groupPeerTag(id)
	gs.mu.Lock()
	old := gs.kept[id]
	now := make(map[peer.ID]bool, len(keep))
	for _, p := range keep {
		now[p] = true
	}
	gs.kept[id] = now
	gs.mu.Unlock()
	for p := range now {
		if !old[p] {
			cm.Protect(p, tag)
		}
	}
	for p := range old {
		if !now[p] {
			cm.Unprotect(p, tag)
		}
	}
}

// peerDisconnected starts a round, soon, on every group that had kept p,
// so that the next member in the order takes its place.
func (gs *groupSync) peerDisconnected(p peer.ID) {
	gs.mu.Lock()
	var groups []parley.ConversationID
	for id, kept := range gs.kept {
		if kept[p] {
			groups = append(groups, id)
		}
	}
	gs.mu.Unlock()
	for _, id := range groups {
		gs.activate(id)
	}
}

// dialMember dials member p for group id in the background; the dial
// counts against the group's bound until it ends.
func (gs *groupSync) dialMember(id parley.ConversationID, p peer.ID) {
	n := gs.n
	gs.mu.Lock()
	gs.dialing[id]++
	gs.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			gs.mu.Lock()
			if gs.dialing[id]--; gs.dialing[id] <= 0 {
				delete(gs.dialing, id)
			}
			gs.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(n.ctx, memberDialTimeout)
		defer cancel()
		if err := n.connect(ctx, p); err != nil {
			n.log.Debug("group member not reachable now", "group", id, "peer", p, "err", err)
		}
	}()
}

// memberDialTimeout bounds one dial of a member, DHT lookup included.
const memberDialTimeout = 30 * time.Second

// freeSlots is how many more members group id may dial now.
func (gs *groupSync) freeSlots(id parley.ConversationID) int {
	connected, members := 0, gs.n.groups.MemberPeers(id)
	for _, p := range members {
		if reachable(gs.n.host.Network().Connectedness(p)) {
			connected++
		}
	}
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return gs.groupPeerBound(len(members)) - connected - gs.dialing[id]
}
