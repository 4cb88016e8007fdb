package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Replies, edits, deletes and reactions (PROTOCOL.md §10). Edits, deletes
// and reactions are envelopes that name a target message. They are stored
// as they come and indexed by target (storage/convo.go); a message's view
// (latest text, edits, deleted, reactions, quote) is folded from them
// whenever it is read, so every member who holds the same envelopes sees
// the same view, whatever order they arrived in, and one that arrives
// before its target waits for it in the store.
//
// Authorization lives in three places that share sameAuthor and mayDelete:
// judge refuses, on arrival, what a sender may not do to a target we hold;
// fold ignores what a sender may not do to a target that arrived after it;
// settle purges a message that an allowed delete names, whichever of the two
// arrived last.

// sameAuthor reports whether two messages' authors are the same person.
// Today a person is one peer ID. With linked devices (#17) a person will
// have several peer IDs under one identity key: this is the one place
// that then compares identities instead.
func sameAuthor(a, b string) bool { return a == b }

// mayDelete reports whether author may delete target for everyone: its
// author, or in a group an admin (as the ops we hold say now).
func (n *Node) mayDelete(author string, target parley.Message) bool {
	if sameAuthor(author, target.From) {
		return true
	}
	p, err := peer.Decode(author)
	return err == nil && n.groups.IsAdmin(target.Conversation, p)
}

// editable: a message whose text can be edited or reacted to.
func shown(m parley.Message) bool {
	return m.Kind == parley.KindText || m.Kind == parley.KindFile
}

// sentDM: the event of a direct message we have just sent (only sending
// announces an outgoing DM still queued; To is set on DMs only).
func sentDM(m parley.Message) bool {
	return m.Outgoing && m.Status == parley.StatusQueued && m.To != ""
}

// judge refuses an edit, delete or reaction that arrived (by DM, gossip or
// sync) and may not apply to its target, when we hold the target: another
// conversation's message, an edit by anyone but the author, a delete by
// anyone but the author or an admin. One whose target we lack is kept and
// judged by fold and settle once the target comes.
func (n *Node) judge(m parley.Message) error {
	if m.Kind == parley.KindTimer {
		return n.judgeTimer(m)
	}
	if !m.Kind.Annotates() || m.Target == nil {
		return nil
	}
	t, err := n.store.Message(*m.Target)
	if errors.Is(err, parley.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case t.Conversation != m.Conversation:
		return fmt.Errorf("%w: a %s of a message of another conversation", parley.ErrMalformed, m.Kind)
	case !shown(t):
		return fmt.Errorf("%w: a %s of a %s", parley.ErrMalformed, m.Kind, t.Kind)
	case m.Kind == parley.KindEdit && t.Kind != parley.KindText:
		return fmt.Errorf("%w: only a text can be edited", parley.ErrMalformed)
	case m.Kind == parley.KindEdit && !sameAuthor(m.From, t.From):
		return fmt.Errorf("%w: an edit by %s of a message by %s", parley.ErrNotAuthor, m.From, t.From)
	case m.Kind == parley.KindDelete && !n.mayDelete(m.From, t):
		return fmt.Errorf("%w: a delete by %s of a message by %s", parley.ErrNotAuthor, m.From, t.From)
	}
	return nil
}

