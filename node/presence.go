package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/node/presence"
)

// Presence (PROTOCOL.md §10.1): typing indicators and last seen. Neither is
// ever stored as a message: typing lives in memory for a few seconds; last
// seen is one timestamp per contact who shares it (storage prs/).
//
// Last seen is derived from connections: a contact's node connected to ours
// is "online"; when it disconnects, that moment is its last seen. On every
// connection each side says whether it shares its last seen (a "seen"
// frame); we keep a contact's only while they share it and we share ours
// (as in WhatsApp: who hides theirs sees no one's). Whether someone is
// connected cannot be hidden from a contact who dials them, so "online"
// shows whatever the settings.

// presenceSendTimeout bounds one presence frame's send.
const presenceSendTimeout = 5 * time.Second

// startPresence builds the typing state and serves the presence protocol.
// Called once the host and the store are up, before the groups join their
// topics (their typing comes through onGroupTyping).
func (n *Node) startPresence(cfg Config, s storedSettings) error {
	n.typingOn.Store(s.TypingIndicators == nil || *s.TypingIndicators)
	n.lastSeenOn.Store(s.LastSeen == nil || *s.LastSeen)
	n.typists = presence.NewTypists(cfg.TypingExpiry, func(conv parley.ConversationID, p string, active bool) {
		n.hub.publish(parley.Event{Type: parley.EventTyping, Conversation: conv, PeerID: p, Typing: active})
	})
	n.typingOut = presence.NewOutgoing()
	svc, err := presence.New(presence.Config{
		Host:     n.host,
		Allowed:  n.presenceAllowed,
		OnTyping: n.onDMTyping,
		OnSeen:   n.onSeen,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return err
	}
	n.presence = svc
	svc.Start()
	return nil
}

// presenceAllowed: frames are taken from accepted contacts only. A blocked
// contact's are taken too, and ignored: a refusal would tell them.
func (n *Node) presenceAllowed(p peer.ID) bool { return n.isContact(p) }

func (n *Node) onDMTyping(p peer.ID, active bool) {
	if !n.typingOn.Load() || n.Blocked(p) {
		return
	}
	conv := parley.DMConversationID(n.host.ID().String(), p.String())
	if active {
		n.typists.Start(conv, p.String())
	} else {
		n.typists.Stop(conv, p.String())
	}
}

func (n *Node) onGroupTyping(group parley.ConversationID, from peer.ID, active bool) {
	if !n.typingOn.Load() || n.Blocked(from) {
		return
	}
	if active {
		n.typists.Start(group, from.String())
	} else {
		n.typists.Stop(group, from.String())
	}
}

// typingMessageArrived stops showing the author of an incoming message as
// typing in its conversation: the message is what they were typing. Ours
// ends our typing there: its arrival does the same on the other side.
func (n *Node) typingMessageArrived(e parley.Event) {
	if e.Type != parley.EventMessage || e.Message == nil || n.typists == nil {
		return
	}
	if e.Message.Outgoing {
		n.typingOut.Sent(e.Message.Conversation)
		return
	}
	n.typists.Stop(e.Message.Conversation, e.Message.From)
}

// onSeen keeps or forgets a contact's last seen as they say whether they
// share it; it is now (they are connected).
func (n *Node) onSeen(p peer.ID, share bool) {
	if n.Blocked(p) {
		share = false // we keep nothing of theirs
	}
	seen, err := n.store.LastSeen()
	if err != nil {
		n.log.Warn("reading last seen", "err", err)
		return
	}
	_, held := seen[p.String()]
	if share && n.lastSeenOn.Load() {
		err = n.store.PutLastSeen(p.String(), time.Now())
	} else {
		err = n.store.DeleteLastSeen(p.String())
	}
	if err != nil {
		n.log.Warn("saving a contact's last seen", "peer", p, "err", err)
		return
	}
	n.hub.publish(parley.Event{Type: parley.EventContact, PeerID: p.String()})
	if share && n.lastSeenOn.Load() && !held {
		// They may not hold ours either (we turned ours on since we last
		// met): say it back. They answer only if they held none of ours,
		// so this ends after one round.
		n.presenceConnected(p)
	}
}

// presenceConnected tells a contact who just connected whether we share
// our last seen, in the background (the node's wait group owns it).
func (n *Node) presenceConnected(p peer.ID) {
	if n.presence == nil || n.Blocked(p) {
		return
	}
	share := n.lastSeenOn.Load()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, presenceSendTimeout)
		defer cancel()
		if err := n.presence.Send(ctx, p, presence.SeenFrame(share)); err != nil {
			n.log.Debug("telling a contact whether we share our last seen", "peer", p, "err", err)
		}
	}()
}

// presenceDisconnected records a sharing contact's last seen as now.
func (n *Node) presenceDisconnected(p peer.ID) {
	if !n.lastSeenOn.Load() {
		return
	}
	seen, err := n.store.LastSeen()
	if _, shares := seen[p.String()]; err != nil || !shares {
		return
	}
	if err := n.store.PutLastSeen(p.String(), time.Now()); err != nil {
		n.log.Warn("saving a contact's last seen", "peer", p, "err", err)
	}
}

