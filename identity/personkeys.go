package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

// MaxSuccessions bounds a person's chain of keys, and so the work of
// verifying a device list (two signatures a link). The chain grows by one
// link (247 bytes in a list) when the first device links a second and on
// each revocation. MaxDeviceListSize usually binds first: see
// TestDeviceListLargestFits.
const MaxSuccessions = 64

// successionSigContext prefixes what both signatures of a succession cover.
const successionSigContext = "parley/succession/v1\x00"

// PersonKeys is a person's chain of keys as one of its devices holds it: the
// person ID, the successions from the first key to the current one, and the
// current key's private half, which signs the person's device lists
// (SignDeviceList). See docs/design-notes.md, "Linked devices".
//
// The person ID is the peer ID of the first key and never changes. Every
// later key comes by a succession signed by both the key before it and
// itself (Rotate), so that a contact who knows only the person ID can follow
// the chain to the key that signed a list.
//
// A PersonKeys is immutable: Rotate returns a new one.
type PersonKeys struct {
	person peer.ID
	keys   []ed25519.PublicKey    // keys[0] is inside person; keys[i+1] comes by chain[i]
	chain  []*pb.SignedSuccession // never modified once built
	key    crypto.PrivKey         // the private half of keys[len(keys)-1]
}

// NewPersonKeys makes the keys of a person whose only key is its first
// device's own key: every node before linked devices, and every new
// install. The person ID is then the device's peer ID.
func NewPersonKeys(first crypto.PrivKey) (*PersonKeys, error) {
	person, pub, err := ed25519Key(first)
	if err != nil {
		return nil, fmt.Errorf("person keys: %w", err)
	}
	return &PersonKeys{person: person, keys: []ed25519.PublicKey{pub}, key: first}, nil
}

// RestorePersonKeys rebuilds PersonKeys from what Successions and Key gave
// (from the keystore, or sent by another of the person's devices). It
// verifies the chain as ParseDeviceList does, and that key is the chain's
// last.
func RestorePersonKeys(person peer.ID, key crypto.PrivKey, successions [][]byte) (*PersonKeys, error) {
	first, err := ed25519PublicKey(person)
	if err != nil {
		return nil, fmt.Errorf("person keys: %w", err)
	}
	chain := make([]*pb.SignedSuccession, len(successions))
	for i, b := range successions {
		chain[i] = &pb.SignedSuccession{}
		if err := proto.Unmarshal(b, chain[i]); err != nil {
			return nil, fmt.Errorf("%w: person keys: succession %d: %w", parley.ErrMalformed, i+1, err)
		}
	}
	keys, err := verifyChain(person, first, chain)
	if err != nil {
		return nil, fmt.Errorf("person keys: %w", err)
	}
	_, pub, err := ed25519Key(key)
	if err != nil {
		return nil, fmt.Errorf("person keys: %w", err)
	}
	if !pub.Equal(keys[len(keys)-1]) {
		return nil, fmt.Errorf("%w: person keys: the private key is not person key %d, the chain's last", parley.ErrMalformed, len(keys)-1)
	}
	return &PersonKeys{person: person, keys: keys, chain: chain, key: key}, nil
}

// Person is the person ID: the peer ID of the first key.
func (k *PersonKeys) Person() peer.ID { return k.person }

// Index is the position of the current key in the chain: 0 for the key
// inside the person ID, n after n successions.
func (k *PersonKeys) Index() uint32 { return uint32(len(k.chain)) }

// Key is the current person key. It goes to the person's other devices
// (linking), never to anyone else.
func (k *PersonKeys) Key() crypto.PrivKey { return k.key }

// Successions is the chain, each link an encoded SignedSuccession, in order:
// what RestorePersonKeys takes back.
func (k *PersonKeys) Successions() [][]byte {
	out := make([][]byte, len(k.chain))
	for i, s := range k.chain {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
		if err != nil { // unreachable: a message of bytes fields always encodes
			panic(fmt.Sprintf("encode succession: %v", err))
		}
		out[i] = b
	}
	return out
}

// Rotate makes a new person key and hands the current one over to it by a
// succession that both sign. The device list signed next must be signed by
// the new key (SignDeviceList with the result). It happens when the first
// device links a second (so that the key it passes on is not its own device
// key) and on every revocation (so that the revoked device, which held the
// current key, cannot sign for the person any more).
func (k *PersonKeys) Rotate() (*PersonKeys, error) {
	next, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("rotate person key: %w", err)
	}
	return k.succeed(next)
}