// onStored takes every event of the DM and group services before it is
// published: an edit, delete or reaction is settled and published as an
// update of its target; a new message is settled (a delete may have come
// first).
func (n *Node) onStored(e parley.Event) {
	n.typingMessageArrived(e)
	if !n.screen(e) {
		return
	}
	n.noteDMReceipts(e)
	if e.Type != parley.EventMessage || e.Message == nil {
		n.hub.publish(e)
		return
	}
	m := *e.Message
	if m.Kind == parley.KindGroupReceipt {
		n.receiptArrived(m)
		return
	}
	if m.Timer != 0 && shown(m) {
		n.expiry.nudge() // it may expire before what the sweeper waits for
	}
	if !m.Kind.Annotates() {
		if !shown(m) {
			n.hub.publish(e)
			return
		}
		if sentDM(m) && m.ReplyTo == nil {
			// Nothing can name a message we have just sealed: no delete
			// to settle, nothing to fold. Each read here would also wait
			// for the sync in flight (a badger read waits for every
			// commit begun before it), on every send.
			n.hub.publish(e)
			return
		}
		// One read of what names it (a delete, edit or reaction that
		// arrived first), to settle it and to fold it: each read waits for
		// the store's commit in flight.
		anns, err := n.store.Annotations([]parley.EnvelopeID{m.ID})
		if err != nil {
			n.log.Warn("reading a message's annotations", "id", m.ID, "err", err)
			n.hub.publish(e)
			return
		}
		if purged := n.settleShown(m, anns[m.ID]); purged {
			n.publishUpdate(m.ID)
			return
		}
		// Shown as it will be listed: a reply with its quote, a message
		// with what arrived for it before it did. Receipts only for one
		// of ours: no screen shows them for another member's message
		// ("Message info" reads them), and in a busy group that index scan
		// for every message arriving cost two thirds of its own write.
		if d, err := n.decorateWith([]parley.Message{m}, anns, m.Outgoing); err == nil {
			e.Message = &d[0]
		}
		n.hub.publish(e)
		return
	}
	n.settle(m)
	if m.Target != nil {
		n.publishUpdate(*m.Target)
	}
}

// publishUpdate tells subscribers how a message is seen now, if we hold it.
func (n *Node) publishUpdate(id parley.EnvelopeID) {
	t, err := n.store.Message(id)
	if err != nil {
		return
	}
	msgs, err := n.decorate([]parley.Message{t})
	if err != nil {
		n.log.Warn("reading an updated message", "id", id, "err", err)
		return
	}
	n.hub.publish(parley.Event{Type: parley.EventUpdate, Message: &msgs[0]})
}

// settle purges what deletes say should go, now that m is stored: m's
// target when m is an allowed delete; m itself when it is a message an
// allowed delete named before it arrived, or an edit of a deleted message.
// It reports whether m itself was purged. Failures are logged: the store
// still hides nothing (fold shows the message deleted), and the next
// delete or restart of the conversation feature tries again.
func (n *Node) settle(m parley.Message) (purged bool) {
	purge := n.purgeForEveryone
	switch {
	case m.Kind == parley.KindDelete && m.Target != nil:
		t, err := n.store.Message(*m.Target)
		if err == nil && t.Conversation == m.Conversation && shown(t) && n.mayDelete(m.From, t) {
			purge(t.ID)
		}
	case m.Kind == parley.KindEdit && m.Target != nil:
		if t, err := n.store.Message(*m.Target); err == nil && t.Deleted {
			return purge(m.ID)
		}
	case shown(m):
		anns, err := n.store.Annotations([]parley.EnvelopeID{m.ID})
		if err != nil {
			n.log.Warn("reading a message's annotations", "id", m.ID, "err", err)
			return false
		}
		return n.settleShown(m, anns[m.ID])
	}
	return false
}

// settleShown is settle for a text or file, given what names it: purged
// when an allowed delete of it came first.
func (n *Node) settleShown(m parley.Message, anns []parley.Message) (purged bool) {
	for _, a := range anns {
		if a.Kind == parley.KindDelete && a.Conversation == m.Conversation && n.mayDelete(a.From, m) {
			return n.purgeForEveryone(m.ID)
		}
	}
	return false
}

// purgeForEveryone purges a message (and a file's data) that an allowed
// delete named, reporting whether it was purged.
func (n *Node) purgeForEveryone(id parley.EnvelopeID) bool {
	held, _ := n.store.Message(id)
	ok, err := n.store.PurgeForEveryone(id)
	if err != nil {
		n.log.Warn("deleting a message for everyone", "id", id, "err", err)
	}
	if ok && held.Kind == parley.KindFile && held.FileID != "" {
		if err := n.files.Forget(held.FileID); err != nil {
			n.log.Warn("deleting a file for everyone", "file", held.FileID, "err", err)
		}
	}
	return ok
}

