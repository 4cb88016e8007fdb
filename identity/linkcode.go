package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Link codes (PROTOCOL.md §11.5): a freshly started node that is to become
// one more device of a person shows a link code and waits. The person's
// existing device reads it, dials the new device (the code carries its key,
// so the transport authenticates it), both show the same safety code, and
// the user accepts on the existing device, which then sends the code's
// secret to prove it read the code. This file is the data format of that
// exchange; the protocol (/parley/link/1.0.0) is not built yet.

const (
	linkCodeVersion = 3
	// LinkSecretSize is the size of a link code's secret: as a short
	// invite's, too many to guess in the code's lifetime.
	LinkSecretSize = InviteSecretSize
	// MaxLinkCodeLen is the longest link code EncodeLinkCode makes, prefix
	// included: a short invite's limit, for the same QR code of version 5.
	MaxLinkCodeLen = MaxShortInviteLen
	// LinkCodeLifetime is how long the new device waits on one code.
	LinkCodeLifetime = 10 * time.Minute
)

// What each kind of code says when it is given where the other is wanted:
// the two look alike ("parley:..."), so the user is told what to do instead.
const (
	linkCodeNotInvite = `this is a link code, for linking a new device of your own: enter it with "parley devices accept" on your existing device`
	inviteNotLinkCode = `this is an invite code, for adding a contact: add it with "parley contact add"`
)

// LinkCode is what a link code gives the existing device: the new device's
// peer ID, the secret that proves the code was read, and perhaps where the
// new device listens.
type LinkCode struct {
	PeerID peer.ID
	Secret []byte // LinkSecretSize bytes
	// Hint is where the new device listened when it made the code; nil
	// when the code carries none.
	Hint ma.Multiaddr
}

// EncodeLinkCode makes the link code a new device shows, for its own key:
//
//	"parley:" || BASE32(0x03 || key || secret || hint || checksum)
//
// laid out as a short invite (EncodeShortInvite) with its own version
// byte: key the 32-byte Ed25519 public key, secret LinkSecretSize bytes,
// hint (nil for none) a multiaddr in binary form, all that follows the
// secret. It fails if the code would be longer than MaxLinkCodeLen: pick a
// shorter hint (LinkCodeFits tells) or none.
func EncodeLinkCode(key crypto.PubKey, secret []byte, hint ma.Multiaddr) (string, error) {
	return encodeKeySecretHint(linkCodeVersion, "a link code", key, secret, hint)
}

// LinkCodeFits reports whether a link code with this hint stays within
// MaxLinkCodeLen.
func LinkCodeFits(hint ma.Multiaddr) bool { return keySecretHintFits(hint) }

// ParseLinkCode reads a link code (EncodeLinkCode). Case and whitespace do
// not matter, and the link forms an invite may take are read too. An
// invite code is refused with a reason that says what it is. Every failure
// wraps parley.ErrInvalidLinkCode.
func ParseLinkCode(code string) (LinkCode, error) {
	body, err := decodeInviteBody(code, linkCodeKind)
	if err != nil {
		return LinkCode{}, err
	}
	switch body[0] {
	case linkCodeVersion:
		p, err := decodeKeySecretHint(body[1:], "the link code", linkCodeKind)
		if err != nil {
			return LinkCode{}, err
		}
		return LinkCode{PeerID: p.peerID, Secret: p.secret, Hint: p.hint}, nil
	case inviteVersion, shortInviteVersion:
		return LinkCode{}, linkCodeKind.refuse(inviteNotLinkCode)
	}
	return LinkCode{}, linkCodeKind.refuse(fmt.Sprintf("code version %d is not supported by this version of Parley", body[0]))
}

const (
	linkSafetyContext = "parley/link-safety/v1\x00"
	linkSafetyGroups  = 4 // of five digits: about 66 bits
)