// lastSeenNow records every connected sharing contact as seen now, before
// the node stops: the disconnections that follow are not watched.
func (n *Node) lastSeenNow() {
	if n.store == nil || n.host == nil || !n.lastSeenOn.Load() {
		return
	}
	seen, err := n.store.LastSeen()
	if err != nil {
		return
	}
	now := time.Now()
	for p := range seen {
		id, err := peer.Decode(p)
		if err == nil && n.host.Network().Connectedness(id) == network.Connected {
			_ = n.store.PutLastSeen(p, now)
		}
	}
}

// withLastSeen fills in the last seen of the contacts who share it, while
// we share ours.
func (n *Node) withLastSeen(cs []parley.Contact) []parley.Contact {
	if !n.lastSeenOn.Load() {
		return cs
	}
	seen, err := n.store.LastSeen()
	if err != nil {
		n.log.Warn("reading last seen", "err", err)
		return cs
	}
	for i := range cs {
		cs[i].LastSeen = seen[cs[i].PeerID]
	}
	return cs
}

// Typing tells a conversation (a contact or a group, by name or ID) that
// the user is typing (active) or stopped: sent at most once per
// presence.TypingInterval per conversation, a "stopped" only after a
// "typing", and nothing at all while the typing setting is off. sent
// reports whether anything went out. A contact not connected now is not
// dialled: typing is not worth a connection.
func (m *Messenger) Typing(ctx context.Context, conv string, active bool) (sent bool, err error) {
	id, c, group, err := m.resolveConversation(conv)
	if err != nil {
		return false, err
	}
	n := m.node()
	if !n.typingOn.Load() {
		return false, nil
	}
	if !group {
		p, err := peer.Decode(c.PeerID)
		if err != nil {
			return false, fmt.Errorf("%w: contact's peer ID: %w", parley.ErrMalformed, err)
		}
		if n.Blocked(p) || n.host.Network().Connectedness(p) != network.Connected && len(n.host.Network().ConnsToPeer(p)) == 0 {
			return false, nil
		}
		if !n.typingOut.Allow(id, active, time.Now()) {
			return false, nil
		}
		if err := n.presence.Send(ctx, p, presence.TypingFrame(active)); err != nil {
			if errors.Is(err, presence.ErrNotConnected) {
				return false, nil
			}
			n.log.Debug("sending typing", "peer", p, "err", err)
			return false, nil
		}
		return true, nil
	}
	if !n.typingOut.Allow(id, active, time.Now()) {
		return false, nil
	}
	if err := n.groups.PublishTyping(ctx, id, active); err != nil {
		return false, err
	}
	return true, nil
}

// SetTypingIndicators turns typing indicators on or off, now and after
// restarts. Off: we send none and show none (those shown now are
// dropped).
func (m *Messenger) SetTypingIndicators(ctx context.Context, on bool) (parley.Settings, error) {
	n := m.node()
	if err := n.updateSettings(func(s *storedSettings) { s.TypingIndicators = &on }); err != nil {
		return parley.Settings{}, err
	}
	n.typingOn.Store(on)
	if !on {
		n.typists.Clear()
	}
	return m.Settings(ctx), nil
}

// SetLastSeen turns last seen on or off, now and after restarts. Off: we
// tell connected contacts to forget ours, and forget theirs (we see no
// one's while we share none); on: we tell them we share it again, and
// keep theirs from their next "seen".
func (m *Messenger) SetLastSeen(ctx context.Context, on bool) (parley.Settings, error) {
	n := m.node()
	if err := n.updateSettings(func(s *storedSettings) { s.LastSeen = &on }); err != nil {
		return parley.Settings{}, err
	}
	n.lastSeenOn.Store(on)
	if !on {
		seen, err := n.store.LastSeen()
		if err != nil {
			return parley.Settings{}, err
		}
		for p := range seen {
			if err := n.store.DeleteLastSeen(p); err != nil {
				return parley.Settings{}, err
			}
		}
	}
	for _, p := range n.host.Network().Peers() {
		if n.isContact(p) {
			n.presenceConnected(p)
		}
	}
	n.hub.publish(parley.Event{Type: parley.EventContact})
	return m.Settings(ctx), nil
}

// updateSettings changes settings.json under settingsMu.
func (n *Node) updateSettings(change func(*storedSettings)) error {
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return err
	}
	change(&s)
	return saveSettings(n.dataDir, s)
}

// presenceChanged follows a peer's connection: a contact who connects is
// told whether we share our last seen; one who goes has its last seen
// recorded.
func (n *Node) presenceChanged(p peer.ID, online bool) {
	if !n.isContact(p) {
		return
	}
	if online {
		n.presenceConnected(p)
	} else {
		n.presenceDisconnected(p)
	}
}

// presenceEstablished says whether we share our last seen to a peer that
// just became a contact while connected: the "seen" we sent on connecting
// reached a stranger's node, which dropped it, and no new connection is
// coming to send another.
func (n *Node) presenceEstablished(c parley.Contact) {
	if p, err := peer.Decode(c.PeerID); err == nil && n.host.Network().Connectedness(p) == network.Connected {
		n.presenceConnected(p)
	}
}
