package pubsub

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// checkGroupName is the one check of a group name, for every caller (the
// API passes names through as typed): surrounding whitespace is trimmed, and
// what is left must be non-blank and pass identity.CheckName (at most
// identity.MaxCardName bytes of UTF-8, no control characters). Errors wrap
// parley.ErrMalformed.
func checkGroupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%w: a group needs a name", parley.ErrMalformed)
	}
	if err := identity.CheckName(name); err != nil {
		return "", fmt.Errorf("group name: %w", err)
	}
	return name, nil
}

// Create starts a group with us as its creator and only admin.
func (s *Groups) Create(name string) (parley.Group, error) {
	name, err := checkGroupName(name)
	if err != nil {
		return parley.Group{}, err
	}
	id, nonce := identity.NewGroupID(s.self)
	key := identity.NewGroupKey(id)
	hlc := s.cfg.Clock.Now()
	if _, err := s.cfg.Store.PutGroupKeys(id, []storage.GroupKey{{ID: key.ID, Key: key.Key, HLC: hlc}}); err != nil {
		return parley.Group{}, err
	}
	rec, err := s.cfg.Store.UpdateGroup(id, func(g *storage.Group, _ bool) (bool, error) {
		g.Name, g.State = name, parley.GroupJoined
		return true, nil
	})
	if err != nil {
		return parley.Group{}, err
	}
	g := &group{id: id, rec: rec, state: Replay(id, nil)}
	g.addKey(key, hlc)
	s.mu.Lock()
	s.groups[id] = g
	s.mu.Unlock()
	if err := s.join(g); err != nil {
		return parley.Group{}, err
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_CREATE, Name: name, Nonce: nonce,
		MemberHpkeKey: s.cfg.Identity.HPKEPublicKey(), MemberName: s.cfg.SelfName(),
		History: pb.GroupOp_HISTORY_HIDDEN}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return parley.Group{}, err
	}
	s.cfg.Active(id)
	return s.View(id)
}

// Invite adds a contact to a group and sends them its keys. Only admins
// may; inviting a member again sends the keys again.
func (s *Groups) Invite(id parley.ConversationID, c parley.Contact) (parley.GroupMember, error) {
	g, err := s.joined(id)
	if err != nil {
		return parley.GroupMember{}, err
	}
	p, err := peer.Decode(c.PeerID)
	if err != nil || len(c.HPKEKey) == 0 || c.State != parley.ContactAccepted {
		return parley.GroupMember{}, fmt.Errorf("%w: %s is not a contact with a known key; add them by invite first", parley.ErrUnknownContact, c.PeerID)
	}
	g.mu.Lock()
	admin, already := g.state.IsAdmin(s.self), g.state.IsMember(p)
	g.mu.Unlock()
	if !admin {
		return parley.GroupMember{}, parley.ErrNotAdmin
	}
	if !already {
		op := &pb.GroupOp{Type: pb.GroupOp_TYPE_ADD, Member: []byte(p), Role: pb.GroupOp_ROLE_MEMBER,
			MemberHpkeKey: c.HPKEKey, MemberName: c.Name}
		if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
			return parley.GroupMember{}, err
		}
	}
	if err := s.sendKeys(g, c, true, nil); err != nil {
		return parley.GroupMember{}, err
	}
	for _, m := range s.members(g) {
		if m.PeerID == c.PeerID {
			return m, nil
		}
	}
	return parley.GroupMember{}, fmt.Errorf("%w: %s was not added (an admin's concurrent change won)", parley.ErrNotMember, c.PeerID)
}

