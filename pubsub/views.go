package pubsub

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Resolve finds a group by ID (hex) or by name, ignoring case. Groups we
// are in win over those we left or were invited to, so an old group
// cannot make a current one's name ambiguous.
func (s *Groups) Resolve(nameOrID string) (parley.ConversationID, error) {
	nameOrID = strings.TrimSpace(nameOrID)
	if id, err := parley.ParseConversationID(nameOrID); err == nil {
		if _, err := s.get(id); err != nil {
			return id, err
		}
		return id, nil
	}
	s.mu.Lock()
	var found, joined []parley.ConversationID
	for id, g := range s.groups {
		g.mu.Lock()
		name, state := g.name(), g.rec.State
		g.mu.Unlock()
		if strings.EqualFold(name, nameOrID) {
			found = append(found, id)
			if state == parley.GroupJoined {
				joined = append(joined, id)
			}
		}
	}
	s.mu.Unlock()
	if len(joined) > 0 {
		found = joined
	}
	switch len(found) {
	case 0:
		return parley.ConversationID{}, fmt.Errorf("%w %q", parley.ErrUnknownGroup, nameOrID)
	case 1:
		return found[0], nil
	default:
		return parley.ConversationID{}, fmt.Errorf("%w: %d groups are called %q; use the group ID", parley.ErrAmbiguous, len(found), nameOrID)
	}
}

// name is the group's name: the ops' once we hold them, else the invite's.
func (g *group) name() string {
	if g.state != nil && g.state.Created {
		return g.state.Name
	}
	return g.rec.Name
}

// history is the group's history setting: the ops' once we hold them,
// else the invite's. Call with g.mu held.
func (g *group) history() parley.GroupHistory {
	if g.state != nil && g.state.Created {
		return g.state.History
	}
	if g.rec.InviteHistory != "" {
		return g.rec.InviteHistory
	}
	return parley.HistoryShared
}

// memberCount is how many members the group has: the ops' count once we
// hold them, else the invite's (the members it named, its sender and us).
// An invite names at most identity.MaxGroupMembersHint members. Call with
// g.mu held.
func (g *group) memberCount() int {
	if g.state != nil && g.state.Created {
		return len(g.state.Members)
	}
	if g.rec.InvitedBy == "" {
		return 0
	}
	named := append(slices.Clone(g.rec.MemberHints), g.rec.InvitedBy)
	slices.Sort(named)
	return len(slices.Compact(named)) + 1
}

// view is the group as listed. Call with g.mu held.
func (s *Groups) view(g *group) parley.Group {
	v := parley.Group{ID: g.id, Name: g.name(), State: g.rec.State, InvitedBy: g.rec.InvitedBy, Members: g.memberCount(), History: g.history()}
	if m := g.state.Members[s.self]; m != nil {
		v.Role = m.Role
	}
	return v
}

// State is where we stand in a group (no store read, unlike View).
func (s *Groups) State(id parley.ConversationID) (parley.GroupState, error) {
	g, err := s.get(id)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rec.State, nil
}

// Name is the group's name now: its ops' latest rename, or the invite's
// before we hold the ops.
func (s *Groups) Name(id parley.ConversationID) (string, error) {
	g, err := s.get(id)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.name(), nil
}

// View describes one group.
func (s *Groups) View(id parley.ConversationID) (parley.Group, error) {
	g, err := s.get(id)
	if err != nil {
		return parley.Group{}, err
	}
	g.mu.Lock()
	v := s.view(g)
	g.mu.Unlock()
	if c, err := s.cfg.Store.Conversation(id); err == nil {
		v.LastHLC, v.Unread = c.LastHLC, c.Unread
	}
	return v, nil
}

