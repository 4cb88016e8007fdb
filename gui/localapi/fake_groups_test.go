package localapi_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/parley-im/parley"
)

// fakeGroup is one group of the fakeNode: the group as listed and its
// members.
type fakeGroup struct {
	parley.Group
	members []parley.GroupMember
}

// addGroup adds a group in the given state with us as role and the other
// members given (peer IDs, added by the first of them, who is admin), as if
// it had arrived from the network. It returns the group's ID.
func (f *fakeNode) addGroup(name string, state parley.GroupState, role parley.Role, others ...string) parley.ConversationID {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := &fakeGroup{Group: parley.Group{
		ID:    sha256.Sum256(fmt.Appendf(nil, "group %d %s", len(f.groups), name)),
		Name:  name,
		State: state,
	}}
	adder := selfID
	if len(others) > 0 {
		adder = others[0]
	}
	if state == parley.GroupInvited {
		g.InvitedBy = adder
	} else {
		g.Role = role
		g.members = append(g.members, parley.GroupMember{PeerID: selfID, Name: f.self.Name, Role: role, AddedBy: adder, Self: true})
	}
	for i, id := range others {
		r := parley.RoleMember
		if i == 0 {
			r = parley.RoleAdmin
		}
		name := "card:" + id
		if c, ok := f.contacts[id]; ok {
			name = c.Name
		}
		g.members = append(g.members, parley.GroupMember{PeerID: id, Name: name, Role: r, AddedBy: adder})
	}
	g.Members = len(g.members)
	f.groups = append(f.groups, g)
	return g.ID
}

// findGroup resolves a group ID or name as the node does, with bare
// sentinels (the API names the group). Callers hold mu.
// adminGroup finds a group we joined and administer, as the node refuses
// admin actions otherwise.
func (f *fakeNode) adminGroup(group string) (*fakeGroup, error) {
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

func (f *fakeNode) findGroup(group string) (*fakeGroup, error) {
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

func (f *fakeNode) CreateGroup(_ context.Context, name string) (parley.Group, error) {
	id := f.addGroup(name, parley.GroupJoined, parley.RoleAdmin)
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(id.String())
	return g.Group, err
}

func (f *fakeNode) listGroups(invited bool) []parley.Group {
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

func (f *fakeNode) Groups(context.Context) ([]parley.Group, error) { return f.listGroups(false), nil }

func (f *fakeNode) GroupInvites(context.Context) ([]parley.Group, error) {
	return f.listGroups(true), nil
}

func (f *fakeNode) InviteToGroup(_ context.Context, group, contact string) (parley.GroupMember, error) {
	c, err := f.Resolve(context.Background(), contact)
	if err != nil {
		return parley.GroupMember{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.adminGroup(group)
	if err != nil {
		return parley.GroupMember{}, err
	}
	m := parley.GroupMember{PeerID: c.PeerID, Name: c.Name, Role: parley.RoleMember, AddedBy: selfID}
	g.members = append(g.members, m)
	g.Members = len(g.members)
	return m, nil
}

func (f *fakeNode) AcceptGroup(_ context.Context, group string) (parley.Group, error) {
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
	g.members = append(g.members, parley.GroupMember{PeerID: selfID, Name: f.self.Name,
		Role: parley.RoleMember, AddedBy: g.InvitedBy, Self: true})
	g.Members = len(g.members)
	return g.Group, nil
}

func (f *fakeNode) DeclineGroup(_ context.Context, group string) error {
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

func (f *fakeNode) GroupMembers(_ context.Context, group string) ([]parley.GroupMember, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return nil, err
	}
	return slices.Clone(g.members), nil
}

func (f *fakeNode) RemoveFromGroup(_ context.Context, group, member string) error {
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

func (f *fakeNode) RenameGroup(_ context.Context, group, name string) (parley.Group, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return parley.Group{}, fmt.Errorf("%w: a group needs a name", parley.ErrMalformed)
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

func (f *fakeNode) SetGroupRole(_ context.Context, group, member string, role parley.Role) (parley.GroupMember, error) {
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

func (f *fakeNode) LeaveGroup(_ context.Context, group string) error {
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

func (f *fakeNode) SendToGroup(_ context.Context, group, text string) (parley.Message, error) {
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
func (f *fakeNode) receiveGroup(id parley.ConversationID, from, text string) parley.Message {
	return f.receiveIn(id, []byte(id.String()+from+text), from, text)
}

func (f *fakeNode) GroupMessages(_ context.Context, group string, limit int, markRead bool) ([]parley.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.findGroup(group)
	if err != nil {
		return nil, err
	}
	var out []parley.Message
	for _, m := range f.msgs {
		if m.Conversation == g.ID {
			out = append(out, m)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	if markRead {
		f.readIn = append(f.readIn, g.ID)
	}
	return out, nil
}

func (f *fakeNode) groupsMarkedRead() []parley.ConversationID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.readIn)
}
