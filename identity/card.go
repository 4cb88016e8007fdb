package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

// Limits on a contact card. They keep an invite code short enough for a QR
// code and bound what a stranger's card can make us store.
//
// MaxCardSize holds the largest card a node makes (TestCardLargestFits):
// the 1,216-byte HPKE key, a 64-byte name, 8 addresses of its own and 4
// mailboxes of 4 addresses each, all relayed IPv6 QUIC addresses (the
// longest usual ones, ~100 bytes with /p2p/ID), come to 3,694 bytes.
const (
	MaxCardSize         = 4 << 10 // encoded SignedCard, bytes
	MaxCardName         = 64      // display name, bytes of UTF-8
	MaxCardAddrs        = 16      // multiaddrs
	MaxCardMailboxes    = 4       // mailboxes
	MaxCardMailboxAddrs = 4       // multiaddrs of one mailbox
)

// cardSigContext prefixes what a card signature covers.
const cardSigContext = "parley/card/v1\x00"

// Card is a contact card: who a peer is and how to reach it. On the wire it
// is always signed by the peer's identity key (SignCard, ParseCard).
type Card struct {
	PeerID  peer.ID
	Name    string
	HPKEKey []byte // MLKEM768-X25519 public key
	Addrs   []ma.Multiaddr
	// Mailboxes hold the owner's mail while the owner is offline.
	Mailboxes []CardMailbox
}

// CardMailbox is one of a card owner's mailboxes: its peer ID and where it
// listens (multiaddrs without /p2p/ID; none when only its peer ID is known).
// On the wire each address ends in /p2p/ID (identity/pb/card.proto).
type CardMailbox struct {
	PeerID peer.ID
	Addrs  []ma.Multiaddr
}

// wire is the mailbox's addresses as they travel: each ends in /p2p/ID, and
// a mailbox with no address is the single address /p2p/ID.
func (mb CardMailbox) wire() (*pb.Mailbox, error) {
	p2p, err := ma.NewComponent("p2p", mb.PeerID.String())
	if err != nil {
		return nil, fmt.Errorf("%w: mailbox peer ID %q: %w", parley.ErrMalformed, mb.PeerID, err)
	}
	m := &pb.Mailbox{}
	for _, a := range mb.Addrs {
		m.Addrs = append(m.Addrs, a.Encapsulate(p2p.Multiaddr()).Bytes())
	}
	if len(m.Addrs) == 0 {
		m.Addrs = [][]byte{p2p.Bytes()}
	}
	return m, nil
}

// SignCard encodes c and signs it with the identity key. An empty PeerID or
// HPKEKey is filled in with the identity's own; a PeerID other than the
// identity's is refused, since nobody could verify the result. The card must
// pass the limits ParseCard enforces, so that every card we hand out parses.
func (id *Identity) SignCard(c Card) ([]byte, error) {
	if c.PeerID == "" {
		c.PeerID = id.PeerID
	}
	if c.PeerID != id.PeerID {
		return nil, fmt.Errorf("sign card: card is for %s, but this identity is %s", c.PeerID, id.PeerID)
	}
	if len(c.HPKEKey) == 0 {
		c.HPKEKey = id.HPKEPublicKey()
	}
	m := &pb.Card{PeerId: []byte(c.PeerID), Name: c.Name, HpkeKey: c.HPKEKey}
	for _, a := range c.Addrs {
		m.Addrs = append(m.Addrs, a.Bytes())
	}
	for _, mb := range c.Mailboxes {
		w, err := mb.wire()
		if err != nil {
			return nil, fmt.Errorf("sign card: %w", err)
		}
		m.Mailboxes = append(m.Mailboxes, w)
	}
	if err := CheckName(c.Name); err != nil {
		return nil, fmt.Errorf("sign card: %w", err)
	}
	if _, _, err := checkCard(m); err != nil {
		return nil, fmt.Errorf("sign card: %w", err)
	}
	cardBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sign card: %w", err)
	}
	sig, err := id.sign(cardSignedBytes(cardBytes))
	if err != nil {
		return nil, fmt.Errorf("sign card: %w", err)
	}
	signed, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.SignedCard{Card: cardBytes, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("sign card: %w", err)
	}
	if len(signed) > MaxCardSize {
		return nil, fmt.Errorf("sign card: %w: card is %d bytes, over the %d-byte limit (fewer addresses?)", parley.ErrMalformed, len(signed), MaxCardSize)
	}
	return signed, nil
}

