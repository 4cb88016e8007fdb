package identity

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb/presencepb"
)

// Group typing (PROTOCOL.md §10.1): "Alice is typing" to a group's members,
// sealed so that only they read it and signed so that none can speak for
// another. It is never an envelope: no ID, no store, no sync.

const (
	groupTypingInfo      = "parley/group-typing/v1"
	groupTypingSigPrefix = "parley/group-typing/v1\x00"
	// MaxGroupTypingSize bounds a sealed group typing message: a peer ID,
	// a signature and field headers, sealed; anything larger is refused
	// before decryption.
	MaxGroupTypingSize = 256
)

// typingKey derives the group typing key from an epoch key, so that typing
// and envelopes never share an AEAD key.
func typingKey(key *SendKey) ([]byte, error) {
	return hkdf.Key(sha256.New, key.Key[:], nil, groupTypingInfo, chacha20poly1305.KeySize)
}

func groupTypingSigned(group parley.ConversationID, keyID [KeyIDSize]byte, active bool, sentMs int64) []byte {
	b := make([]byte, 0, len(groupTypingSigPrefix)+len(group)+KeyIDSize+1+8)
	b = append(b, groupTypingSigPrefix...)
	b = append(b, group[:]...)
	b = append(b, keyID[:]...)
	if active {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return binary.BigEndian.AppendUint64(b, uint64(sentMs))
}

// SealGroupTyping seals "typing" (active) or "stopped" for group under the
// epoch key, signed by us and dated now.
func (id *Identity) SealGroupTyping(group parley.ConversationID, key *SendKey, active bool, now time.Time) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("group typing: no key")
	}
	ms := now.UnixMilli()
	sig, err := id.sign(groupTypingSigned(group, key.ID, active, ms))
	if err != nil {
		return nil, err
	}
	plain, err := proto.MarshalOptions{Deterministic: true}.Marshal(&presencepb.GroupTypingBody{
		Active: active, SentUnixMs: ms, Sender: []byte(id.PeerID), Signature: sig,
	})
	if err != nil {
		return nil, err
	}
	k, err := typingKey(key)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(k)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	_, _ = rand.Read(nonce)
	ct := aead.Seal(nil, nonce, plain, envelopeAAD(group[:], key.ID[:]))
	return proto.MarshalOptions{Deterministic: true}.Marshal(&presencepb.GroupTyping{KeyId: key.ID[:], Nonce: nonce, Ciphertext: ct})
}

// GroupTyping is an opened group typing message.
type GroupTyping struct {
	Sender peer.ID
	Active bool
	Sent   time.Time
}

// GroupTypingKeyID reads which epoch key sealed raw, so the caller can find
// it; parley.ErrMalformed for bytes that are no group typing message.
func GroupTypingKeyID(raw []byte) ([KeyIDSize]byte, error) {
	var gt presencepb.GroupTyping
	if err := parseGroupTyping(raw, &gt); err != nil {
		return [KeyIDSize]byte{}, err
	}
	return [KeyIDSize]byte(gt.KeyId), nil
}

func parseGroupTyping(raw []byte, gt *presencepb.GroupTyping) error {
	if len(raw) > MaxGroupTypingSize {
		return fmt.Errorf("%w: group typing of %d bytes, over %d", parley.ErrMalformed, len(raw), MaxGroupTypingSize)
	}
	if err := proto.Unmarshal(raw, gt); err != nil {
		return fmt.Errorf("%w: group typing: %w", parley.ErrMalformed, err)
	}
	if len(gt.KeyId) != KeyIDSize || len(gt.Nonce) != chacha20poly1305.NonceSizeX {
		return fmt.Errorf("%w: group typing: bad key ID or nonce size", parley.ErrMalformed)
	}
	return nil
}

// OpenGroupTyping opens raw, sealed for group under key (the epoch
// GroupTypingKeyID named), and checks its signature: parley.ErrMalformed
// or parley.ErrBadSignature. It says nothing about membership or age: the
// caller judges those.
func OpenGroupTyping(raw []byte, group parley.ConversationID, key *SendKey) (GroupTyping, error) {
	var gt presencepb.GroupTyping
	if err := parseGroupTyping(raw, &gt); err != nil {
		return GroupTyping{}, err
	}
	if key == nil || [KeyIDSize]byte(gt.KeyId) != key.ID {
		return GroupTyping{}, fmt.Errorf("%w: group typing sealed under key %x, not this one", parley.ErrMalformed, gt.KeyId)
	}
	k, err := typingKey(key)
	if err != nil {
		return GroupTyping{}, err
	}
	aead, err := chacha20poly1305.NewX(k)
	if err != nil {
		return GroupTyping{}, err
	}
	plain, err := aead.Open(nil, gt.Nonce, gt.Ciphertext, envelopeAAD(group[:], gt.KeyId))
	if err != nil {
		return GroupTyping{}, fmt.Errorf("%w: group typing does not decrypt", parley.ErrMalformed)
	}
	var body presencepb.GroupTypingBody
	if err := proto.Unmarshal(plain, &body); err != nil {
		return GroupTyping{}, fmt.Errorf("%w: group typing body: %w", parley.ErrMalformed, err)
	}
	sender, err := peerIDFromBytes(body.Sender)
	if err != nil {
		return GroupTyping{}, err
	}
	pub, err := ed25519PublicKey(sender)
	if err != nil {
		return GroupTyping{}, err
	}
	if len(body.Signature) != ed25519.SignatureSize ||
		!ed25519.Verify(pub, groupTypingSigned(group, key.ID, body.Active, body.SentUnixMs), body.Signature) {
		return GroupTyping{}, fmt.Errorf("%w: group typing not signed by %s", parley.ErrBadSignature, sender)
	}
	return GroupTyping{Sender: sender, Active: body.Active, Sent: time.UnixMilli(body.SentUnixMs)}, nil
}