// decorate folds each message's edits, deletes and reactions into its
// view, and a reply's quote, in place.
func (n *Node) decorate(msgs []parley.Message) ([]parley.Message, error) {
	if len(msgs) == 0 {
		return msgs, nil
	}
	ids := make([]parley.EnvelopeID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	anns, err := n.store.Annotations(ids)
	if err != nil {
		return nil, err
	}
	return n.decorateWith(msgs, anns, true)
}

// decorateWith is decorate given the annotations of msgs, read already;
// a group message's receipts only with receipts.
func (n *Node) decorateWith(msgs []parley.Message, anns map[parley.EnvelopeID][]parley.Message, receipts bool) ([]parley.Message, error) {
	for i := range msgs {
		n.fold(&msgs[i], anns[msgs[i].ID])
		if r := msgs[i].ReplyTo; r != nil && !msgs[i].Deleted { // a deleted reply quotes nothing
			q, err := n.quote(*r, msgs[i].Conversation)
			if err != nil {
				return nil, err
			}
			view(&msgs[i]).Quote = q
		}
	}
	if !receipts {
		return msgs, nil
	}
	return msgs, n.groupReceipts(msgs)
}

// groupReceipts adds to each group message its members' receipts.
func (n *Node) groupReceipts(msgs []parley.Message) error {
	byConv := make(map[parley.ConversationID][]parley.EnvelopeID)
	for _, m := range msgs {
		if shown(m) && !m.Deleted {
			byConv[m.Conversation] = append(byConv[m.Conversation], m.ID)
		}
	}
	for conv, ids := range byConv {
		if _, err := n.groups.State(conv); err != nil {
			continue // a DM: its status says how far it got
		}
		rs, err := n.store.Receipts(conv, ids)
		if err != nil {
			return err
		}
		for i := range msgs {
			if r := rs[msgs[i].ID]; len(r) > 0 && msgs[i].Conversation == conv {
				view(&msgs[i]).Receipts = r
			}
		}
	}
	return nil
}

// view returns m's view, making it.
func view(m *parley.Message) *parley.View {
	if m.View == nil {
		m.View = new(parley.View)
	}
	return m.View
}

// fold applies anns, the edits, deletes and reactions that name m, in
// (HLC, ID) order, to m: the latest allowed edit's text (earlier ones kept
// in View.Edits), deleted when an allowed delete is there (settle purges
// it), and for each (member, emoji) the latest reaction, so that any order
// of arrival gives the same view.
func (n *Node) fold(m *parley.Message, anns []parley.Message) {
	type reactor struct{ from, emoji string }
	latest := make(map[reactor]parley.Message)
	var edits []parley.Edit
	for _, a := range anns {
		if a.Conversation != m.Conversation || !shown(*m) {
			continue
		}
		switch a.Kind {
		case parley.KindEdit:
			if m.Kind == parley.KindText && sameAuthor(a.From, m.From) && !a.Deleted {
				edits = append(edits, parley.Edit{Text: a.Text, HLC: a.HLC})
			}
		case parley.KindDelete:
			if n.mayDelete(a.From, *m) {
				m.Deleted = true
			}
		case parley.KindReaction:
			if n.blockedID(a.From) {
				continue // hidden, as the blocked peer's messages are (block.go)
			}
			k := reactor{a.From, a.Emoji}
			if prev, ok := latest[k]; !ok || laterThan(a, prev) {
				latest[k] = a
			}
		}
	}
	if m.Deleted {
		m.Text, m.FileID = "", ""
		edits = nil
	}
	if len(edits) > 0 {
		v := view(m)
		v.Edits = append([]parley.Edit{{Text: m.Text, HLC: m.HLC}}, edits...)
		m.Text = edits[len(edits)-1].Text
	}
	for k, a := range latest {
		if a.Remove {
			continue
		}
		v := view(m)
		if v.Reactions == nil {
			v.Reactions = make(map[string][]string)
		}
		v.Reactions[k.emoji] = append(v.Reactions[k.emoji], k.from)
	}
	if m.View != nil {
		for _, peers := range m.View.Reactions {
			slices.Sort(peers)
		}
	}
}

// laterThan orders annotations as the store does: HLC, then envelope ID.
func laterThan(a, b parley.Message) bool {
	return cmp.Or(cmp.Compare(a.HLC, b.HLC), strings.Compare(a.ID.String(), b.ID.String())) > 0
}

// quote is what a reply in conv to the message id shows.
func (n *Node) quote(id parley.EnvelopeID, conv parley.ConversationID) (*parley.Quote, error) {
	t, err := n.store.Message(id)
	if errors.Is(err, parley.ErrNotFound) {
		return &parley.Quote{Missing: true}, nil
	}
	if err != nil {
		return nil, err
	}
	if t.Conversation != conv || !shown(t) {
		return &parley.Quote{Missing: true}, nil
	}
	anns, err := n.store.Annotations([]parley.EnvelopeID{id})
	if err != nil {
		return nil, err
	}
	n.fold(&t, anns[id])
	first, _, _ := strings.Cut(t.Text, "\n")
	return &parley.Quote{From: t.From, Text: first, Deleted: t.Deleted}, nil
}

// Act replies to, edits, deletes or reacts to a message of a conversation
// (a contact or a group). It returns the reply for a reply, and the
// message as now seen otherwise (a message deleted for me comes back
// without its text, marked Deleted).
func (m *Messenger) Act(ctx context.Context, a parley.Action) (parley.Message, error) {
	conv, contact, group, err := m.resolveConversation(a.Conversation)
	if err != nil {
		return parley.Message{}, err
	}
	t, err := m.findMessage(conv, a.Message)
	if err != nil {
		return parley.Message{}, err
	}
	n := m.node()
	self := n.host.ID().String()
	send := func(msg parley.Message) (parley.Message, error) {
		msg.Target = &t.ID
		if group {
			return n.groups.Annotate(conv, msg)
		}
		return n.dm.SendAnnotation(contact, msg)
	}
	var sent parley.Message
	switch a.Kind {
	case parley.ActionReply:
		if t.Deleted {
			return parley.Message{}, fmt.Errorf("%w: that message was deleted", parley.ErrNotFound)
		}
		if group {
			sent, err = n.groups.Reply(conv, a.Text, t.ID)
		} else {
			sent, err = n.dm.SendReply(contact, a.Text, t.ID)
		}
		if err != nil {
			return parley.Message{}, err
		}
		out, err := n.decorate([]parley.Message{sent})
		if err != nil {
			return parley.Message{}, err
		}
		return out[0], nil
	case parley.ActionEdit:
		switch {
		case !sameAuthor(self, t.From):
			return parley.Message{}, fmt.Errorf("%w: you can edit only your own messages", parley.ErrNotAuthor)
		case t.Kind != parley.KindText || t.Deleted:
			return parley.Message{}, fmt.Errorf("%w: only a text can be edited", parley.ErrMalformed)
		}
		if err := parley.CheckText(a.Text); err != nil {
			return parley.Message{}, err
		}
		sent, err = send(parley.Message{Kind: parley.KindEdit, Text: a.Text})
	case parley.ActionDelete:
		if !a.ForEveryone {
			if _, err := n.store.PurgeForMe(t.ID); err != nil {
				return parley.Message{}, err
			}
			if t.Kind == parley.KindFile && t.FileID != "" {
				if err := n.files.Forget(t.FileID); err != nil {
					return parley.Message{}, err
				}
			}
			return parley.Message{ID: t.ID, Conversation: t.Conversation, From: t.From, To: t.To, Outgoing: t.Outgoing,
				Kind: t.Kind, HLC: t.HLC, Status: t.Status, Deleted: true}, nil
		}
		if t.Deleted {
			return t, nil
		}
		if !n.mayDelete(self, t) {
			return parley.Message{}, fmt.Errorf("%w: only its author or a group admin can delete a message for everyone", parley.ErrNotAuthor)
		}
		sent, err = send(parley.Message{Kind: parley.KindDelete})
	case parley.ActionReact:
		if err := identity.CheckEmoji(a.Emoji); err != nil {
			return parley.Message{}, err
		}
		if t.Deleted {
			return parley.Message{}, fmt.Errorf("%w: that message was deleted", parley.ErrNotFound)
		}
		sent, err = send(parley.Message{Kind: parley.KindReaction, Emoji: a.Emoji, Remove: a.Remove})
	default:
		return parley.Message{}, fmt.Errorf("%w: unknown action %q", parley.ErrMalformed, a.Kind)
	}
	if err != nil {
		return parley.Message{}, err
	}
	// The DM service publishes nothing for what is not displayed; the
	// group service does (and onStored settles it). Settling twice is a
	// no-op.
	n.settle(sent)
	if !group {
		n.publishUpdate(t.ID)
	}
	t, err = n.store.Message(t.ID)
	if err != nil {
		return parley.Message{}, err
	}
	out, err := n.decorate([]parley.Message{t})
	if err != nil {
		return parley.Message{}, err
	}
	return out[0], nil
}

// resolveConversation finds the contact or group that name names (as
// SendFile does): its conversation, and the contact for a DM.
func (m *Messenger) resolveConversation(name string) (conv parley.ConversationID, c parley.Contact, group bool, err error) {
	c, cerr := m.Resolve(context.Background(), name)
	g, gerr := m.resolveGroup(name)
	switch {
	case cerr == nil && gerr == nil:
		return conv, c, false, fmt.Errorf("%w: %q is both a contact and a group; use a peer ID or a group ID", parley.ErrAmbiguous, name)
	case cerr != nil && gerr != nil:
		if errors.Is(cerr, parley.ErrAmbiguous) {
			return conv, c, false, cerr
		}
		if errors.Is(gerr, parley.ErrAmbiguous) {
			return conv, c, false, fmt.Errorf("%w: more than one group is called %q", gerr, name)
		}
		return conv, c, false, fmt.Errorf("%w: no contact or group called %q", parley.ErrUnknownContact, name)
	case gerr == nil:
		return g, c, true, nil
	case c.State != parley.ContactAccepted:
		return conv, c, false, fmt.Errorf("%w: %q is a request; accept it first (parley accept %s)", parley.ErrUnknownContact, name, c.PeerID)
	}
	return parley.DMConversationID(m.node().host.ID().String(), c.PeerID), c, false, nil
}

// findMessage finds the message of conv whose ID is id or starts with it
// (hex, at least 4 characters), as listed.
func (m *Messenger) findMessage(conv parley.ConversationID, id string) (parley.Message, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if full, err := parley.ParseEnvelopeID(id); err == nil {
		msg, err := m.node().store.Message(full)
		if err == nil && msg.Conversation == conv && shown(msg) {
			return msg, nil
		}
		return parley.Message{}, fmt.Errorf("%w: no message %s in this conversation", parley.ErrNotFound, id)
	}
	if len(id) < 4 {
		return parley.Message{}, fmt.Errorf("%w: a message ID prefix needs at least 4 hex characters, got %q", parley.ErrMalformed, id)
	}
	msgs, err := m.node().store.MessagesIn(conv, parley.Page{})
	if err != nil {
		return parley.Message{}, err
	}
	var found []parley.Message
	for _, msg := range msgs {
		if shown(msg) && strings.HasPrefix(msg.ID.String(), id) {
			found = append(found, msg)
		}
	}
	switch len(found) {
	case 0:
		return parley.Message{}, fmt.Errorf("%w: no message starting %s in this conversation", parley.ErrNotFound, id)
	case 1:
		return found[0], nil
	}
	return parley.Message{}, fmt.Errorf("%w: %d messages start with %s; give more of the ID", parley.ErrAmbiguous, len(found), id)
}