// cardSignedBytes is what a card's signature covers: a context string keeps
// a card signature from ever being valid as any other Parley signature.
func cardSignedBytes(card []byte) []byte {
	return append([]byte(cardSigContext), card...)
}

// ParseCard decodes a signed card, checks its limits and verifies its
// signature against the Ed25519 key embedded in its peer ID. Errors wrap
// parley.ErrMalformed (does not decode, over a limit, not an Ed25519 peer)
// or parley.ErrBadSignature. A name CheckName refuses is replaced with the
// peer ID's short form (see cardName).
func ParseCard(signed []byte) (Card, error) {
	if len(signed) > MaxCardSize {
		return Card{}, fmt.Errorf("%w: card is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(signed), MaxCardSize)
	}
	var sc pb.SignedCard
	if err := proto.Unmarshal(signed, &sc); err != nil {
		return Card{}, fmt.Errorf("%w: card: %w", parley.ErrMalformed, err)
	}
	var m pb.Card
	if err := proto.Unmarshal(sc.Card, &m); err != nil {
		return Card{}, fmt.Errorf("%w: card: %w", parley.ErrMalformed, err)
	}
	pub, mailboxes, err := checkCard(&m)
	if err != nil {
		return Card{}, err
	}
	p := peer.ID(m.PeerId)
	if len(sc.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, cardSignedBytes(sc.Card), sc.Signature) {
		return Card{}, fmt.Errorf("%w: card is not signed by %s", parley.ErrBadSignature, p)
	}
	c := Card{PeerID: p, Name: cardName(p, m.Name), HPKEKey: m.HpkeKey, Mailboxes: mailboxes}
	for _, b := range m.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil { // unreachable: checkCard decoded them
			return Card{}, fmt.Errorf("%w: card address: %w", parley.ErrMalformed, err)
		}
		c.Addrs = append(c.Addrs, a)
	}
	return c, nil
}

// checkCard enforces a card's limits, SignCard's and ParseCard's alike (but for
// what the name may contain, see cardName), and
// returns the key that must have signed it and the card's mailboxes.
func checkCard(m *pb.Card) (ed25519.PublicKey, []CardMailbox, error) {
	pub, err := checkCardFields(m)
	if err != nil {
		return nil, nil, err
	}
	mailboxes, err := checkMailboxes(peer.ID(m.PeerId), m.Mailboxes)
	if err != nil {
		return nil, nil, err
	}
	return pub, mailboxes, nil
}

func checkCardFields(m *pb.Card) (ed25519.PublicKey, error) {
	p, err := peerIDFromBytes(m.PeerId)
	if err != nil {
		return nil, fmt.Errorf("card: %w", err)
	}
	pub, err := ed25519PublicKey(p)
	if err != nil {
		return nil, fmt.Errorf("card: %w", err)
	}
	if len(m.Name) > MaxCardName {
		return nil, fmt.Errorf("%w: card name is %d bytes, over the %d-byte limit", parley.ErrMalformed, len(m.Name), MaxCardName)
	}
	if err := checkHPKEKey(m.HpkeKey); err != nil {
		return nil, fmt.Errorf("card: %w", err)
	}
	if len(m.Addrs) > MaxCardAddrs {
		return nil, fmt.Errorf("%w: card has %d addresses, over the limit of %d", parley.ErrMalformed, len(m.Addrs), MaxCardAddrs)
	}
	for i, b := range m.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%w: card address %d: %w", parley.ErrMalformed, i, err)
		}
		// An empty address decodes to nil, and a non-canonical one would
		// change when re-encoded: refuse both.
		if len(a) == 0 || !bytes.Equal(a.Bytes(), b) {
			return nil, fmt.Errorf("%w: card address %d is empty or not canonical", parley.ErrMalformed, i)
		}
	}
	return pub, nil
}

