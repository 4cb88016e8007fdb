package node

import (
	"context"
	"slices"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

// MessageInfo tells when a message of a conversation (a contact or a
// group; a message ID or a unique prefix) was sent, and for each of its
// recipients when it was delivered and read, or what the node knows of
// why not yet: for a DM of ours still queued or stored, whether the
// recipient is online, since when the node has failed to reach it, the
// last attempt (direct, relay or mailbox) and its error, the next retry
// and the reason the store keeps; for a group message, whether a mailbox
// of the member holds it. A group's recipients are its members now, but
// the author, and anyone else whose receipt we hold.
func (m *Messenger) MessageInfo(ctx context.Context, conversation, msg string) (parley.MessageInfo, error) {
	conv, contact, group, err := m.resolveConversation(conversation)
	if err != nil {
		return parley.MessageInfo{}, err
	}
	t, err := m.findMessage(conv, msg)
	if err != nil {
		return parley.MessageInfo{}, err
	}
	n := m.node()
	d, err := n.decorate([]parley.Message{t})
	if err != nil {
		return parley.MessageInfo{}, err
	}
	t = d[0]
	if !group {
		if err := m.queuedReasons(d); err != nil {
			return parley.MessageInfo{}, err
		}
		t = d[0]
	}
	info := parley.MessageInfo{Message: t, Group: group}
	self := n.host.ID().String()
	rs, err := n.store.Receipts(conv, []parley.EnvelopeID{t.ID})
	if err != nil {
		return parley.MessageInfo{}, err
	}
	receipts := rs[t.ID]
	var recipients []string
	if group {
		members, err := n.groups.Members(conv)
		if err != nil {
			return parley.MessageInfo{}, err
		}
		names := make(map[string]string)
		for _, gm := range members {
			names[gm.PeerID] = gm.Name
			if gm.PeerID != t.From {
				recipients = append(recipients, gm.PeerID)
			}
		}
		for p := range receipts {
			if p != t.From && !slices.Contains(recipients, p) {
				recipients = append(recipients, p)
			}
		}
		slices.Sort(recipients)
		for _, p := range recipients {
			ri := parley.RecipientInfo{PeerID: p, Name: names[p], Receipt: receipts[p]}
			if t.Outgoing && ri.Delivered == 0 && !t.Deleted {
				ri.Pending = n.groupDelivery(conv, t, p)
			}
			info.Recipients = append(info.Recipients, ri)
		}
		return info, nil
	}
	to := contact.PeerID
	name := contact.Name
	if !t.Outgoing {
		to, name = self, m.card().Name
	}
	ri := parley.RecipientInfo{PeerID: to, Name: name, Receipt: receipts[to]}
	// The status is the truth; the times are when this node learned it.
	if t.Status.Rank() >= parley.StatusDelivered.Rank() && ri.Delivered == 0 {
		ri.Delivered = ri.Read // read implies delivered, time unknown otherwise
	}
	if t.Outgoing && t.Status.Rank() < parley.StatusDelivered.Rank() && !t.Deleted {
		ri.Pending = n.dmDelivery(t, to)
	}
	info.Recipients = []parley.RecipientInfo{ri}
	return info, nil
}

// dmDelivery is why our DM t has not reached to yet.
func (n *Node) dmDelivery(t parley.Message, to string) *parley.Delivery {
	d := &parley.Delivery{LastError: t.Reason, Mailbox: t.Status == parley.StatusStored}
	p, err := peer.Decode(to)
	if err != nil {
		return d
	}
	if a, ok := n.dm.Delivery(p); ok {
		reason := d.LastError
		*d = a
		d.Mailbox = t.Status == parley.StatusStored
		if reason != "" && d.LastError == "" {
			d.LastError = reason
		}
	}
	d.Online = n.host.Network().Connectedness(p) == network.Connected
	return d
}

// groupDelivery is why our group message t has no receipt from member
// yet: it travels by gossip and sync while both are online, and through
// the member's mailboxes (group_mail.go) while it is not.
func (n *Node) groupDelivery(conv parley.ConversationID, t parley.Message, member string) *parley.Delivery {
	d := &parley.Delivery{Path: "gossip"}
	p, err := peer.Decode(member)
	if err != nil {
		return d
	}
	d.Online = n.host.Network().Connectedness(p) == network.Connected
	if a, ok := n.dm.Delivery(p); ok { // what DMs to the member met
		d.OfflineSince = a.OfflineSince
	}
	mbs, err := n.groupMailboxesOf(conv, p)
	if err != nil {
		d.LastError = err.Error()
		return d
	}
	for _, mb := range mbs {
		if held, err := n.store.GroupDeposited(t.ID, member, mb.PeerID); err == nil && held {
			d.Mailbox, d.Path = true, "mailbox"
		}
	}
	if !d.Online && !d.Mailbox {
		switch {
		case t.Status == parley.StatusQueued:
			d.LastError = "no member online and no mailbox took it yet"
		case len(mbs) == 0:
			d.LastError = "member offline, with no mailbox granted to the group; it syncs when they meet a member"
		}
	}
	return d
}
