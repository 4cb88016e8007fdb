package pubsub

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
)

// Op is one verified group operation: who signed it, when, and what it says.
type Op struct {
	ID     parley.EnvelopeID
	Author peer.ID
	HLC    parley.HLC
	Body   *pb.GroupOp
}

// Member is one member of a group as the ops say.
type Member struct {
	Peer    peer.ID
	Role    parley.Role
	Name    string // from the op that added the member
	HPKEKey []byte // MLKEM768-X25519 public key, for sending group keys
	AddedBy peer.ID
	AddedAt parley.HLC
}

// span is an interval [from, to) of HLCs during which a peer was a member
// (to == 0: still is).
type span struct{ from, to parley.HLC }

// State is a group's membership, computed by Replay.
//
// The rule that makes it converge: ops are applied in (HLC, envelope ID)
// order, and each takes effect only if its author is entitled to it in the
// state the ops before it produced; otherwise it is skipped. Every member who
// holds the same set of ops therefore computes the same state, whatever order
// the ops arrived in. Two admins acting concurrently (say, each removing the
// other) are settled by that order: the earlier op wins and the later one's
// author is no longer an admin when it comes up.
//
// Entitlement: CREATE must be the first op to take effect and must come
// from the creator the group ID commits to (identity.GroupIDOf); the creator
// becomes an admin. Admins ADD (a peer not currently a member), REMOVE (any
// member, including another admin), RENAME and change ROLEs; any member may
// LEAVE. A group left without admins keeps its members, who can still write
// and leave; no one can add.
type State struct {
	Group   parley.ConversationID
	Created bool
	Creator peer.ID
	Name    string
	Members map[peer.ID]*Member
	// History is the group's history setting (CREATE, then SETTINGS).
	History parley.GroupHistory
	spans   map[peer.ID][]span
	// LastChange is the HLC of the newest op that took effect.
	LastChange parley.HLC
	// LastDeparture is the HLC of the newest REMOVE or LEAVE that took
	// effect: a key whose epoch began before it is known to whoever left.
	LastDeparture parley.HLC
}

// Replay computes the state of group from its ops, in any order.
func Replay(group parley.ConversationID, ops []Op) *State {
	sorted := slices.Clone(ops)
	SortOps(sorted)
	s := &State{Group: group, Members: make(map[peer.ID]*Member), spans: make(map[peer.ID][]span)}
	for _, op := range sorted {
		s.apply(op)
	}
	return s
}

// SortOps puts ops in replay order: (HLC, envelope ID).
func SortOps(ops []Op) {
	slices.SortFunc(ops, func(a, b Op) int {
		return cmp.Or(cmp.Compare(a.HLC, b.HLC), bytes.Compare(a.ID[:], b.ID[:]))
	})
}

// apply applies one op if its author is entitled to it, and says whether it
// took effect.
func (s *State) apply(op Op) bool {
	b := op.Body
	if !s.Created {
		if b.Type != pb.GroupOp_TYPE_CREATE || identity.GroupIDOf(op.Author, b.Nonce) != s.Group {
			return false
		}
		s.Created, s.Creator, s.Name = true, op.Author, b.Name
		s.History = historyOf(b.History)
		s.add(op, op.Author, parley.RoleAdmin, b.MemberName, b.MemberHpkeKey)
		return true
	}
	author, isMember := s.Members[op.Author]
	if !isMember {
		return false
	}
	admin := author.Role == parley.RoleAdmin
	target, _ := peer.IDFromBytes(b.Member) // checked when the envelope was opened
	switch b.Type {
	case pb.GroupOp_TYPE_ADD:
		if !admin || s.Members[target] != nil {
			return false
		}
		s.add(op, target, roleOf(b.Role), b.MemberName, b.MemberHpkeKey)
	case pb.GroupOp_TYPE_REMOVE:
		if !admin || s.Members[target] == nil {
			return false
		}
		s.remove(target, op.HLC)
		s.LastDeparture = op.HLC
	case pb.GroupOp_TYPE_LEAVE:
		s.remove(op.Author, op.HLC)
		s.LastDeparture = op.HLC
	case pb.GroupOp_TYPE_RENAME:
		if !admin {
			return false
		}
		s.Name = b.Name
	case pb.GroupOp_TYPE_ROLE:
		m := s.Members[target]
		if !admin || m == nil {
			return false
		}
		m.Role = roleOf(b.Role)
	case pb.GroupOp_TYPE_SETTINGS:
		if !admin {
			return false
		}
		s.History = historyOf(b.History)
	default: // CREATE again, or unknown
		return false
	}
	s.LastChange = op.HLC
	return true
}

