package dm

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/dm/pb"
)

// ErrRefused: an envelope that Receive will never store (not for us, from
// no contact, not opening, over a quota). Whoever holds it may drop it.
var ErrRefused = errors.New("dm: envelope refused")

// Received is what Receive made of an envelope.
type Received struct {
	From peer.ID // its author, a contact
	ID   parley.EnvelopeID
	Kind parley.Kind // what it held
}

// Receive stores one envelope that came another way than a push from its
// author (a mailbox): exactly as a push of it from its author would,
// minus the answer, so an envelope that arrives both ways is stored once.
// The author is the contact whose conversation with us the envelope is
// addressed to; opening it checks that the contact signed it. nil: stored,
// now or before; ErrRefused (wrapped, with the reason): never; any other
// error: our store failed, try again later.
func (s *Service) Receive(raw []byte) (Received, error) {
	env, err := identity.ParseEnvelope(raw)
	if err != nil {
		return Received{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if len(env.ConversationId) != len(parley.ConversationID{}) {
		return Received{}, fmt.Errorf("%w: %w: conversation ID of %d bytes", ErrRefused, parley.ErrMalformed, len(env.ConversationId))
	}
	from, err := s.authorOf(parley.ConversationID(env.ConversationId))
	if err != nil {
		return Received{}, err
	}
	ack, kinds, err := s.receive(from, [][]byte{raw})
	if err != nil {
		return Received{}, err
	}
	if r := ack.Results[0]; r.Code != pb.Result_CODE_STORED {
		return Received{}, fmt.Errorf("%w: %s", ErrRefused, r.Reason)
	}
	return Received{From: from, ID: parley.NewEnvelopeID(raw), Kind: kinds[0]}, nil
}

// Receipted says whether a message of this kind that came through a
// mailbox earns its sender a delivery receipt (PROTOCOL.md §4): not
// receipts and grants (they would answer each other forever), nor group
// keys and file cancels.
func Receipted(k parley.Kind) bool {
	switch k {
	case "", parley.KindReceipt, parley.KindMailboxGrant, parley.KindGroupKeys, parley.KindFileCancel:
		return false
	}
	return true
}

// authorOf finds the contact (or request) whose conversation with us is
// conv: envelopes carry no sender in the clear, only that hash. The stored
// conversation names its peer; a contact we have not talked with yet has
// none, and is found by hashing each contact's conversation ID.
func (s *Service) authorOf(conv parley.ConversationID) (peer.ID, error) {
	if c, err := s.cfg.Store.Conversation(conv); err == nil && c.Kind == parley.ConversationDM && c.Peer != "" {
		return peer.Decode(c.Peer)
	}
	contacts, err := s.cfg.Store.Contacts()
	if err != nil {
		return "", err
	}
	for _, c := range contacts {
		if parley.DMConversationID(s.self.String(), c.PeerID) == conv {
			return peer.Decode(c.PeerID)
		}
	}
	return "", fmt.Errorf("%w: addressed to no conversation with a contact", ErrRefused)
}
