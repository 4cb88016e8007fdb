package apitype

import (
	"time"

	"github.com/parley-im/parley"
)

// Blocking, and a conversation's mute, archive and pin.
const (
	// PathBlocked lists (GET) the blocked peers and blocks one (POST).
	PathBlocked = "/api/v1/blocked"
	// PathBlockedPeer unblocks (DELETE) a peer, named by name or peer ID.
	PathBlockedPeer = "/api/v1/blocked/{peer}"
	// PathConversationState mutes, archives or pins a conversation (POST).
	PathConversationState = "/api/v1/conversations/state"
)

// BlockRequest is the body of POST /api/v1/blocked.
type BlockRequest struct {
	// Contact: a contact or a request (name or peer ID), or any peer ID.
	Contact string `json:"contact"`
}

// BlockedView is a blocked peer.
type BlockedView struct {
	PeerID string `json:"peer_id"`
	// Name: the contact's or request's name, when known.
	Name string    `json:"name,omitempty"`
	At   time.Time `json:"at,omitzero"`
	// Request: not an accepted contact when blocked.
	Request bool `json:"request"`
}

// NewBlockedView renders b.
func NewBlockedView(b parley.BlockedPeer) BlockedView {
	return BlockedView{PeerID: b.PeerID, Name: b.Name, At: b.At, Request: b.Request}
}

// ConversationStateRequest is the body of POST
// /api/v1/conversations/state; absent fields stay as they are.
type ConversationStateRequest struct {
	// Conversation: a contact or request (name or peer ID) or a group
	// (name or ID).
	Conversation string `json:"conversation"`
	Muted        *bool  `json:"muted,omitempty"`
	// MuteFor, with muted true: how long, as Go writes durations ("8h",
	// "90m"; "" or absent: until unmuted).
	MuteFor  string `json:"mute_for,omitempty"`
	Archived *bool  `json:"archived,omitempty"`
	Pinned   *bool  `json:"pinned,omitempty"`
}
