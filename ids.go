package parley

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ConversationID names a conversation. For a DM it is derived from the two
// peer IDs (see DMConversationID); for a group it is random.
type ConversationID [32]byte

// EnvelopeID is the SHA-256 of an envelope's encoded bytes. Because it is
// content-derived, every delivery path may retry freely.
type EnvelopeID [32]byte

// NewEnvelopeID hashes the encoded envelope.
func NewEnvelopeID(encoded []byte) EnvelopeID { return sha256.Sum256(encoded) }

// DMConversationID is the conversation between two peers. Both sides compute
// the same value: the peer IDs (text form) are sorted before hashing.
func DMConversationID(a, b string) ConversationID {
	if a > b {
		a, b = b, a
	}
	h := sha256.New()
	h.Write([]byte("parley/dm/v1\x00"))
	h.Write([]byte(a))
	h.Write([]byte{0})
	h.Write([]byte(b))
	var id ConversationID
	h.Sum(id[:0])
	return id
}

func (id ConversationID) String() string { return hex.EncodeToString(id[:]) }
func (id EnvelopeID) String() string     { return hex.EncodeToString(id[:]) }

// ParseConversationID reads the hex form written by String.
func ParseConversationID(s string) (ConversationID, error) {
	var id ConversationID
	return id, parseHex32(s, id[:], "conversation ID")
}

// ParseEnvelopeID reads the hex form written by String.
func ParseEnvelopeID(s string) (EnvelopeID, error) {
	var id EnvelopeID
	return id, parseHex32(s, id[:], "message ID")
}

// EnvelopeIDFromBytes copies a 32-byte wire value into an EnvelopeID.
func EnvelopeIDFromBytes(b []byte) (EnvelopeID, error) {
	var id EnvelopeID
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: message ID must be %d bytes, got %d", ErrMalformed, len(id), len(b))
	}
	copy(id[:], b)
	return id, nil
}

func parseHex32(s string, dst []byte, what string) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(dst) {
		return fmt.Errorf("%w: %s must be %d hex characters", ErrMalformed, what, 2*len(dst))
	}
	copy(dst, b)
	return nil
}

// MarshalText makes IDs render as hex in JSON.
func (id ConversationID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads the hex form.
func (id *ConversationID) UnmarshalText(b []byte) error {
	v, err := ParseConversationID(string(b))
	*id = v
	return err
}

// MarshalText makes IDs render as hex in JSON.
func (id EnvelopeID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads the hex form.
func (id *EnvelopeID) UnmarshalText(b []byte) error {
	v, err := ParseEnvelopeID(string(b))
	*id = v
	return err
}

// ClientID is the idempotency key of a send: 128 random bits a client
// (the CLI, the web app, a bot) picks for one message and repeats when it
// retries. The node stores the message once per ClientID and answers a
// repeat with the message stored the first time. It never leaves the node:
// it is no part of the envelope. The zero value means none.
type ClientID [16]byte

// NewClientID returns a fresh random ClientID.
func NewClientID() ClientID {
	var id ClientID
	rand.Read(id[:]) // never fails (crypto/rand, Go 1.24+)
	return id
}

func (id ClientID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is unset.
func (id ClientID) IsZero() bool { return id == ClientID{} }

// ParseClientID reads the hex form written by String (32 hex characters).
// An all-zero ID is refused: it means none.
func ParseClientID(s string) (ClientID, error) {
	var id ClientID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("%w: client ID must be %d hex characters", ErrMalformed, 2*len(id))
	}
	copy(id[:], b)
	if id.IsZero() {
		return id, fmt.Errorf("%w: client ID must not be all zeros", ErrMalformed)
	}
	return id, nil
}