func (s *State) add(op Op, p peer.ID, role parley.Role, name string, key []byte) {
	s.Members[p] = &Member{Peer: p, Role: role, Name: name, HPKEKey: key, AddedBy: op.Author, AddedAt: op.HLC}
	s.spans[p] = append(s.spans[p], span{from: op.HLC})
	s.LastChange = op.HLC
}

func (s *State) remove(p peer.ID, at parley.HLC) {
	delete(s.Members, p)
	if sp := s.spans[p]; len(sp) > 0 {
		sp[len(sp)-1].to = at
	}
}

func roleOf(r pb.GroupOp_Role) parley.Role {
	if r == pb.GroupOp_ROLE_ADMIN {
		return parley.RoleAdmin
	}
	return parley.RoleMember
}

// historyOf reads a history setting from an op; groups created before the
// setting existed shared their history.
func historyOf(h pb.GroupOp_History) parley.GroupHistory {
	if h == pb.GroupOp_HISTORY_HIDDEN {
		return parley.HistoryHidden
	}
	return parley.HistoryShared
}

// historyPB is the op field for a history setting.
func historyPB(h parley.GroupHistory) pb.GroupOp_History {
	if h == parley.HistoryHidden {
		return pb.GroupOp_HISTORY_HIDDEN
	}
	return pb.GroupOp_HISTORY_SHARED
}

// SharedWith reports whether a message written at hlc belongs to what a
// and b share: all of it in a shared-history group; in a hidden-history
// group, only what was written while both were members.
func (s *State) SharedWith(a, b peer.ID, hlc parley.HLC) bool {
	return s.History != parley.HistoryHidden || s.WasMember(a, hlc) && s.WasMember(b, hlc)
}

// IsMember reports whether p is a member now.
func (s *State) IsMember(p peer.ID) bool { return s.Members[p] != nil }

// HasAdmin reports whether anyone may still add members and start epochs.
func (s *State) HasAdmin() bool {
	for _, m := range s.Members {
		if m.Role == parley.RoleAdmin {
			return true
		}
	}
	return false
}

// IsAdmin reports whether p is an admin now.
func (s *State) IsAdmin(p peer.ID) bool {
	m := s.Members[p]
	return m != nil && m.Role == parley.RoleAdmin
}

// WasMember reports whether p was a member at hlc: a message written then
// stays valid after its author leaves, so history still syncs.
func (s *State) WasMember(p peer.ID, hlc parley.HLC) bool {
	for _, sp := range s.spans[p] {
		if hlc >= sp.from && (sp.to == 0 || hlc < sp.to) {
			return true
		}
	}
	return false
}

// EverMember reports whether p was a member at any time.
func (s *State) EverMember(p peer.ID) bool { return len(s.spans[p]) > 0 }

// SortedMembers lists the members: admins first, then by name, then peer ID.
func (s *State) SortedMembers() []*Member {
	out := make([]*Member, 0, len(s.Members))
	for _, m := range s.Members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Member) int {
		return cmp.Or(
			cmp.Compare(rank(a.Role), rank(b.Role)),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Peer, b.Peer),
		)
	})
	return out
}

func rank(r parley.Role) int {
	if r == parley.RoleAdmin {
		return 0
	}
	return 1
}