// List returns the groups in the given states, most recent first.
func (s *Groups) List(states ...parley.GroupState) ([]parley.Group, error) {
	s.mu.Lock()
	ids := make([]parley.ConversationID, 0, len(s.groups))
	for id, g := range s.groups {
		g.mu.Lock()
		if slices.Contains(states, g.rec.State) {
			ids = append(ids, id)
		}
		g.mu.Unlock()
	}
	s.mu.Unlock()
	out := make([]parley.Group, 0, len(ids))
	for _, id := range ids {
		v, err := s.View(id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b parley.Group) int {
		return cmp.Or(cmp.Compare(b.LastHLC, a.LastHLC), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Members lists a group's members.
func (s *Groups) Members(id parley.ConversationID) ([]parley.GroupMember, error) {
	g, err := s.get(id)
	if err != nil {
		return nil, err
	}
	return s.members(g), nil
}

func (s *Groups) members(g *group) []parley.GroupMember {
	g.mu.Lock()
	ms := g.state.SortedMembers()
	g.mu.Unlock()
	out := make([]parley.GroupMember, 0, len(ms))
	for _, m := range ms {
		gm := parley.GroupMember{PeerID: m.Peer.String(), Name: m.Name, Role: m.Role, AddedBy: m.AddedBy.String(), Self: m.Peer == s.self}
		if c, err := s.cfg.Store.Contact(gm.PeerID); err == nil && c.Name != "" && (c.State == parley.ContactAccepted || gm.Self) {
			gm.Name = c.Name
		}
		if gr, err := s.cfg.Store.GroupGrantOf(g.id, gm.PeerID); err == nil {
			gm.Mailboxes = len(gr.Mailboxes)
		}
		out = append(out, gm)
	}
	return out
}

// MemberPeers lists the peers worth connecting to for a group: its current
// members (but us) and, before we hold the ops, the invite's hints.
func (s *Groups) MemberPeers(id parley.ConversationID) []peer.ID {
	g, err := s.get(id)
	if err != nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []peer.ID
	for p := range g.state.Members {
		if p != s.self {
			out = append(out, p)
		}
	}
	if !g.state.Created {
		for _, h := range append(slices.Clone(g.rec.MemberHints), g.rec.InvitedBy) {
			if p, err := peer.Decode(h); err == nil && p != s.self && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Inviter is who invited us to group id while we do not hold the group's
// ops yet (an invite just accepted): the one member sure to count us in.
// Members named only by the invite's hints may not have heard of our
// addition yet and refuse to sync with us.
func (s *Groups) Inviter(id parley.ConversationID) (peer.ID, bool) {
	g, err := s.get(id)
	if err != nil {
		return "", false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state.Created {
		return "", false
	}
	p, err := peer.Decode(g.rec.InvitedBy)
	return p, err == nil
}

// Active lists the groups we are in.
func (s *Groups) Active() []parley.ConversationID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []parley.ConversationID
	for id, g := range s.groups {
		g.mu.Lock()
		if g.rec.State == parley.GroupJoined {
			out = append(out, id)
		}
		g.mu.Unlock()
	}
	return out
}

// MaySync reports whether remote may sync group id with us: it is a
// member now, or, while we are still catching up and do not hold the ops,
// one the invite named.
func (s *Groups) MaySync(id parley.ConversationID, remote peer.ID) bool {
	g, err := s.get(id)
	if err != nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rec.State == parley.GroupInvited {
		return false
	}
	if g.state.Created {
		return g.state.IsMember(remote)
	}
	return remote.String() == g.rec.InvitedBy || slices.Contains(g.rec.MemberHints, remote.String())
}

// SyncFilter says which of a group's envelopes a sync session with remote
// covers: every op, and the messages both sides may read under the group's
// history setting (State.SharedWith). Both sides apply the same rule to
// their own sets, so reconciliation still converges; in a hidden-history
// group a member therefore never receives, from a member that follows the
// protocol, what was written while it was not a member. nil: everything
// (a shared-history group, or one whose ops we do not hold yet).
func (s *Groups) SyncFilter(id parley.ConversationID, remote peer.ID) func(parley.EnvelopeID, parley.HLC) bool {
	g, err := s.get(id)
	if err != nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.state.Created || g.state.History != parley.HistoryHidden {
		return nil
	}
	// A State is never changed once built (applyOp replays into a new
	// one), so the closure may read this one without the lock.
	state := g.state
	ops := make(map[parley.EnvelopeID]bool, len(g.ops))
	for _, o := range g.ops {
		ops[o.ID] = true
	}
	// Grants go to every member, like ops (§9.10).
	grants, err := s.cfg.Store.GroupGrants(id, false)
	if err != nil {
		s.log.Warn("listing a group's mailbox grants for sync", "group", id, "err", err)
	}
	for _, gr := range grants {
		ops[gr.ID] = true
	}
	// And so do timers: the one in force applies to what a member writes.
	timers, err := s.cfg.Store.Timers(id)
	if err != nil {
		s.log.Warn("listing a group's timers for sync", "group", id, "err", err)
	}
	for _, t := range timers {
		ops[t.ID] = true
	}
	self := s.self
	return func(id parley.EnvelopeID, hlc parley.HLC) bool {
		return ops[id] || state.SharedWith(self, remote, hlc)
	}
}

// KeyIDs lists the keys we hold for a group.
func (s *Groups) KeyIDs(id parley.ConversationID) ([][identity.KeyIDSize]byte, error) {
	g, err := s.get(id)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([][identity.KeyIDSize]byte, 0, len(g.keys))
	for kid := range g.keys {
		out = append(out, kid)
	}
	return out, nil
}

// Messages lists a page of a group's text messages; markRead marks the
// incoming ones shown as read (MarkRead).
func (s *Groups) Messages(id parley.ConversationID, p parley.Page, markRead bool) ([]parley.Message, error) {
	if _, err := s.get(id); err != nil {
		return nil, err
	}
	msgs, err := s.cfg.Store.MessagesIn(id, p)
	if err != nil {
		return nil, err
	}
	if !markRead {
		return msgs, nil
	}
	_, err = s.MarkRead(id, msgs)
	return msgs, err
}

// MarkRead marks the incoming messages among msgs (listed from group id)
// read, here and in place, and returns the IDs it marked: the node sends
// read receipts for them (node/group_receipts.go).
func (s *Groups) MarkRead(id parley.ConversationID, msgs []parley.Message) ([]parley.EnvelopeID, error) {
	var ids []parley.EnvelopeID
	for _, m := range msgs {
		if !m.Outgoing && m.Status < parley.StatusRead {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if _, err := s.cfg.Store.AdvanceStatus(ids, parley.StatusRead); err != nil {
		return nil, err
	}
	for i := range msgs {
		if !msgs[i].Outgoing && msgs[i].Status < parley.StatusRead {
			msgs[i].Status = parley.StatusRead
		}
	}
	s.cfg.Notify(parley.Event{Type: parley.EventRead, Conversation: id})
	return ids, nil
}

func (s *Groups) notifyGroup(id parley.ConversationID) {
	if v, err := s.View(id); err == nil {
		s.cfg.Notify(parley.Event{Type: parley.EventGroup, Group: &v})
	}
}
