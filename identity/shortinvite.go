package identity

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
)

// Short invite codes (PROTOCOL.md §3): instead of the whole signed card, a
// short code carries what it takes to fetch the card from its owner over
// /parley/card/1.0.0: the owner's Ed25519 key (the peer ID derives from
// it), the owner's invite secret and at most one address. The fetched card
// must be signed by that key, so a short code is as safe as a long one;
// the secret keeps people who know only the peer ID from fetching the card.

const (
	shortInviteVersion = 2
	// InviteSecretSize is the size of the secret a short code carries.
	InviteSecretSize = 16
	// MaxShortInviteLen is the longest short code EncodeShortInvite
	// makes, prefix included: short enough for a QR code of version 5
	// (37×37 modules) that a phone camera reads off a screen at arm's length.
	MaxShortInviteLen = 120
	// maxHintSize bounds the address hint a decoder takes; codes Parley
	// makes stay within MaxShortInviteLen, which leaves 17 bytes.
	maxHintSize = 64
)

// Invite is what an invite code gives: the owner's peer ID, and either the
// signed card itself (a long code) or what it takes to fetch it (a short
// code: the secret and perhaps an address).
type Invite struct {
	PeerID peer.ID
	// Card and Signed are the verified card and its signed bytes; nil
	// Signed for a short code.
	Card   Card
	Signed []byte
	// Secret is the short code's secret (InviteSecretSize bytes); nil for
	// a long code.
	Secret []byte
	// Hint is where the owner listened when the short code was made; nil
	// when it carries none.
	Hint ma.Multiaddr
}

// Short reports whether the code was a short one: the card must be fetched.
func (inv Invite) Short() bool { return inv.Signed == nil }

// EncodeShortInvite makes a short invite code for the owner of key:
//
//	"parley:" || BASE32(0x02 || key || secret || hint || checksum)
//
// with BASE32 and checksum as in EncodeInvite, key the 32-byte Ed25519
// public key, secret InviteSecretSize bytes, and hint (optional, nil for
// none) a multiaddr in binary form, all that follows the secret. It fails
// if the code would be longer than MaxShortInviteLen: pick a shorter hint
// (ShortInviteFits tells) or none.
func EncodeShortInvite(key crypto.PubKey, secret []byte, hint ma.Multiaddr) (string, error) {
	return encodeKeySecretHint(shortInviteVersion, "a short invite", key, secret, hint)
}

// ShortInviteFits reports whether a short code with this hint stays within
// MaxShortInviteLen.
func ShortInviteFits(hint ma.Multiaddr) bool { return keySecretHintFits(hint) }

// encodeKeySecretHint makes a code of the payload that short invites and
// link codes share: an Ed25519 key, a secret of InviteSecretSize bytes and
// an optional address hint, all that follows the secret. The code must
// stay within MaxShortInviteLen; what names the code in errors.
func encodeKeySecretHint(version byte, what string, key crypto.PubKey, secret []byte, hint ma.Multiaddr) (string, error) {
	if key.Type() != crypto.Ed25519 {
		return "", fmt.Errorf("%w: %s needs an Ed25519 key", parley.ErrMalformed, what)
	}
	raw, err := key.Raw()
	if err != nil {
		return "", err
	}
	if len(secret) != InviteSecretSize {
		return "", fmt.Errorf("%w: the secret for %s is %d bytes, want %d", parley.ErrMalformed, what, len(secret), InviteSecretSize)
	}
	payload := append(append(bytes.Clone(raw), secret...), hint.Bytes()...)
	code := encodeInviteBody(version, payload)
	if len(code) > MaxShortInviteLen {
		return "", fmt.Errorf("%w: the address %s makes %s %d characters long, over %d", parley.ErrMalformed, hint, what, len(code), MaxShortInviteLen)
	}
	return code, nil
}

func keySecretHintFits(hint ma.Multiaddr) bool {
	n := 1 + ed25519.PublicKeySize + InviteSecretSize + len(hint.Bytes()) + inviteSumSize
	return len(InvitePrefix)+inviteEncoding.EncodedLen(n) <= MaxShortInviteLen
}

