package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/storage"
)

// Block, mute, archive and pin (docs/design-notes.md, "Blocking").
//
// Blocking is local: nothing goes on the wire to say so, and the blocked
// peer sees nothing it would not see of someone who reads nothing.
//
//   - Their DMs, requests, file offers, mailbox offers, card updates and
//     receipts are opened (to tell group keys apart) and dropped, never
//     stored, and acknowledged as stored: the sender's courier stops
//     retrying and shows "delivered", never "read". What came while they
//     were blocked stays dropped after an unblock. Group keys alone are
//     kept: without them a group we share would go dark for us.
//   - Nothing of ours reaches them over DMs but group keys: no receipts,
//     card updates or mailbox grants; writing to them is refused
//     (parley.ErrBlocked). Blocking revokes their capability to deposit at
//     our mailboxes (mailbox_revoke.go), and unblocking restores it when
//     blocking was what revoked it.
//   - Their group messages are stored and synced like any other
//     (storage.Record.Hidden), so that the group converges and we serve
//     them to members who lack them, but never listed, counted unread, or
//     announced as events (so no notification).
//   - Presence and typing (another part) ask Node.Blocked.
//
// Mute, archive and pin are the user's view of a conversation, stored in
// bk/c/ and folded into Conversations: muted conversations still count
// unread but the GUI notifies nothing for them; archived ones are listed
// apart, and a new message un-archives one that is not muted, as WhatsApp
// did; at most parley.MaxPinned are pinned, listed first.

// blockList is the blocked peers, read once from the store at start and
// kept in step with it, since every envelope received asks.
type blockList struct {
	mu    sync.RWMutex
	peers map[string]bool // guarded by mu
}

func (b *blockList) load(db *storage.DB) error {
	all, err := db.Blocks()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.peers = make(map[string]bool, len(all))
	for _, x := range all {
		b.peers[x.PeerID] = true
	}
	return nil
}

func (b *blockList) has(peerID string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.peers[peerID]
}

func (b *blockList) set(peerID string, blocked bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peers == nil {
		b.peers = make(map[string]bool)
	}
	if blocked {
		b.peers[peerID] = true
	} else {
		delete(b.peers, peerID)
	}
}

// Blocked reports whether the user blocked p: nothing of theirs is kept
// or shown, and nothing of ours (receipts, presence, typing) goes to them.
func (n *Node) Blocked(p peer.ID) bool { return n.blocks.has(p.String()) }

func (n *Node) blockedID(peerID string) bool { return n.blocks.has(peerID) }

// resolveBlockee finds whom the user means to (un)block: a contact or a
// request by name or peer ID (Resolve), or any peer ID at all, so that a
// stranger can be blocked before it writes.
func (m *Messenger) resolveBlockee(ctx context.Context, who string) (parley.Contact, error) {
	c, err := m.Resolve(ctx, who)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, parley.ErrUnknownContact) {
		return parley.Contact{}, err
	}
	p, perr := peer.Decode(who)
	if perr != nil {
		return parley.Contact{}, err
	}
	if p == m.node().host.ID() {
		return parley.Contact{}, fmt.Errorf("%w: you cannot block yourself", parley.ErrMalformed)
	}
	return parley.Contact{PeerID: p.String(), State: parley.ContactRequest}, nil
}

// Block blocks a contact, a request, or any peer by peer ID (who). It is
// idempotent: blocking someone blocked returns their block as it is.
func (m *Messenger) Block(ctx context.Context, who string) (parley.BlockedPeer, error) {
	n := m.node()
	c, err := m.resolveBlockee(ctx, who)
	if err != nil {
		return parley.BlockedPeer{}, err
	}
	if n.blockedID(c.PeerID) {
		return m.blockedPeer(c.PeerID)
	}
	b := storage.Block{PeerID: c.PeerID, At: time.Now().UTC(), Request: c.State != parley.ContactAccepted}
	// Their mailbox capability first: blocked, they must not fill our
	// mailboxes, and a crash in between leaves them revoked, which the
	// user can undo (parley mailbox revoke --undo).
	if !b.Request && !n.isRevoked(c.PeerID) {
		changed, err := n.setRevoked(c.PeerID, true)
		if err != nil {
			n.log.Warn("blocking: their mailbox capability stays as it is", "peer", c.PeerID, "err", err)
		}
		b.RevokedMailbox = changed
	}
	// In memory first: from the moment the block is stored, nothing of
	// theirs may slip in.
	n.blocks.set(c.PeerID, true)
	if err := n.store.PutBlock(b); err != nil {
		n.blocks.set(c.PeerID, false)
		return parley.BlockedPeer{}, err
	}
	if b.RevokedMailbox {
		n.registerAll(ctx, nil)
	}
	n.log.Info("blocked a peer", "peer", c.PeerID, "request", b.Request)
	n.hub.publish(parley.Event{Type: parley.EventConversation, PeerID: c.PeerID,
		Conversation: parley.DMConversationID(n.host.ID().String(), c.PeerID)})
	return m.blockedPeer(c.PeerID)
}

