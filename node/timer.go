package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

// Disappearing messages (PROTOCOL.md §10.4). A timer is an envelope of the
// conversation (KindTimer), stored, listed as an event and synced like any
// other. The one in force is the latest by (HLC, envelope ID) whose author
// may set it: either side of a DM, an admin of a group (as the ops we hold
// say now, as for deletes). Each text and file carries the timer in force
// when it was written, so every member computes the same expiry (its HLC
// plus the timer) whatever timers it has seen; the sweeper purges it
// then, through storage's purge for everyone.

// mayTime reports whether author may set the timer of conv: in a DM,
// either side (the DM service stores only what they sign); in a group,
// an admin.
func (n *Node) mayTime(author string, conv parley.ConversationID) bool {
	if !n.isGroup(conv) {
		return true
	}
	p, err := peer.Decode(author)
	return err == nil && n.groups.IsAdmin(conv, p)
}

// isGroup: conv is one of our groups.
func (n *Node) isGroup(conv parley.ConversationID) bool {
	_, err := n.store.Group(conv)
	return err == nil
}

// judgeTimer refuses a timer a group member who is no admin set.
func (n *Node) judgeTimer(m parley.Message) error {
	if m.Kind == parley.KindTimer && !n.mayTime(m.From, m.Conversation) {
		return fmt.Errorf("%w: %s set the disappearing-messages timer", parley.ErrNotAdmin, m.From)
	}
	return nil
}

// timerOf is the timer in force in conv.
func (n *Node) timerOf(conv parley.ConversationID) (parley.ConversationTimer, error) {
	timers, err := n.store.Timers(conv)
	if err != nil {
		return parley.ConversationTimer{}, err
	}
	for _, t := range slices.Backward(timers) {
		if n.mayTime(t.From, conv) {
			return parley.ConversationTimer{Conversation: conv, Seconds: t.Timer, SetBy: t.From, HLC: t.HLC}, nil
		}
	}
	return parley.ConversationTimer{Conversation: conv}, nil
}

// timerSeconds is what a text or file written to conv now carries. A
// store error is logged, and the message goes without a timer rather
// than not at all.
func (n *Node) timerSeconds(conv parley.ConversationID) uint32 {
	t, err := n.timerOf(conv)
	if err != nil {
		n.log.Warn("reading a conversation's timer", "conversation", conv, "err", err)
	}
	return t.Seconds
}

// Timer is the disappearing-messages timer in force in a conversation (a
// contact or a group, by name or ID).
func (m *Messenger) Timer(ctx context.Context, conversation string) (parley.ConversationTimer, error) {
	conv, _, _, err := m.resolveConversation(conversation)
	if err != nil {
		return parley.ConversationTimer{}, err
	}
	return m.node().timerOf(conv)
}

// SetTimer sets a conversation's disappearing-messages timer: 0 turns it
// off, else parley.MinTimer to parley.MaxTimer. Either side of a DM may;
// in a group, an admin (parley.ErrNotAdmin otherwise). Setting the timer
// in force again sends nothing.
func (m *Messenger) SetTimer(ctx context.Context, conversation string, d time.Duration) (parley.ConversationTimer, error) {
	if err := parley.CheckTimer(d); err != nil {
		return parley.ConversationTimer{}, err
	}
	conv, contact, group, err := m.resolveConversation(conversation)
	if err != nil {
		return parley.ConversationTimer{}, err
	}
	n := m.node()
	seconds := uint32(d / time.Second)
	if cur, err := n.timerOf(conv); err != nil || cur.Seconds == seconds && cur.SetBy != "" || cur.Seconds == 0 && seconds == 0 {
		return cur, err
	}
	self := n.host.ID().String()
	if group && !n.mayTime(self, conv) {
		return parley.ConversationTimer{}, fmt.Errorf("%w: only a group admin can set disappearing messages", parley.ErrNotAdmin)
	}
	if group {
		_, err = n.groups.SetTimer(conv, seconds)
	} else {
		_, err = n.dm.SendTimer(contact, seconds)
	}
	if err != nil {
		return parley.ConversationTimer{}, err
	}
	return n.timerOf(conv)
}
