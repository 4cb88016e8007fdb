package mailbox

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/storage"
)

// OwnerID names an owner at a mailbox: SHA-256 of the owner's identity
// public key as libp2p marshals it. It names a person, not a device: with
// linked devices (issue 17) every device of the person fetches the same
// mail.
type OwnerID = storage.MailboxOwner

// Domain separation for everything signed or MACed here, so that no
// signature or token made for one purpose is good for another.
const (
	registrationDomain = "parley/mailbox/1.0.0 registration\x00"
	authDomain         = "parley/mailbox/1.0.0 auth\x00"
	depositDomain      = "parley/mailbox/1.0.0 deposit\x00"
	depositKeyInfo     = "parley/mailbox/1.0.0 deposit key\x00"
	holderNonceDomain  = "parley/mailbox/1.0.0 holder nonce\x00"
)

// Sizes on the wire.
const (
	DepositKeySize = 32
	NonceSize      = 16
	TokenSize      = sha256.Size
	challengeSize  = 32
)

// OwnerOf is the owner ID of an identity public key, which must be Ed25519.
func OwnerOf(pub crypto.PubKey) (OwnerID, error) {
	if pub.Type() != cryptopb.KeyType_Ed25519 {
		return OwnerID{}, fmt.Errorf("%w: owner key is %s, want Ed25519", parley.ErrMalformed, pub.Type())
	}
	b, err := crypto.MarshalPublicKey(pub)
	if err != nil {
		return OwnerID{}, fmt.Errorf("mailbox: marshal owner key: %w", err)
	}
	return sha256.Sum256(b), nil
}

// ownerKey decodes a marshalled identity public key and its owner ID.
func ownerKey(b []byte) (crypto.PubKey, OwnerID, error) {
	pub, err := crypto.UnmarshalPublicKey(b)
	if err != nil {
		return nil, OwnerID{}, fmt.Errorf("%w: owner key: %v", parley.ErrMalformed, err)
	}
	id, err := OwnerOf(pub)
	return pub, id, err
}

// DeriveDepositKey is the deposit key K_dep an owner registers at one
// mailbox: HKDF-SHA256 of the owner's identity private key, with the
// mailbox's peer ID and a generation in the info. Each mailbox gets its
// own key, so a mailbox (which learns its K_dep) cannot mint capabilities
// good at another; a new generation revokes every capability at once. The
// owner stores nothing: it derives the key again when it needs it.
func DeriveDepositKey(identityKey crypto.PrivKey, mailbox peer.ID, generation uint32) ([DepositKeySize]byte, error) {
	raw, err := identityKey.Raw()
	if err != nil {
		return [DepositKeySize]byte{}, fmt.Errorf("mailbox: identity key: %w", err)
	}
	info := binary.BigEndian.AppendUint32(append([]byte(depositKeyInfo), mailbox...), generation)
	k, err := hkdf.Key(sha256.New, raw, nil, string(info), DepositKeySize)
	if err != nil {
		return [DepositKeySize]byte{}, fmt.Errorf("mailbox: derive deposit key: %w", err)
	}
	return [DepositKeySize]byte(k), nil
}

// Capability lets one contact deposit mail for one owner at one mailbox.
// The owner issues one per contact (a fresh nonce each), so it can revoke
// one contact by its nonce; the mailbox checks it with K_dep alone and
// learns nothing of who holds it.
type Capability struct {
	Nonce [NonceSize]byte
	Token [TokenSize]byte
}

// IssueCapability makes a new capability under depositKey for owner, with a
// random nonce.
func IssueCapability(depositKey [DepositKeySize]byte, owner OwnerID) Capability {
	var c Capability
	rand.Read(c.Nonce[:]) // never fails
	c.Token = depositToken(depositKey, owner, c.Nonce)
	return c
}

// CapabilityFor is the capability an owner issues to one holder (a
// contact) under depositKey. Its nonce is HMAC-SHA256(depositKey,
// holderNonceDomain || holder)[:16]: the same holder always gets the same
// capability, so the owner stores nothing and re-sending a grant mints no
// new nonces, while each holder's nonce differs from every other's, so
// that one contact can be revoked alone (by its nonce) and the mailbox
// cannot link two holders' deposits by their nonce. Revoking a holder for
// good takes a new generation of depositKey (DeriveDepositKey).
func CapabilityFor(depositKey [DepositKeySize]byte, owner OwnerID, holder peer.ID) Capability {
	m := hmac.New(sha256.New, depositKey[:])
	m.Write([]byte(holderNonceDomain))
	m.Write([]byte(holder))
	var c Capability
	copy(c.Nonce[:], m.Sum(nil))
	c.Token = depositToken(depositKey, owner, c.Nonce)
	return c
}

// depositToken is HMAC-SHA256(K_dep, depositDomain || owner || nonce).
func depositToken(depositKey [DepositKeySize]byte, owner OwnerID, nonce [NonceSize]byte) [TokenSize]byte {
	m := hmac.New(sha256.New, depositKey[:])
	m.Write([]byte(depositDomain))
	m.Write(owner[:])
	m.Write(nonce[:])
	return [TokenSize]byte(m.Sum(nil))
}

// valid reports whether c is a capability under the account's key, not
// revoked. The comparison takes constant time.
func (c Capability) valid(a storage.MailboxAccount) bool {
	want := depositToken(a.DepositKey, a.Owner, c.Nonce)
	return hmac.Equal(want[:], c.Token[:]) && !a.RevokedNonce(c.Nonce)
}

// authMessage is what an owner signs to answer a challenge: bound to the
// mailbox, so it is good nowhere else, and to the nonce, so it is good once.
func authMessage(mailbox peer.ID, nonce []byte) []byte {
	b := append([]byte(authDomain), mailbox...)
	return append(b, nonce...)
}

func registrationMessage(reg []byte) []byte {
	return append([]byte(registrationDomain), reg...)
}
