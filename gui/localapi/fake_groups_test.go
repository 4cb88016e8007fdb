package localapi_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/parley-im/parley"
)

// fakeGroups is the fake node's group chats. It resolves groups as the
// node does, with bare sentinels (the API names the group).
type fakeGroups struct {
	clock *parley.Clock
	dm    *fakeMessages // contacts: whom we invite, members' names

	mu     sync.Mutex
	groups []*fakeGroup            // in creation order; guarded by mu
	msgs   []parley.Message        // guarded by mu
	readIn []parley.ConversationID // groups whose messages were marked read; guarded by mu
}

// fakeGroup is one group: the group as listed and its members.
type fakeGroup struct {
	parley.Group
	members []parley.GroupMember
}

// addGroup adds a group in the given state with us as role and the other
// members given (peer IDs, added by the first of them, who is admin), as if
// it had arrived from the network. It returns the group's ID.
func (f *fakeGroups) addGroup(name string, state parley.GroupState, role parley.Role, others ...string) parley.ConversationID {
	self := f.dm.Self()
	names := make(map[string]string)
	for _, id := range others {
		names[id] = "card:" + id
		if c, ok := f.dm.contact(id); ok {
			names[id] = c.Name
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g := &fakeGroup{Group: parley.Group{
		ID:    sha256.Sum256(fmt.Appendf(nil, "group %d %s", len(f.groups), name)),
		Name:  name,
		State: state,
		// As the node's: a group from before the setting existed is shared.
		History: parley.HistoryShared,
	}}
	adder := selfID
	if len(others) > 0 {
		adder = others[0]
	}
	if state == parley.GroupInvited {
		g.InvitedBy = adder
	} else {
		g.Role = role
		g.members = append(g.members, parley.GroupMember{PeerID: selfID, Name: self.Name, Role: role, AddedBy: adder, Self: true})
	}
	for i, id := range others {
		r := parley.RoleMember
		if i == 0 {
			r = parley.RoleAdmin
		}
		g.members = append(g.members, parley.GroupMember{PeerID: id, Name: names[id], Role: r, AddedBy: adder})
	}
	g.Members = len(g.members)
	f.groups = append(f.groups, g)
	return g.ID
}

// adminGroup finds a group we joined and administer, as the node refuses
// admin actions otherwise. Callers hold mu.
func (f *fakeGroups) adminGroup(group string) (*fakeGroup, error) {
	g, err := f.findGroup(group)
	switch {
	case err != nil:
		return nil, err
	case g.State != parley.GroupJoined:
		return nil, parley.ErrNotMember
	case g.Role != parley.RoleAdmin:
		return nil, parley.ErrNotAdmin
	}
	return g, nil
}

// findGroup resolves a group ID or name as the node does. Callers hold mu.
func (f *fakeGroups) findGroup(group string) (*fakeGroup, error) {
	if id, err := parley.ParseConversationID(group); err == nil {
		for _, g := range f.groups {
			if g.ID == id {
				return g, nil
			}
		}
	}
	var found []*fakeGroup
	for _, g := range f.groups {
		if g.Name == group {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return nil, parley.ErrUnknownGroup
	case 1:
		return found[0], nil
	}
	return nil, parley.ErrAmbiguous
}

func (f *fakeGroups) CreateGroup(_ context.Context, name string) (parley.Group, error) {
	name, err := groupName(name)
	if err != nil {
		return parley.Group{}, err
	}
	id := f.addGroup(name, parley.GroupJoined, parley.RoleAdmin)
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(id.String())
	if err != nil {
		return parley.Group{}, err
	}
	g.History = parley.HistoryHidden
	return g.Group, nil
}

func (f *fakeGroups) listGroups(invited bool) []parley.Group {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []parley.Group
	for _, g := range slices.Backward(f.groups) { // most recent first
		if (g.State == parley.GroupInvited) == invited {
			out = append(out, g.Group)
		}
	}
	return out
}

func (f *fakeGroups) Groups(context.Context) ([]parley.Group, error) { return f.listGroups(false), nil }

func (f *fakeGroups) GroupInvites(context.Context) ([]parley.Group, error) {
	return f.listGroups(true), nil
}

func (f *fakeGroups) InviteToGroup(ctx context.Context, group, contact string) (parley.GroupMember, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.adminGroup(group)
	if err != nil {
		return parley.GroupMember{}, err
	}
	c, err := f.dm.Resolve(ctx, contact)
	if err != nil {
		return parley.GroupMember{}, err
	}
	m := parley.GroupMember{PeerID: c.PeerID, Name: c.Name, Role: parley.RoleMember, AddedBy: selfID}
	g.members = append(g.members, m)
	g.Members = len(g.members)
	return m, nil
}

func (f *fakeGroups) AcceptGroup(_ context.Context, group string) (parley.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return parley.Group{}, err
	}
	if g.State != parley.GroupInvited {
		return parley.Group{}, fmt.Errorf("invitation to %q: %w", g.Name, parley.ErrNotFound)
	}
	g.State, g.Role = parley.GroupJoined, parley.RoleMember
	g.members = append(g.members, parley.GroupMember{PeerID: selfID, Name: f.dm.Self().Name,
		Role: parley.RoleMember, AddedBy: g.InvitedBy, Self: true})
	g.Members = len(g.members)
	return g.Group, nil
}

func (f *fakeGroups) DeclineGroup(_ context.Context, group string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return err
	}
	if g.State != parley.GroupInvited {
		return fmt.Errorf("invitation to %q: %w", g.Name, parley.ErrNotFound)
	}
	g.State = parley.GroupLeft
	return nil
}

func (f *fakeGroups) GroupMembers(_ context.Context, group string) ([]parley.GroupMember, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return nil, err
	}
	return slices.Clone(g.members), nil
}