// sendKeys hands c the group's keys: all of them (only), or just one.
func (s *Groups) sendKeys(g *group, c parley.Contact, invite bool, only *identity.SendKey) error {
	g.mu.Lock()
	gk := &pb.GroupKeys{GroupId: g.id[:], Name: g.name(), Invite: invite, History: historyPB(g.history())}
	for kid, k := range g.keys {
		if only == nil || only.ID == kid {
			gk.Keys = append(gk.Keys, &pb.GroupKey{KeyId: k.ID[:], Key: k.Key[:], Hlc: uint64(g.keyHLC[kid])})
		}
	}
	// The newest keys first, so a long history cut at the limit keeps
	// what matters.
	slices.SortFunc(gk.Keys, func(a, b *pb.GroupKey) int { return cmp.Compare(b.Hlc, a.Hlc) })
	gk.Keys = gk.Keys[:min(len(gk.Keys), identity.MaxGroupKeys)]
	for _, m := range g.state.SortedMembers() {
		if len(gk.Members) < identity.MaxGroupMembersHint && m.Peer.String() != c.PeerID {
			gk.Members = append(gk.Members, []byte(m.Peer))
		}
	}
	g.mu.Unlock()
	return s.cfg.SendKeys(c, gk)
}

// Accept joins a group we were invited to.
func (s *Groups) Accept(id parley.ConversationID) (parley.Group, error) {
	g, err := s.get(id)
	if err != nil {
		return parley.Group{}, err
	}
	g.mu.Lock()
	state := g.rec.State
	g.mu.Unlock()
	switch state {
	case parley.GroupJoined:
		return s.View(id)
	case parley.GroupInvited:
	default:
		return parley.Group{}, fmt.Errorf("%w: no pending invite to this group", parley.ErrNotMember)
	}
	if err := s.setState(g, parley.GroupJoined); err != nil {
		return parley.Group{}, err
	}
	if err := s.join(g); err != nil {
		return parley.Group{}, err
	}
	s.cfg.Active(id)
	s.notifyGroup(id)
	return s.View(id)
}

func (s *Groups) setState(g *group, state parley.GroupState) error {
	rec, err := s.cfg.Store.UpdateGroup(g.id, func(r *storage.Group, _ bool) (bool, error) {
		r.State = state
		return true, nil
	})
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.rec = rec
	g.mu.Unlock()
	return nil
}

// Decline turns an invite down: we leave the group, which its members see.
func (s *Groups) Decline(id parley.ConversationID) error {
	g, err := s.get(id)
	if err != nil {
		return err
	}
	g.mu.Lock()
	state := g.rec.State
	g.mu.Unlock()
	if state != parley.GroupInvited {
		return fmt.Errorf("%w: no pending invite to this group", parley.ErrNotMember)
	}
	return s.leave(g)
}

// Leave leaves a group. The history stays here; nothing new arrives.
func (s *Groups) Leave(id parley.ConversationID) error {
	g, err := s.joined(id)
	if err != nil {
		return err
	}
	return s.leave(g)
}

func (s *Groups) leave(g *group) error {
	// The op is stored first, so the sync that Active starts can hand it
	// to the members even when no one is on the topic now.
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_LEAVE}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return err
	}
	if err := s.setState(g, parley.GroupLeft); err != nil {
		return err
	}
	s.part(g)
	s.cfg.Active(g.id)
	s.notifyGroup(g.id)
	return nil
}

// Remove takes a member out (admins only) and starts a new epoch whose key
// goes to the remaining members alone.
func (s *Groups) Remove(id parley.ConversationID, member peer.ID) error {
	g, err := s.joined(id)
	if err != nil {
		return err
	}
	g.mu.Lock()
	admin, present := g.state.IsAdmin(s.self), g.state.IsMember(member)
	g.mu.Unlock()
	switch {
	case !admin:
		return parley.ErrNotAdmin
	case !present:
		return fmt.Errorf("%w: %s", parley.ErrNotMember, member)
	case member == s.self:
		return fmt.Errorf("%w: to remove yourself, leave the group", parley.ErrMalformed)
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_REMOVE, Member: []byte(member)}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return err
	}
	return s.rekey(g)
}

// Rename renames a group (admins only).
func (s *Groups) Rename(id parley.ConversationID, name string) (parley.Group, error) {
	name, err := checkGroupName(name)
	if err != nil {
		return parley.Group{}, err
	}
	g, err := s.joined(id)
	if err != nil {
		return parley.Group{}, err
	}
	g.mu.Lock()
	admin := g.state.IsAdmin(s.self)
	g.mu.Unlock()
	if !admin {
		return parley.Group{}, parley.ErrNotAdmin
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_RENAME, Name: name}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return parley.Group{}, err
	}
	return s.View(id)
}

