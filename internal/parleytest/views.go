package parleytest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley"
)

// A node's view of its conversations, groups and files, failing the test
// on an error.

// Messages is n's view of the conversation with peer, without marking it
// read.
func (n *Node) Messages(peer string) []parley.Message {
	n.t.Helper()
	ms, err := n.Messenger().Messages(context.Background(), peer, parley.Page{}, false)
	if err != nil {
		n.t.Fatalf("%s listing messages with %s: %v", n.Name, peer, err)
	}
	return ms
}

// StatusOf is the status n holds for message id in its conversation with
// peer.
func (n *Node) StatusOf(peer string, id parley.EnvelopeID) parley.Status {
	n.t.Helper()
	for _, m := range n.Messages(peer) {
		if m.ID == id {
			return m.Status
		}
	}
	n.t.Fatalf("%s has no message %s", n.Name, id)
	return 0
}

// groupMessages is n's view of a group in display order, without marking
// it read.
func (n *Node) groupMessages(group parley.ConversationID) []parley.Message {
	n.t.Helper()
	msgs, err := n.Messenger().GroupMessages(context.Background(), group.String(), parley.Page{}, false)
	if err != nil {
		n.t.Fatalf("%s listing group messages: %v", n.Name, err)
	}
	return msgs
}

// GroupTexts is the texts of n's view of a group, in display order.
func (n *Node) GroupTexts(group parley.ConversationID) []string {
	n.t.Helper()
	msgs := n.groupMessages(group)
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

// GroupIDs is the message IDs of n's view of a group, in display order.
func (n *Node) GroupIDs(group parley.ConversationID) []parley.EnvelopeID {
	n.t.Helper()
	msgs := n.groupMessages(group)
	out := make([]parley.EnvelopeID, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// MemberIDs is the peer IDs of the group's members as n sees them, sorted.
func (n *Node) MemberIDs(group parley.ConversationID) []string {
	n.t.Helper()
	ms, err := n.Messenger().GroupMembers(context.Background(), group.String())
	if err != nil {
		n.t.Fatalf("%s listing members: %v", n.Name, err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.PeerID
	}
	slices.Sort(out)
	return out
}

// GroupState is the group's state at n (joined, invited, ...); "" when n
// does not know the group.
func (n *Node) GroupState(group parley.ConversationID) parley.GroupState {
	n.t.Helper()
	m := n.Messenger()
	for _, list := range []func(context.Context) ([]parley.Group, error){m.Groups, m.GroupInvites} {
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

// SendToGroup sends text to the group from n.
func (n *Node) SendToGroup(group parley.ConversationID, text string) parley.Message {
	n.t.Helper()
	msg, err := n.Messenger().SendToGroup(context.Background(), group.String(), text, parley.ClientID{})
	if err != nil {
		n.t.Fatalf("%s sending %q: %v", n.Name, text, err)
	}
	return msg
}

// CreateGroup has admin create a group and invite members (its contacts),
// each of whom accepts once the invite arrives; it returns when every
// member sees every member.
func CreateGroup(t testing.TB, name string, admin *Node, members ...*Node) parley.ConversationID {
	t.Helper()
	g, err := admin.Messenger().CreateGroup(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if _, err := admin.Messenger().InviteToGroup(context.Background(), g.ID.String(), m.Name); err != nil {
			t.Fatalf("inviting %s: %v", m.Name, err)
		}
	}
	for _, m := range members {
		Eventually(t, m.Name+" seeing the invite", func() bool { return m.GroupState(g.ID) == parley.GroupInvited })
		if _, err := m.Messenger().AcceptGroup(context.Background(), g.ID.String()); err != nil {
			t.Fatalf("%s accepting: %v", m.Name, err)
		}
	}
	all := append([]*Node{admin}, members...)
	var want []string
	for _, m := range all {
		want = append(want, m.PeerID())
	}
	slices.Sort(want)
	for _, m := range all {
		Eventually(t, m.Name+" seeing every member", func() bool { return slices.Equal(m.MemberIDs(g.ID), want) })
	}
	return g.ID
}

// File is n's record of file id.
func (n *Node) File(id string) parley.File {
	n.t.Helper()
	f, err := n.Messenger().File(context.Background(), id)
	if err != nil {
		n.t.Fatalf("%s: file %s: %v", n.Name, id, err)
	}
	return f
}

// WaitFile waits until n holds the offer of file id.
func (n *Node) WaitFile(id string) {
	n.t.Helper()
	Eventually(n.t, n.Name+" seeing the offer", func() bool {
		_, err := n.Messenger().File(context.Background(), id)
		return err == nil
	})
}

// WaitComplete waits until n holds file id complete, failing the test if
// the transfer fails.
func (n *Node) WaitComplete(id string) parley.File {
	n.t.Helper()
	var f parley.File
	EventuallyWithin(n.t, 2*time.Minute, n.Name+" completing the file", func() bool {
		var err error
		if f, err = n.Messenger().File(context.Background(), id); err != nil {
			return false // the offer is still on its way
		}
		if f.State == parley.FileFailed {
			n.t.Fatalf("%s: transfer failed: %s", n.Name, f.Error)
		}
		return f.State == parley.FileComplete
	})
	return f
}