// succeed hands the current key over to next: Rotate with the key given,
// so that tests can build chains that are the same on every run.
func (k *PersonKeys) succeed(next crypto.PrivKey) (*PersonKeys, error) {
	if len(k.chain) >= MaxSuccessions {
		return nil, fmt.Errorf("rotate person key: the chain has reached its limit of %d successions", MaxSuccessions)
	}
	_, nextPub, err := ed25519Key(next)
	if err != nil {
		return nil, fmt.Errorf("rotate person key: %w", err)
	}
	if slices.ContainsFunc(k.keys, func(key ed25519.PublicKey) bool { return key.Equal(nextPub) }) {
		return nil, fmt.Errorf("rotate person key: the new key is already in the chain")
	}
	s, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.Succession{
		PersonId: []byte(k.person),
		Index:    uint32(len(k.chain) + 1),
		PrevKey:  k.keys[len(k.keys)-1],
		NextKey:  nextPub,
	})
	if err != nil {
		return nil, fmt.Errorf("rotate person key: %w", err)
	}
	prevSig, err := k.key.Sign(successionSignedBytes(s))
	if err != nil {
		return nil, fmt.Errorf("rotate person key: %w", err)
	}
	nextSig, err := next.Sign(successionSignedBytes(s))
	if err != nil {
		return nil, fmt.Errorf("rotate person key: %w", err)
	}
	link := &pb.SignedSuccession{Succession: s, PrevSig: prevSig, NextSig: nextSig}
	return &PersonKeys{
		person: k.person,
		keys:   append(slices.Clip(k.keys), nextPub),
		chain:  append(slices.Clip(k.chain), link),
		key:    next,
	}, nil
}

// successionSignedBytes is what both signatures of a succession cover.
func successionSignedBytes(succession []byte) []byte {
	return append([]byte(successionSigContext), succession...)
}

// verifyChain follows a person's successions from the first key, the one
// inside the person ID, and returns the keys in order: keys[i] is person key
// i. Each link must be for this person, have the next index, start at the
// key the chain has reached, name a key not yet in the chain, and be signed
// by both its keys. Errors wrap parley.ErrMalformed, and also
// parley.ErrBadSignature when a signature fails.
func verifyChain(person peer.ID, first ed25519.PublicKey, chain []*pb.SignedSuccession) ([]ed25519.PublicKey, error) {
	if len(chain) > MaxSuccessions {
		return nil, fmt.Errorf("%w: chain of %d successions, over the limit of %d", parley.ErrMalformed, len(chain), MaxSuccessions)
	}
	keys := make([]ed25519.PublicKey, 1, len(chain)+1)
	keys[0] = first
	for i, link := range chain {
		n := i + 1 // the index this link must make
		var s pb.Succession
		if err := proto.Unmarshal(link.Succession, &s); err != nil {
			return nil, fmt.Errorf("%w: succession %d: %w", parley.ErrMalformed, n, err)
		}
		if !bytes.Equal(s.PersonId, []byte(person)) {
			return nil, fmt.Errorf("%w: succession %d is for another person", parley.ErrMalformed, n)
		}
		if s.Index != uint32(n) {
			return nil, fmt.Errorf("%w: succession %d of the chain has index %d: out of order", parley.ErrMalformed, n, s.Index)
		}
		if !bytes.Equal(s.PrevKey, keys[i]) {
			return nil, fmt.Errorf("%w: succession %d does not start at person key %d", parley.ErrMalformed, n, i)
		}
		if len(s.NextKey) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: succession %d: next key is %d bytes, want %d", parley.ErrMalformed, n, len(s.NextKey), ed25519.PublicKeySize)
		}
		next := ed25519.PublicKey(s.NextKey)
		// A key that came back would stand at two indexes: a list signed
		// by it could then claim either.
		if slices.ContainsFunc(keys, func(key ed25519.PublicKey) bool { return key.Equal(next) }) {
			return nil, fmt.Errorf("%w: succession %d names a key already in the chain", parley.ErrMalformed, n)
		}
		signed := successionSignedBytes(link.Succession)
		if !verifySig(keys[i], signed, link.PrevSig) {
			return nil, fmt.Errorf("%w: succession %d is not signed by person key %d (%w)", parley.ErrMalformed, n, i, parley.ErrBadSignature)
		}
		if !verifySig(next, signed, link.NextSig) {
			return nil, fmt.Errorf("%w: succession %d is not signed by its new key (%w)", parley.ErrMalformed, n, parley.ErrBadSignature)
		}
		keys = append(keys, next)
	}
	return keys, nil
}

// verifySig checks an Ed25519 signature; pub must be PublicKeySize bytes.
func verifySig(pub ed25519.PublicKey, msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, msg, sig)
}

// ed25519Key returns the peer ID and raw public key of an Ed25519 private
// key, and refuses any other kind.
func ed25519Key(k crypto.PrivKey) (peer.ID, ed25519.PublicKey, error) {
	if k == nil || k.Type() != cryptopb.KeyType_Ed25519 {
		return "", nil, fmt.Errorf("%w: the key is not an Ed25519 key", parley.ErrMalformed)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", parley.ErrMalformed, err)
	}
	pub, err := ed25519PublicKey(id)
	if err != nil {
		return "", nil, err
	}
	return id, pub, nil
}