// LinkSafetyCode is the code both devices show before the user accepts a
// link: 20 digits in four groups of five, e.g. "01234 56789 01234 56789".
// Equal codes on the two screens mean each device talks to the other one
// and the secret is the code's: someone who read the code over the user's
// shoulder and dialed the new device first would be shown a different
// code there.
//
// The roles differ, so the order is fixed, the existing device first:
//
//	h = SHA-256("parley/link-safety/v1" 0x00 || uvarint(len(existing)) || existing ||
//	            uvarint(len(newDevice)) || newDevice || secret)
//
// over binary peer IDs (lengths as unsigned varints, so no two inputs
// share their bytes), and each group is 5 bytes of h as a big-endian
// integer modulo 100000, as in Fingerprint.
func LinkSafetyCode(existing, newDevice peer.ID, secret []byte) string {
	buf := make([]byte, 0, len(linkSafetyContext)+2*binary.MaxVarintLen64+len(existing)+len(newDevice)+len(secret))
	buf = append(buf, linkSafetyContext...)
	buf = binary.AppendUvarint(buf, uint64(len(existing)))
	buf = append(buf, existing...)
	buf = binary.AppendUvarint(buf, uint64(len(newDevice)))
	buf = append(buf, newDevice...)
	buf = append(buf, secret...)
	h := sha256.Sum256(buf)
	return digitGroups(h[:], linkSafetyGroups)
}

// SecretEqual reports whether got is want, in time that does not depend on
// their contents (the lengths are not secret). An empty want matches
// nothing, so a secret not set yet never matches an empty one.
func SecretEqual(want, got []byte) bool {
	return len(want) > 0 && subtle.ConstantTimeCompare(want, got) == 1
}

// Errors of PendingLink.Check: each tells the dialer what to do.
var (
	// ErrWrongLinkSecret: the secret is not the code's: from another code
	// (an older one of this device, another device's), or from someone who
	// never saw the code.
	ErrWrongLinkSecret = errors.New("wrong link secret: this is not the code the new device shows")
	// ErrLinkCodeExpired: the code is older than LinkCodeLifetime.
	ErrLinkCodeExpired = errors.New("the link code has expired: show a new one on the new device")
	// ErrLinkCodeUsed: the code has already linked the new device once.
	ErrLinkCodeUsed = errors.New("the link code has been used: show a new one on the new device")
)

// PendingLink is a link code the new device shows and waits on: it is good
// for LinkCodeLifetime and for one link. It is safe for concurrent use, as
// several dialers may try it at once.
type PendingLink struct {
	Code    string // EncodeLinkCode's, to show
	Secret  []byte // LinkSecretSize bytes
	Expires time.Time

	mu   sync.Mutex
	used bool // guarded by mu
}

// NewPendingLink makes a link code for key with a fresh random secret,
// good until now + LinkCodeLifetime. hint is as for EncodeLinkCode.
func NewPendingLink(key crypto.PubKey, hint ma.Multiaddr, now time.Time) (*PendingLink, error) {
	secret := make([]byte, LinkSecretSize)
	rand.Read(secret) // never fails (crypto/rand crashes the program instead)
	code, err := EncodeLinkCode(key, secret, hint)
	if err != nil {
		return nil, err
	}
	return &PendingLink{Code: code, Secret: secret, Expires: now.Add(LinkCodeLifetime)}, nil
}

// Check takes the secret a dialer sent, at time now: nil when it is the
// code's, the code is not expired and has not been used, and the code is
// then used up. Otherwise it returns ErrLinkCodeUsed, ErrLinkCodeExpired or
// ErrWrongLinkSecret (checked in that order), and a wrong secret does not
// use the code up: a stranger who guesses cannot spoil the user's link.
func (p *PendingLink) Check(secret []byte, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.used:
		return ErrLinkCodeUsed
	case !now.Before(p.Expires):
		return ErrLinkCodeExpired
	case !SecretEqual(p.Secret, secret):
		return ErrWrongLinkSecret
	}
	p.used = true
	return nil
}