// checkHPKEKey tells whether b is a valid MLKEM768-X25519 public key
// (PROTOCOL.md §1): the right size, and an ML-KEM part that passes FIPS
// 203's modulus check. Cards and device lists carry such keys.
func checkHPKEKey(b []byte) error {
	if len(b) != hpkePublicKeySize {
		return fmt.Errorf("%w: HPKE key is %d bytes, want %d (MLKEM768-X25519)", parley.ErrMalformed, len(b), hpkePublicKeySize)
	}
	if _, err := hpke.MLKEM768X25519().NewPublicKey(b); err != nil {
		return fmt.Errorf("%w: HPKE key: %w", parley.ErrMalformed, err)
	}
	return nil
}

// checkMailboxes decodes a card's mailboxes and enforces their limits: at
// most MaxCardMailboxes, each a different peer and not the owner, each
// with 1 to MaxCardMailboxAddrs canonical addresses ending in /p2p/ and the
// same peer ID.
func checkMailboxes(owner peer.ID, ms []*pb.Mailbox) ([]CardMailbox, error) {
	if len(ms) > MaxCardMailboxes {
		return nil, fmt.Errorf("%w: card has %d mailboxes, over the limit of %d", parley.ErrMalformed, len(ms), MaxCardMailboxes)
	}
	var out []CardMailbox
	for i, m := range ms {
		if n := len(m.Addrs); n == 0 || n > MaxCardMailboxAddrs {
			return nil, fmt.Errorf("%w: card mailbox %d has %d addresses, want 1 to %d", parley.ErrMalformed, i, n, MaxCardMailboxAddrs)
		}
		var mb CardMailbox
		for j, b := range m.Addrs {
			a, err := ma.NewMultiaddrBytes(b)
			if err != nil {
				return nil, fmt.Errorf("%w: card mailbox %d address %d: %w", parley.ErrMalformed, i, j, err)
			}
			if len(a) == 0 || !bytes.Equal(a.Bytes(), b) {
				return nil, fmt.Errorf("%w: card mailbox %d address %d is empty or not canonical", parley.ErrMalformed, i, j)
			}
			transport, id := peer.SplitAddr(a)
			if id == "" || (j > 0 && id != mb.PeerID) {
				return nil, fmt.Errorf("%w: card mailbox %d address %d does not end in the mailbox's /p2p/ID", parley.ErrMalformed, i, j)
			}
			if _, err := ed25519PublicKey(id); err != nil {
				return nil, fmt.Errorf("%w: card mailbox %d: %w", parley.ErrMalformed, i, err)
			}
			mb.PeerID = id
			if transport != nil {
				mb.Addrs = append(mb.Addrs, transport)
			}
		}
		if mb.PeerID == owner {
			return nil, fmt.Errorf("%w: card mailbox %d is the card's own peer", parley.ErrMalformed, i)
		}
		if slices.ContainsFunc(out, func(o CardMailbox) bool { return o.PeerID == mb.PeerID }) {
			return nil, fmt.Errorf("%w: card mailbox %s is listed twice", parley.ErrMalformed, mb.PeerID)
		}
		out = append(out, mb)
	}
	return out, nil
}

// Contact is the card as a contact the user has accepted (by invite);
// AddedAt is left zero for the store to set.
func (c Card) Contact() parley.Contact {
	ct := parley.Contact{
		PeerID:  c.PeerID.String(),
		Name:    c.Name,
		HPKEKey: bytes.Clone(c.HPKEKey),
		State:   parley.ContactAccepted,
	}
	for _, a := range c.Addrs {
		ct.Addrs = append(ct.Addrs, a.String())
	}
	for _, mb := range c.Mailboxes {
		pm := parley.Mailbox{PeerID: mb.PeerID.String()}
		for _, a := range mb.Addrs {
			pm.Addrs = append(pm.Addrs, a.String())
		}
		ct.Mailboxes = append(ct.Mailboxes, pm)
	}
	return ct
}
