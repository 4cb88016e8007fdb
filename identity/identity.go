package identity

import (
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

// StoreKeySize is the length of the store's encryption master key: badger
// takes a 32-byte key for AES-256.
const StoreKeySize = 32

// Sizes fixed by the MLKEM768-X25519 KEM (X-Wing): ML-KEM-768 plus X25519.
const (
	hpkePublicKeySize = 1184 + 32 // encapsulation key || X25519 point
	hpkeEncapSize     = 1088 + 32 // ML-KEM ciphertext || X25519 point
)

// Identity is a node's keys, and the person it is a device of.
type Identity struct {
	Key      crypto.PrivKey  // libp2p Ed25519 private key; its peer ID is the user's address
	PeerID   peer.ID         // derived from Key
	HPKE     hpke.PrivateKey // MLKEM768-X25519 private key: others encrypt to its public half
	StoreKey []byte          // StoreKeySize random bytes: the message store's encryption master key

	// Person is the person this node is a device of. Never nil: a node
	// that has linked no other device is a person of one device, whose
	// person key is Key and whose person ID is PeerID (NewPersonKeys).
	Person *PersonKeys
	// DeviceList is the person's current device list, as SignDeviceList
	// wrote it; nil for a person of one device, which has none (Devices).
	DeviceList []byte
	// DeviceName is this device's name, such as "laptop"; empty until
	// LoadOrCreate names it (KeystoreOptions.DeviceName).
	DeviceName string
}

// Generate creates a new identity from the system's random source.
func Generate() (*Identity, error) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	hk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate HPKE key: %w", err)
	}
	storeKey := make([]byte, StoreKeySize)
	rand.Read(storeKey) // never fails (crypto/rand crashes the program instead)
	return newIdentity(sk, hk, storeKey)
}

func newIdentity(sk crypto.PrivKey, hk hpke.PrivateKey, storeKey []byte) (*Identity, error) {
	if sk.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: identity key is %s, want Ed25519", parley.ErrMalformed, sk.Type())
	}
	if hk.KEM().ID() != hpke.MLKEM768X25519().ID() {
		return nil, fmt.Errorf("%w: HPKE key uses KEM %#04x, want MLKEM768-X25519", parley.ErrMalformed, hk.KEM().ID())
	}
	if len(storeKey) != StoreKeySize {
		return nil, fmt.Errorf("%w: store key is %d bytes, want %d", parley.ErrMalformed, len(storeKey), StoreKeySize)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, fmt.Errorf("%w: identity key: %w", parley.ErrMalformed, err)
	}
	person, err := NewPersonKeys(sk)
	if err != nil {
		return nil, err
	}
	return &Identity{Key: sk, PeerID: id, HPKE: hk, StoreKey: storeKey, Person: person}, nil
}

// Devices is the person's device list: the signed one held (DeviceList),
// or, for a person of one device, that device alone, as a list of Seq 0
// (the implicit list, which is never signed nor sent).
func (id *Identity) Devices() (DeviceList, error) {
	if id.DeviceList != nil {
		return ParseDeviceList(id.DeviceList)
	}
	return DeviceList{
		Person:  id.Person.Person(),
		Devices: []Device{{PeerID: id.PeerID, HPKEKey: id.HPKEPublicKey(), Name: id.DeviceName}},
		Author:  id.PeerID,
		Keys:    slices.Clone(id.Person.keys),
	}, nil
}

// HPKEPublicKey is the serialized HPKE public key that contacts encrypt to
// (it goes into the contact card).
func (id *Identity) HPKEPublicKey() []byte { return id.HPKE.PublicKey().Bytes() }

// ed25519PublicKey returns the Ed25519 key embedded in a peer ID. Only
// Ed25519 identities are accepted, and only in their canonical encoding, so
// that one key has exactly one peer ID and a signature check against the ID
// is a check against the key.
func ed25519PublicKey(p peer.ID) (ed25519.PublicKey, error) {
	pk, err := p.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: peer ID carries no public key: %w", parley.ErrMalformed, err)
	}
	if pk.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: peer ID key is %s, only Ed25519 is accepted", parley.ErrMalformed, pk.Type())
	}
	canon, err := peer.IDFromPublicKey(pk)
	if err != nil || canon != p {
		return nil, fmt.Errorf("%w: peer ID is not the canonical encoding of its key", parley.ErrMalformed)
	}
	raw, err := pk.Raw()
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: bad Ed25519 public key in peer ID", parley.ErrMalformed)
	}
	return ed25519.PublicKey(raw), nil
}

// peerIDFromBytes decodes a binary peer ID from the wire.
func peerIDFromBytes(b []byte) (peer.ID, error) {
	p, err := peer.IDFromBytes(b)
	if err != nil {
		return "", fmt.Errorf("%w: peer ID: %w", parley.ErrMalformed, err)
	}
	return p, nil
}

// sign signs a payload with the identity key.
func (id *Identity) sign(payload []byte) ([]byte, error) {
	sig, err := id.Key.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}
