package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

// Group crypto. A group ID commits to its creator, so no one else can
// present a CREATE for it; group keys are random, one per epoch, and named
// by a hash that binds them to their group. Envelopes of a group are sealed
// with SealEnvelope under a GroupKey (no encapsulation: keys travel in
// GroupKeys bodies over DMs).

// Limits on group bodies.
const (
	// MaxGroupKeys caps the keys in one GroupKeys body: a long-lived group
	// that rekeys more often hands over its newest keys only.
	MaxGroupKeys = 256
	// MaxGroupMembersHint caps the member list an invite carries.
	MaxGroupMembersHint = 64
	groupNonceSize      = 32
)

const (
	groupIDPrefix    = "parley/group-id/v1\x00"
	groupKeyIDPrefix = "parley/group-key/v1\x00"
)

// NewGroupID makes a fresh group ID for creator, and the nonce its CREATE
// op carries to prove it.
func NewGroupID(creator peer.ID) (parley.ConversationID, []byte) {
	nonce := make([]byte, groupNonceSize)
	rand.Read(nonce)
	return GroupIDOf(creator, nonce), nonce
}

// GroupIDOf is SHA-256(prefix || creator || nonce).
func GroupIDOf(creator peer.ID, nonce []byte) parley.ConversationID {
	h := sha256.New()
	h.Write([]byte(groupIDPrefix))
	h.Write([]byte(creator))
	h.Write(nonce)
	var id parley.ConversationID
	h.Sum(id[:0])
	return id
}

// GroupKeyID names a group key: SHA-256(prefix || group || key)[:16]. A
// member given a key checks it against its ID, and no key of one group is
// ever taken for another's.
func GroupKeyID(group parley.ConversationID, key [32]byte) [KeyIDSize]byte {
	h := sha256.New()
	h.Write([]byte(groupKeyIDPrefix))
	h.Write(group[:])
	h.Write(key[:])
	return [KeyIDSize]byte(h.Sum(nil))
}

// NewGroupKey makes a fresh epoch key for group.
func NewGroupKey(group parley.ConversationID) *SendKey {
	k := &SendKey{}
	rand.Read(k.Key[:])
	k.ID = GroupKeyID(group, k.Key)
	return k
}

// GroupKeyFrom checks a key received in a GroupKeys body against its ID.
func GroupKeyFrom(group parley.ConversationID, gk *pb.GroupKey) (*SendKey, error) {
	if len(gk.GetKey()) != 32 || len(gk.GetKeyId()) != KeyIDSize {
		return nil, fmt.Errorf("%w: group key of %d bytes with an ID of %d", parley.ErrMalformed, len(gk.GetKey()), len(gk.GetKeyId()))
	}
	k := &SendKey{Key: [32]byte(gk.Key)}
	k.ID = GroupKeyID(group, k.Key)
	if string(k.ID[:]) != string(gk.KeyId) {
		return nil, fmt.Errorf("%w: group key does not match its ID", parley.ErrMalformed)
	}
	return k, nil
}

func checkGroupOp(op *pb.GroupOp) error {
	if op == nil {
		return fmt.Errorf("%w: empty group op", parley.ErrMalformed)
	}
	needMember := false
	switch op.Type {
	case pb.GroupOp_TYPE_CREATE:
		if len(op.Nonce) != groupNonceSize {
			return fmt.Errorf("%w: group create nonce is %d bytes, want %d", parley.ErrMalformed, len(op.Nonce), groupNonceSize)
		}
		if err := checkGroupName(op.Name); err != nil {
			return err
		}
		if err := checkMemberCard(op); err != nil {
			return err
		}
		if _, ok := pb.GroupOp_History_name[int32(op.History)]; !ok {
			return fmt.Errorf("%w: group history setting %d", parley.ErrMalformed, op.History)
		}
	case pb.GroupOp_TYPE_ADD:
		needMember = true
		if err := checkMemberCard(op); err != nil {
			return err
		}
		if op.Role != pb.GroupOp_ROLE_MEMBER && op.Role != pb.GroupOp_ROLE_ADMIN {
			return fmt.Errorf("%w: group role %d", parley.ErrMalformed, op.Role)
		}
	case pb.GroupOp_TYPE_REMOVE:
		needMember = true
	case pb.GroupOp_TYPE_LEAVE:
	case pb.GroupOp_TYPE_RENAME:
		if err := checkGroupName(op.Name); err != nil {
			return err
		}
	case pb.GroupOp_TYPE_ROLE:
		needMember = true
		if op.Role != pb.GroupOp_ROLE_MEMBER && op.Role != pb.GroupOp_ROLE_ADMIN {
			return fmt.Errorf("%w: group role %d", parley.ErrMalformed, op.Role)
		}
	case pb.GroupOp_TYPE_SETTINGS:
		if op.History != pb.GroupOp_HISTORY_SHARED && op.History != pb.GroupOp_HISTORY_HIDDEN {
			return fmt.Errorf("%w: group history setting %d", parley.ErrMalformed, op.History)
		}
	default:
		return fmt.Errorf("%w: group op type %d is not known", parley.ErrMalformed, op.Type)
	}
	if needMember {
		if _, err := peerIDFromBytes(op.Member); err != nil {
			return fmt.Errorf("group op member: %w", err)
		}
	}
	return nil
}

func checkMemberCard(op *pb.GroupOp) error {
	if len(op.MemberHpkeKey) != hpkePublicKeySize {
		return fmt.Errorf("%w: group member key is %d bytes, want %d", parley.ErrMalformed, len(op.MemberHpkeKey), hpkePublicKeySize)
	}
	return CheckName(op.MemberName)
}

func checkGroupName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty group name", parley.ErrMalformed)
	}
	return CheckName(name)
}

func checkGroupKeys(gk *pb.GroupKeys) error {
	if gk == nil {
		return fmt.Errorf("%w: empty group keys", parley.ErrMalformed)
	}
	if len(gk.GroupId) != len(parley.ConversationID{}) {
		return fmt.Errorf("%w: group ID is %d bytes, want 32", parley.ErrMalformed, len(gk.GroupId))
	}
	if err := checkGroupName(gk.Name); err != nil {
		return err
	}
	if n := len(gk.Keys); n == 0 || n > MaxGroupKeys {
		return fmt.Errorf("%w: %d group keys, want 1 to %d", parley.ErrMalformed, n, MaxGroupKeys)
	}
	group := parley.ConversationID(gk.GroupId)
	for _, k := range gk.Keys {
		if _, err := GroupKeyFrom(group, k); err != nil {
			return err
		}
	}
	if len(gk.Members) > MaxGroupMembersHint {
		return fmt.Errorf("%w: group keys list %d members, over %d", parley.ErrMalformed, len(gk.Members), MaxGroupMembersHint)
	}
	for _, m := range gk.Members {
		if _, err := peerIDFromBytes(m); err != nil {
			return fmt.Errorf("group keys member: %w", err)
		}
	}
	return nil
}
