package node

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Group messages through mailboxes (PROTOCOL.md §9.10). GossipSub and
// sync carry a group's messages between members who are online together;
// for members who never are, the sender also leaves each text and file
// offer it writes at the mailboxes of every member who is not connected
// and granted it theirs (in the group, group_grants.go, or as a contact,
// §9.9). The deposit is the group envelope as published, sealed
// under the group's key, which the mailbox does not hold. The member's
// fetch hands it to the group's ingest, the same idempotent path sync
// uses, so a message that also comes by gossip or sync is stored once.
//
// A message still queued when the node starts again (no mailbox took it:
// the node stopped first, or the mailboxes were unreachable) is deposited
// again then.

// groupMailQueue bounds the sends waiting for their deposits: past it,
// a send goes by gossip and sync only (logged).
const groupMailQueue = 256

// queueGroupMail takes a group message we wrote, for mailGroupLoop.
func (n *Node) queueGroupMail(m parley.Message) {
	if !m.Outgoing || !mailedToGroup(m.Kind) {
		return
	}
	select {
	case n.groupMail <- m:
	default:
		n.log.Info("group mail: too many sends waiting for their deposits; this one goes by gossip and sync only", "group", m.Conversation)
	}
}

// mailedToGroup: what we write to a group that is also left at offline
// members' mailboxes: what they read (texts, files, and the edits,
// deletes and reactions that change them), receipts (members who are
// never online together see each other's), and mailbox grants.
func mailedToGroup(k parley.Kind) bool {
	switch k {
	case parley.KindText, parley.KindFile, parley.KindGroupMailboxGrant,
		parley.KindEdit, parley.KindDelete, parley.KindReaction, parley.KindGroupReceipt:
		return true
	}
	return false
}

// mailGroupLoop deposits queued group messages until the node closes,
// starting with those no mailbox took before.
func (n *Node) mailGroupLoop() {
	defer n.wg.Done()
	n.mailQueuedGroupSends()
	for {
		select {
		case <-n.ctx.Done():
			return
		case m := <-n.groupMail:
			if err := n.mailGroup(n.ctx, m); err != nil && n.ctx.Err() == nil {
				n.log.Info("group mail: depositing a group message", "group", m.Conversation, "err", err)
			}
		}
	}
}

// mailQueuedGroupSends deposits our group messages that no member and no
// mailbox holds yet (status queued).
func (n *Node) mailQueuedGroupSends() {
	for _, g := range n.groups.Active() {
		pending, err := n.store.PendingGroupSends(g)
		if err != nil {
			n.log.Info("group mail: listing queued group messages", "group", g, "err", err)
			continue
		}
		for _, p := range pending {
			if n.ctx.Err() != nil {
				return
			}
			m, err := n.store.Message(p.ID)
			if err != nil || m.Status != parley.StatusQueued {
				continue
			}
			if err := n.mailGroup(n.ctx, m); err != nil && n.ctx.Err() == nil {
				n.log.Info("group mail: depositing a queued group message", "group", g, "err", err)
			}
		}
	}
}

// mailGroup deposits one group message for the members it cannot reach
// now, and makes a message no member holds yet "stored" once a mailbox
// holds it.
func (n *Node) mailGroup(ctx context.Context, m parley.Message) error {
	env, err := n.store.Envelope(m.ID)
	if err != nil {
		return err
	}
	stored := false
	for _, p := range n.groups.MemberPeers(m.Conversation) {
		if p == n.host.ID() || n.host.Network().Connectedness(p) == network.Connected {
			continue
		}
		held, err := n.depositGroupEnvelope(ctx, m.Conversation, p, m.ID, env)
		if err != nil {
			n.log.Info("group mail: a member's mailboxes", "group", m.Conversation, "member", p, "err", err)
		}
		stored = stored || held
	}
	if !stored || !shown(m) { // grants, edits and receipts have no status to show
		return nil
	}
	cur, err := n.store.Message(m.ID)
	if err != nil || cur.Status != parley.StatusQueued {
		return err
	}
	changed, err := n.store.AdvanceStatus([]parley.EnvelopeID{m.ID}, parley.StatusStored)
	if err != nil {
		return err
	}
	for i := range changed {
		n.hub.publish(parley.Event{Type: parley.EventStatus, Message: &changed[i]})
	}
	return nil
}

// groupDepositTimeout bounds one group deposit at one mailbox.
const groupDepositTimeout = 15 * time.Second

// receiveGroupMail stores a group envelope fetched from a mailbox through
// the group's ingest. done: acknowledge it (stored now or before, or
// refused for good); not done and no error: we cannot judge it yet (we
// lack the ops that make its author a member): it stays at the mailbox.
func (n *Node) receiveGroupMail(raw []byte) (isGroup, done bool, err error) {
	env, err := identity.ParseEnvelope(raw)
	if err != nil || len(env.ConversationId) != len(parley.ConversationID{}) {
		return false, false, nil // the DM path says why
	}
	conv := parley.ConversationID(env.ConversationId)
	if _, err := n.groups.State(conv); err != nil {
		return false, false, nil
	}
	_, rejected, err := n.groups.Ingest(conv, [][]byte{raw})
	if err != nil {
		return true, false, err
	}
	if rejected > 0 {
		return true, true, nil
	}
	held, err := n.store.HasEnvelope(parley.NewEnvelopeID(raw))
	return true, held, err
}