func (f *fakeGroups) RemoveFromGroup(_ context.Context, group, member string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.adminGroup(group)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(g.members, func(m parley.GroupMember) bool {
		return m.PeerID == member || m.Name == member
	})
	if i < 0 {
		return fmt.Errorf("%q: %w", member, parley.ErrNotMember)
	}
	g.members = slices.Delete(g.members, i, i+1)
	g.Members = len(g.members)
	return nil
}

func (f *fakeGroups) RenameGroup(_ context.Context, group, name string) (parley.Group, error) {
	name, err := groupName(name)
	if err != nil {
		return parley.Group{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.adminGroup(group)
	if err != nil {
		return parley.Group{}, err
	}
	g.Name = name
	return g.Group, nil
}

func (f *fakeGroups) SetGroupHistory(_ context.Context, group string, h parley.GroupHistory) (parley.Group, error) {
	if _, err := parley.ParseGroupHistory(string(h)); err != nil {
		return parley.Group{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.adminGroup(group)
	if err != nil {
		return parley.Group{}, err
	}
	g.History = h
	return g.Group, nil
}

func (f *fakeGroups) SetGroupRole(_ context.Context, group, member string, role parley.Role) (parley.GroupMember, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return parley.GroupMember{}, err
	}
	if role != parley.RoleAdmin && role != parley.RoleMember {
		return parley.GroupMember{}, fmt.Errorf("%w: role %q (want admin or member)", parley.ErrMalformed, role)
	}
	if g.State != parley.GroupJoined {
		return parley.GroupMember{}, parley.ErrNotMember
	}
	if g.Role != parley.RoleAdmin {
		return parley.GroupMember{}, parley.ErrNotAdmin
	}
	i := slices.IndexFunc(g.members, func(m parley.GroupMember) bool {
		return m.PeerID == member || m.Name == member
	})
	if i < 0 {
		return parley.GroupMember{}, fmt.Errorf("%q: %w", member, parley.ErrNotMember)
	}
	g.members[i].Role = role
	if g.members[i].Self { // an admin may step down
		g.Role = role
	}
	return g.members[i], nil
}

func (f *fakeGroups) LeaveGroup(_ context.Context, group string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return err
	}
	if g.State != parley.GroupJoined {
		return parley.ErrNotMember
	}
	g.State, g.Role = parley.GroupLeft, ""
	return nil
}

func (f *fakeGroups) SendToGroup(_ context.Context, group, text string, _ parley.ClientID) (parley.Message, error) {
	if err := parley.CheckText(text); err != nil {
		return parley.Message{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return parley.Message{}, err
	}
	if g.State != parley.GroupJoined {
		return parley.Message{}, parley.ErrNotMember
	}
	m := parley.Message{
		ID:           parley.NewEnvelopeID([]byte(g.Name + text)),
		Conversation: g.ID,
		From:         selfID,
		Outgoing:     true,
		Kind:         parley.KindText,
		Text:         text,
		HLC:          f.clock.Now(),
		Status:       parley.StatusQueued,
	}
	f.msgs = append(f.msgs, m)
	g.LastHLC = m.HLC
	return m, nil
}

// receiveGroup stores an incoming group message, as the group protocol
// would.
func (f *fakeGroups) receiveGroup(id parley.ConversationID, from, text string) parley.Message {
	m := incoming(f.clock, id, []byte(id.String()+from+text), from, text)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
	return m
}

func (f *fakeGroups) GroupMessages(_ context.Context, group string, p parley.Page, markRead bool) ([]parley.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return nil, err
	}
	out, err := pageIn(f.msgs, g.ID, p)
	if err != nil {
		return nil, err
	}
	if markRead {
		f.readIn = append(f.readIn, g.ID)
	}
	return out, nil
}

func (f *fakeGroups) groupsMarkedRead() []parley.ConversationID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.readIn)
}

// conversations lists the groups as conversations, invitations aside.
func (f *fakeGroups) conversations() []parley.Conversation {
	f.mu.Lock()
	defer f.mu.Unlock()
	var convs []parley.Conversation
	for _, g := range f.groups {
		if g.State != parley.GroupInvited {
			convs = append(convs, parley.Conversation{ID: g.ID, Kind: parley.ConversationGroup,
				Name: g.Name, LastHLC: g.LastHLC, Unread: g.Unread})
		}
	}
	return convs
}

// groupName trims and checks a group's name, as the node does.
func groupName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%w: a group needs a name", parley.ErrMalformed)
	}
	return name, nil
}