// SetHistory changes whether members added from now on read the group's
// earlier history (admins only). It rules what members sync with each
// other from then on (SyncFilter); what a member already holds stays.
func (s *Groups) SetHistory(id parley.ConversationID, h parley.GroupHistory) (parley.Group, error) {
	if _, err := parley.ParseGroupHistory(string(h)); err != nil {
		return parley.Group{}, err
	}
	g, err := s.joined(id)
	if err != nil {
		return parley.Group{}, err
	}
	g.mu.Lock()
	admin, same := g.state.IsAdmin(s.self), g.state.History == h
	g.mu.Unlock()
	if !admin {
		return parley.Group{}, parley.ErrNotAdmin
	}
	if !same {
		op := &pb.GroupOp{Type: pb.GroupOp_TYPE_SETTINGS, History: historyPB(h)}
		if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
			return parley.Group{}, err
		}
	}
	return s.View(id)
}

// SetRole makes a member an admin or a plain member (admins only). An
// admin may step down; the last admin may too, leaving a group no one can
// add to.
func (s *Groups) SetRole(id parley.ConversationID, member peer.ID, role parley.Role) (parley.GroupMember, error) {
	var r pb.GroupOp_Role
	switch role {
	case parley.RoleAdmin:
		r = pb.GroupOp_ROLE_ADMIN
	case parley.RoleMember:
		r = pb.GroupOp_ROLE_MEMBER
	default:
		return parley.GroupMember{}, fmt.Errorf("%w: role %q (want admin or member)", parley.ErrMalformed, role)
	}
	g, err := s.joined(id)
	if err != nil {
		return parley.GroupMember{}, err
	}
	g.mu.Lock()
	admin, present := g.state.IsAdmin(s.self), g.state.IsMember(member)
	g.mu.Unlock()
	switch {
	case !admin:
		return parley.GroupMember{}, parley.ErrNotAdmin
	case !present:
		return parley.GroupMember{}, fmt.Errorf("%w: %s", parley.ErrNotMember, member)
	}
	op := &pb.GroupOp{Type: pb.GroupOp_TYPE_ROLE, Member: []byte(member), Role: r}
	if _, err := s.write(g, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: op}}); err != nil {
		return parley.GroupMember{}, err
	}
	for _, m := range s.members(g) {
		if m.PeerID == member.String() {
			return m, nil
		}
	}
	return parley.GroupMember{}, fmt.Errorf("%w: %s", parley.ErrNotMember, member)
}

// rekey starts a new epoch: a fresh key, kept, then sent to every other
// current member. Messages sealed after it are unreadable to anyone who
// left before.
func (s *Groups) rekey(g *group) error {
	key := identity.NewGroupKey(g.id)
	hlc := s.cfg.Clock.Now()
	if _, err := s.cfg.Store.PutGroupKeys(g.id, []storage.GroupKey{{ID: key.ID, Key: key.Key, HLC: hlc}}); err != nil {
		return err
	}
	g.mu.Lock()
	g.addKey(key, hlc)
	members := g.state.SortedMembers()
	g.mu.Unlock()
	s.cfg.OnEpoch(g.id)
	var errs []error
	for _, m := range members {
		if m.Peer == s.self {
			continue
		}
		c := s.contactFor(m)
		if err := s.sendKeys(g, c, false, key); err != nil {
			errs = append(errs, fmt.Errorf("sending the new key to %s: %w", m.Peer, err))
		}
	}
	return errors.Join(errs...)
}

// contactFor is what SendKeys needs to reach a member: our contact record
// when there is one, else the key and name the op that added them carried.
func (s *Groups) contactFor(m *Member) parley.Contact {
	if c, err := s.cfg.Store.Contact(m.Peer.String()); err == nil && len(c.HPKEKey) > 0 {
		return c
	}
	return parley.Contact{PeerID: m.Peer.String(), Name: m.Name, HPKEKey: m.HPKEKey}
}