// Unblock lifts a block (who as for Block). New messages are delivered
// again; what came while they were blocked stays dropped. Unblocking
// someone not blocked is parley.ErrNotFound.
func (m *Messenger) Unblock(ctx context.Context, who string) (parley.BlockedPeer, error) {
	n := m.node()
	c, err := m.resolveBlockee(ctx, who)
	if err != nil {
		return parley.BlockedPeer{}, err
	}
	out, err := m.blockedPeer(c.PeerID)
	if err != nil {
		return parley.BlockedPeer{}, err
	}
	b, found, err := n.store.DeleteBlock(c.PeerID)
	if err != nil {
		return parley.BlockedPeer{}, err
	}
	n.blocks.set(c.PeerID, false)
	if !found {
		return parley.BlockedPeer{}, fmt.Errorf("%w: %s is not blocked", parley.ErrNotFound, who)
	}
	n.log.Info("unblocked a peer", "peer", c.PeerID)
	if b.RevokedMailbox {
		if _, err := n.setRevoked(c.PeerID, false); err != nil {
			n.log.Warn("unblocking: their mailbox capability stays revoked", "peer", c.PeerID, "err", err)
		} else {
			n.registerAll(ctx, nil)
		}
	}
	// What they missed of us while blocked: our card and our mailboxes.
	if c, err := n.store.Contact(c.PeerID); err == nil && c.State == parley.ContactAccepted && len(c.HPKEKey) > 0 {
		if signed := m.signedCard(); signed != nil {
			if err := n.dm.SendCardUpdate(c, signed); err != nil {
				n.log.Warn("unblocking: our card", "peer", c.PeerID, "err", err)
			}
		}
		if err := n.sendGrant(c); err != nil {
			n.log.Warn("unblocking: our mailbox grant", "peer", c.PeerID, "err", err)
		}
	}
	n.hub.publish(parley.Event{Type: parley.EventConversation, PeerID: c.PeerID,
		Conversation: parley.DMConversationID(n.host.ID().String(), c.PeerID)})
	return out, nil
}

// BlockList lists the blocked peers, by peer ID.
func (m *Messenger) BlockList(ctx context.Context) ([]parley.BlockedPeer, error) {
	all, err := m.node().store.Blocks()
	if err != nil {
		return nil, err
	}
	out := make([]parley.BlockedPeer, 0, len(all))
	for _, b := range all {
		out = append(out, m.blockedView(b))
	}
	return out, nil
}

func (m *Messenger) blockedPeer(peerID string) (parley.BlockedPeer, error) {
	all, err := m.node().store.Blocks()
	if err != nil {
		return parley.BlockedPeer{}, err
	}
	for _, b := range all {
		if b.PeerID == peerID {
			return m.blockedView(b), nil
		}
	}
	return parley.BlockedPeer{PeerID: peerID}, nil
}

func (m *Messenger) blockedView(b storage.Block) parley.BlockedPeer {
	v := parley.BlockedPeer{PeerID: b.PeerID, At: b.At, Request: b.Request}
	if c, err := m.node().store.Contact(b.PeerID); err == nil {
		v.Name = c.Name
	}
	return v
}