// ParseInvite reads an invite code, long or short, or a link made of one
// ("parley://invite/CODE"). Case and whitespace do not matter. A long
// code's card is verified; a short code's must be fetched and checked with
// CheckFetchedCard. A link code (EncodeLinkCode) is refused with a reason
// that says what it is. Every failure wraps parley.ErrInvalidInvite.
func ParseInvite(code string) (Invite, error) {
	body, err := decodeInviteBody(code, inviteKind)
	if err != nil {
		return Invite{}, err
	}
	switch body[0] {
	case inviteVersion:
		card, signed, err := decodeLongInvite(body[1:])
		if err != nil {
			return Invite{}, err
		}
		return Invite{PeerID: card.PeerID, Card: card, Signed: signed}, nil
	case shortInviteVersion:
		p, err := decodeKeySecretHint(body[1:], "the short code", inviteKind)
		if err != nil {
			return Invite{}, err
		}
		return Invite{PeerID: p.peerID, Secret: p.secret, Hint: p.hint}, nil
	case linkCodeVersion:
		return Invite{}, inviteError(linkCodeNotInvite)
	}
	return Invite{}, inviteError(fmt.Sprintf("invite version %d is not supported by this version of Parley", body[0]))
}

// keySecretHint is the payload that short invites and link codes share.
type keySecretHint struct {
	peerID peer.ID
	secret []byte       // InviteSecretSize bytes
	hint   ma.Multiaddr // nil for none
}

// decodeKeySecretHint reads the payload after a short invite's or a link
// code's version byte; its errors name the code as what and wrap kind's
// sentinel.
func decodeKeySecretHint(payload []byte, what string, kind codeKind) (keySecretHint, error) {
	if len(payload) < ed25519.PublicKeySize+InviteSecretSize {
		return keySecretHint{}, kind.refuse(what + " is too short: it was cut off")
	}
	if len(payload) > ed25519.PublicKeySize+InviteSecretSize+maxHintSize {
		return keySecretHint{}, kind.refuse(what + " is too long: its address is over 64 bytes")
	}
	key, err := crypto.UnmarshalEd25519PublicKey(payload[:ed25519.PublicKeySize])
	if err != nil {
		return keySecretHint{}, kind.refuse("its key is not an Ed25519 key")
	}
	id, err := peer.IDFromPublicKey(key)
	if err != nil {
		return keySecretHint{}, kind.refuse("its key gives no peer ID")
	}
	p := keySecretHint{peerID: id, secret: bytes.Clone(payload[ed25519.PublicKeySize : ed25519.PublicKeySize+InviteSecretSize])}
	if hint := payload[ed25519.PublicKeySize+InviteSecretSize:]; len(hint) > 0 {
		a, err := ma.NewMultiaddrBytes(bytes.Clone(hint))
		if err != nil || !bytes.Equal(a.Bytes(), hint) {
			return keySecretHint{}, kind.refuse("its address is not a valid multiaddr")
		}
		// The hint is the owner's own: one naming a peer would be someone else's.
		if _, err := a.ValueForProtocol(ma.P_P2P); err == nil {
			return keySecretHint{}, kind.refuse("its address names a peer: it must be the owner's own")
		}
		p.hint = a
	}
	return p, nil
}

// CheckFetchedCard verifies a card fetched for a short invite: it must be a
// valid signed card of the invite's peer. It returns the card.
func CheckFetchedCard(inv Invite, signed []byte) (Card, error) {
	card, err := ParseCard(signed)
	if err != nil {
		return Card{}, fmt.Errorf("%w: the card its owner sent is not valid: %w", parley.ErrInvalidInvite, err)
	}
	if card.PeerID != inv.PeerID {
		return Card{}, fmt.Errorf("%w: the card sent is %s's, not the invite's", parley.ErrInvalidInvite, card.PeerID)
	}
	return card, nil
}
