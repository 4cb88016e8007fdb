package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
)

// Offers to hold mail: a contact whose node serves mailboxes (it is always
// on) offers in one click to hold the user's mail while the user is
// offline. The offer is a DM (a KindMailboxOffer message, body
// MailboxOffer); accepting it is adding the contact's node as a mailbox,
// which registers with it. The answer is kept in settings.json
// (MailboxOffersAnswered), so a card answered stays answered.

// OfferMailbox offers this node to a contact as their mailbox: a DM with
// our peer ID and addresses, through the outbox like any message.
// parley.ErrMailboxServiceOff unless the mailbox service is on.
func (m *Messenger) OfferMailbox(ctx context.Context, contact string) (parley.Message, error) {
	if m.node().mailbox.Load() == nil {
		return parley.Message{}, fmt.Errorf("%w: turn on \"Hold mail for others\" first", parley.ErrMailboxServiceOff)
	}
	c, err := m.Resolve(ctx, contact)
	if err != nil {
		return parley.Message{}, err
	}
	if c.State != parley.ContactAccepted {
		return parley.Message{}, fmt.Errorf("%w: %q is a request; accept it first", parley.ErrUnknownContact, contact)
	}
	return m.node().dm.SendMailboxOffer(c, m.card().Addrs)
}

// MailboxOffer reads a KindMailboxOffer message: the mailbox offered (its
// sender's node) and the user's answer.
func (m *Messenger) MailboxOffer(ctx context.Context, msg parley.Message) (parley.MailboxOffer, error) {
	if msg.Kind != parley.KindMailboxOffer {
		return parley.MailboxOffer{}, fmt.Errorf("%w: message %s is no mailbox offer", parley.ErrMalformed, msg.ID)
	}
	o := parley.MailboxOffer{Mailbox: parley.Mailbox{PeerID: msg.From, Addrs: offerAddrs(msg)}, State: parley.OfferOpen}
	if msg.Outgoing {
		return o, nil // ours: the contact answers, and does not tell us
	}
	if m.node().isMailbox(mustDecode(msg.From)) {
		o.State = parley.OfferAccepted
		return o, nil
	}
	s, err := loadSettings(m.node().dataDir)
	if err != nil {
		return parley.MailboxOffer{}, err
	}
	if hlc, ok := s.MailboxOffersAnswered[msg.From]; ok && msg.HLC <= hlc {
		o.State = parley.OfferDismissed
	}
	return o, nil
}

// AcceptMailboxOffer adds the node that offered, by the offer's message
// ID, as one of the user's mailboxes (registering with it, as AddMailbox
// does). Only a contact's offer to us can be accepted.
func (m *Messenger) AcceptMailboxOffer(ctx context.Context, id string) (parley.Mailbox, error) {
	msg, err := m.incomingOffer(ctx, id)
	if err != nil {
		return parley.Mailbox{}, err
	}
	info := peer.AddrInfo{ID: mustDecode(msg.From)}
	for _, s := range offerAddrs(msg) {
		if a, err := ma.NewMultiaddr(s); err == nil {
			info.Addrs = append(info.Addrs, a)
		}
	}
	return m.node().addMailbox(ctx, info, func(s *storedSettings) { answerOffer(s, msg) })
}

// DismissMailboxOffer closes an offer (and older ones from the same
// contact) unanswered.
func (m *Messenger) DismissMailboxOffer(ctx context.Context, id string) error {
	msg, err := m.incomingOffer(ctx, id)
	if err != nil {
		return err
	}
	n := m.node()
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return err
	}
	answerOffer(&s, msg)
	return saveSettings(n.dataDir, s)
}

// incomingOffer finds the offer to us named by id, from an accepted contact.
func (m *Messenger) incomingOffer(ctx context.Context, id string) (parley.Message, error) {
	eid, err := parley.ParseEnvelopeID(id)
	if err != nil {
		return parley.Message{}, fmt.Errorf("%w: offer ID %q: want the offer message's ID (64 hex digits)", parley.ErrMalformed, id)
	}
	msg, err := m.node().store.Message(eid)
	if err != nil {
		return parley.Message{}, fmt.Errorf("mailbox offer %s: %w", id, err)
	}
	if msg.Kind != parley.KindMailboxOffer || msg.Outgoing {
		return parley.Message{}, fmt.Errorf("mailbox offer %s: %w", id, parley.ErrNotFound)
	}
	c, err := m.Resolve(ctx, msg.From)
	if err != nil {
		return parley.Message{}, err
	}
	if c.State != parley.ContactAccepted {
		return parley.Message{}, fmt.Errorf("%w: the offer is from %s, who is not a contact", parley.ErrUnknownContact, msg.From)
	}
	return msg, nil
}

// answerOffer records msg, and every older offer from its sender, answered.
func answerOffer(s *storedSettings, msg parley.Message) {
	if s.MailboxOffersAnswered == nil {
		s.MailboxOffersAnswered = make(map[string]parley.HLC)
	}
	s.MailboxOffersAnswered[msg.From] = max(s.MailboxOffersAnswered[msg.From], msg.HLC)
}

// offerAddrs are the addresses an offer's Text holds, one a line.
func offerAddrs(msg parley.Message) []string {
	if msg.Text == "" {
		return nil
	}
	return strings.Split(msg.Text, "\n")
}

// mustDecode is the peer ID a stored message names; stored messages were
// checked when received, so a bad one only makes an ID no peer has.
func mustDecode(s string) peer.ID {
	p, err := peer.Decode(s)
	if err != nil {
		return ""
	}
	return p
}