// SetConversationState mutes, archives or pins a conversation (conv: a
// contact, a request or a group, by name or ID), and returns it as now
// listed.
func (m *Messenger) SetConversationState(ctx context.Context, conv string, ch parley.ConversationChange) (parley.Conversation, error) {
	id, err := m.conversationOf(ctx, conv)
	if err != nil {
		return parley.Conversation{}, err
	}
	if ch.MuteFor < 0 {
		return parley.Conversation{}, fmt.Errorf("%w: a mute cannot last %s", parley.ErrMalformed, ch.MuteFor)
	}
	now := time.Now().UTC()
	pinned := 0
	if ch.Pin != nil && *ch.Pin {
		states, err := m.node().store.ConvStates()
		if err != nil {
			return parley.Conversation{}, err
		}
		for c, s := range states {
			if c != id && !s.PinnedAt.IsZero() {
				pinned++
			}
		}
	}
	_, err = m.node().store.UpdateConvState(id, func(s *storage.ConvState) (bool, error) {
		if ch.Mute != nil {
			s.Muted, s.MutedUntil = *ch.Mute, time.Time{}
			if *ch.Mute && ch.MuteFor > 0 {
				s.MutedUntil = now.Add(ch.MuteFor)
			}
		}
		if ch.Archive != nil {
			s.Archived = *ch.Archive
		}
		switch {
		case ch.Pin == nil:
		case !*ch.Pin:
			s.PinnedAt = time.Time{}
		case s.PinnedAt.IsZero() && pinned >= parley.MaxPinned:
			return false, fmt.Errorf("%w: %d conversations are pinned already, the most; unpin one first", parley.ErrMalformed, pinned)
		case s.PinnedAt.IsZero():
			s.PinnedAt = now
		}
		return true, nil
	})
	if err != nil {
		return parley.Conversation{}, err
	}
	m.node().hub.publish(parley.Event{Type: parley.EventConversation, Conversation: id})
	convs, err := m.Conversations(ctx)
	if err != nil {
		return parley.Conversation{}, err
	}
	for _, c := range convs {
		if c.ID == id {
			return c, nil
		}
	}
	// Not listed yet (no message): its state alone.
	st, err := m.node().store.ConvState(id)
	if err != nil {
		return parley.Conversation{}, err
	}
	c := parley.Conversation{ID: id, Kind: parley.ConversationDM}
	if _, gerr := m.resolveGroup(conv); gerr == nil {
		c.Kind = parley.ConversationGroup
	}
	applyConvState(&c, st, now)
	return c, nil
}

// conversationOf finds the conversation conv names: a group (ID or
// name), or the DM with a contact or request (name or peer ID).
func (m *Messenger) conversationOf(ctx context.Context, conv string) (parley.ConversationID, error) {
	id, _, _, cerr := m.resolveConversation(conv)
	if cerr == nil {
		return id, nil
	}
	if _, gerr := m.resolveGroup(conv); gerr != nil {
		// Not a group: a request, which resolveConversation refuses.
		if c, err := m.Resolve(ctx, conv); err == nil {
			return parley.DMConversationID(m.node().host.ID().String(), c.PeerID), nil
		}
	}
	return parley.ConversationID{}, cerr
}

func applyConvState(c *parley.Conversation, s storage.ConvState, now time.Time) {
	c.Muted = s.MutedAt(now)
	if c.Muted {
		c.MutedUntil = s.MutedUntil
	}
	c.Archived = s.Archived
	c.PinnedAt = s.PinnedAt
}

// decorateConversations folds the user's states into convs (from
// Conversations): a blocked stranger's request is left out, a blocked
// contact's DM marked, and the pinned ones go first, the latest pinned on
// top; the rest keep their order (newest message first).
func (n *Node) decorateConversations(convs []parley.Conversation) ([]parley.Conversation, error) {
	states, err := n.store.ConvStates()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	convs = slices.DeleteFunc(convs, func(c parley.Conversation) bool {
		if c.Kind != parley.ConversationDM || !n.blockedID(c.Peer) {
			return false
		}
		contact, err := n.store.Contact(c.Peer)
		return err != nil || contact.State != parley.ContactAccepted
	})
	for i := range convs {
		applyConvState(&convs[i], states[convs[i].ID], now)
		convs[i].Blocked = convs[i].Kind == parley.ConversationDM && n.blockedID(convs[i].Peer)
	}
	slices.SortStableFunc(convs, func(a, b parley.Conversation) int {
		return b.PinnedAt.Compare(a.PinnedAt) // zero (not pinned) last
	})
	return convs, nil
}

// screen takes a stored message's event before it is published: false
// drops it (a blocked member's group text or file: settled, never
// announced, so never notified). A new message from someone else un-archives its conversation
// unless it is muted.
func (n *Node) screen(e parley.Event) bool {
	if e.Type != parley.EventMessage || e.Message == nil || e.Message.Outgoing {
		return true
	}
	m := e.Message
	if !shown(*m) {
		// Edits, deletes and reactions go on: a delete must purge
		// whatever its author's message is, hidden or not, and a blocked
		// peer's reactions are left out when views are folded.
		return true
	}
	if n.blockedID(m.From) {
		n.settle(*m) // a delete of it that came first still purges it
		return false
	}
	// The common case, a conversation not archived, costs a read.
	if st, err := n.store.ConvState(m.Conversation); err != nil || !st.Archived {
		return true
	}
	unarchived := false
	_, err := n.store.UpdateConvState(m.Conversation, func(s *storage.ConvState) (bool, error) {
		if !s.Archived || s.MutedAt(time.Now()) {
			return false, nil
		}
		s.Archived, unarchived = false, true
		return true, nil
	})
	if err != nil {
		n.log.Warn("un-archiving a conversation on a new message", "conversation", m.Conversation, "err", err)
	}
	if unarchived {
		n.hub.publish(parley.Event{Type: parley.EventConversation, Conversation: m.Conversation})
	}
	return true
}
