package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

// resolveGroup finds a group by name or ID.
func (m *Messenger) resolveGroup(group string) (parley.ConversationID, error) {
	return m.node().groups.Resolve(group)
}

// CreateGroup starts a group with us as its only member and admin.
func (m *Messenger) CreateGroup(ctx context.Context, name string) (parley.Group, error) {
	return m.node().groups.Create(name)
}

// SetGroupHistory changes whether members added from now on read the
// group's earlier history (admins only).
func (m *Messenger) SetGroupHistory(ctx context.Context, group string, h parley.GroupHistory) (parley.Group, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return parley.Group{}, err
	}
	return m.node().groups.SetHistory(id, h)
}

// Groups lists the groups we are in or were in.
func (m *Messenger) Groups(ctx context.Context) ([]parley.Group, error) {
	return m.node().groups.List(parley.GroupJoined, parley.GroupLeft, parley.GroupRemoved)
}

// GroupInvites lists pending invitations.
func (m *Messenger) GroupInvites(ctx context.Context) ([]parley.Group, error) {
	return m.node().groups.List(parley.GroupInvited)
}

// InviteToGroup adds a contact to a group and sends them its keys.
func (m *Messenger) InviteToGroup(ctx context.Context, group, contact string) (parley.GroupMember, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return parley.GroupMember{}, err
	}
	c, err := m.Resolve(ctx, contact)
	if err != nil {
		return parley.GroupMember{}, err
	}
	return m.node().groups.Invite(id, c)
}

// AcceptGroup joins a group we were invited to.
func (m *Messenger) AcceptGroup(ctx context.Context, group string) (parley.Group, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return parley.Group{}, err
	}
	return m.node().groups.Accept(id)
}

// DeclineGroup turns an invitation down.
func (m *Messenger) DeclineGroup(ctx context.Context, group string) error {
	id, err := m.resolveGroup(group)
	if err != nil {
		return err
	}
	return m.node().groups.Decline(id)
}

// GroupMembers lists a group's members.
func (m *Messenger) GroupMembers(ctx context.Context, group string) ([]parley.GroupMember, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return nil, err
	}
	return m.node().groups.Members(id)
}

// RemoveFromGroup removes a member and starts a new key epoch. member is a
// contact's name, a peer ID, or the name a member has in the group.
func (m *Messenger) RemoveFromGroup(ctx context.Context, group, member string) error {
	id, err := m.resolveGroup(group)
	if err != nil {
		return err
	}
	p, err := m.resolveMember(ctx, id, member)
	if err != nil {
		return err
	}
	return m.node().groups.Remove(id, p)
}

// resolveMember finds a member: by peer ID, by contact, or by the name the
// group knows them by (members need not be our contacts).
func (m *Messenger) resolveMember(ctx context.Context, id parley.ConversationID, member string) (peer.ID, error) {
	if p, err := peer.Decode(member); err == nil {
		return p, nil
	}
	if c, err := m.Resolve(ctx, member); err == nil {
		return peer.Decode(c.PeerID)
	} else if !errors.Is(err, parley.ErrUnknownContact) {
		return "", err
	}
	members, err := m.node().groups.Members(id)
	if err != nil {
		return "", err
	}
	var found []string
	for _, gm := range members {
		if gm.Name == member {
			found = append(found, gm.PeerID)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no member called %q", parley.ErrNotMember, member)
	case 1:
		return peer.Decode(found[0])
	default:
		return "", fmt.Errorf("%w: %d members are called %q; use a peer ID", parley.ErrAmbiguous, len(found), member)
	}
}

// LeaveGroup leaves a group.
func (m *Messenger) LeaveGroup(ctx context.Context, group string) error {
	id, err := m.resolveGroup(group)
	if err != nil {
		return err
	}
	return m.node().groups.Leave(id)
}

// SendToGroup writes text to a group. The text is checked by pubsub's
// Send (parley.ErrEmptyText, parley.ErrTextTooLong), once the group is
// found; cid (zero: none) makes a retry return the first message.
func (m *Messenger) SendToGroup(ctx context.Context, group, text string, cid parley.ClientID) (parley.Message, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return parley.Message{}, err
	}
	return m.node().groups.Send(id, text, cid)
}

// GroupMessages lists a group's messages.
func (m *Messenger) GroupMessages(ctx context.Context, group string, p parley.Page, markRead bool) ([]parley.Message, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return nil, err
	}
	msgs, err := m.node().groups.Messages(id, p, false)
	if err != nil {
		return nil, err
	}
	// On a full disk the messages are shown, and stay unread.
	if markRead && m.node().store.SpaceErr() == nil {
		read, err := m.node().groups.MarkRead(id, msgs)
		if err != nil {
			return nil, err
		}
		m.node().readGroup(id, msgs, read)
	}
	return m.node().decorate(msgs)
}

// RenameGroup renames a group (admins only).
func (m *Messenger) RenameGroup(ctx context.Context, group, name string) (parley.Group, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return parley.Group{}, err
	}
	return m.node().groups.Rename(id, name)
}

// SetGroupRole makes a member an admin or a plain member (admins only).
func (m *Messenger) SetGroupRole(ctx context.Context, group, member string, role parley.Role) (parley.GroupMember, error) {
	id, err := m.resolveGroup(group)
	if err != nil {
		return parley.GroupMember{}, err
	}
	p, err := m.resolveMember(ctx, id, member)
	if err != nil {
		return parley.GroupMember{}, err
	}
	return m.node().groups.SetRole(id, p, role)
}
