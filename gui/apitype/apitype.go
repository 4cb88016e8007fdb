// Package apitype holds the wire types of Parley's local HTTP API: the JSON
// views the server writes and the client reads, the error body, the routes
// and the API file. Server (package gui/localapi) and client (package gui/client)
// both import it, so the two cannot drift apart.
//
// Views add what a screen needs to the domain types (display names,
// presence, safety numbers, a wall-clock time) and nothing the node keeps
// private (no keys beyond the contact's public HPKE key).
package apitype

import (
	"time"

	"github.com/parley-im/parley"
)

// Paths of the API, version 1. Placeholders in braces follow net/http's
// pattern syntax.
const (
	PathSelf          = "/api/v1/self"        // GET: who we are; PUT: set the display name
	PathSelfQR        = "/api/v1/self/qr.svg" // GET: the invite code as a QR code (SVG)
	PathContacts      = "/api/v1/contacts"
	PathRequests      = "/api/v1/requests"
	PathAccept        = "/api/v1/requests/{peer}/accept"
	PathConversations = "/api/v1/conversations"
	PathMessages      = "/api/v1/messages"
	PathPeers         = "/api/v1/peers"
	PathStatus        = "/api/v1/status"
	PathEvents        = "/api/v1/events"
	PathLogin         = "/api/v1/login"  // POST: a fresh one-time login URL
	PathLogout        = "/api/v1/logout" // POST: forget this browser's session cookie

	// {group} is a group ID (hex) or an unambiguous group name, {member} a
	// contact name or a peer ID; clients path-escape both.
	PathGroups        = "/api/v1/groups"         // GET: joined, left, removed; POST: create
	PathGroupInvites  = "/api/v1/groups/invites" // GET: pending invitations
	PathGroupInvite   = "/api/v1/groups/{group}/invite"
	PathGroupAccept   = "/api/v1/groups/{group}/accept"
	PathGroupDecline  = "/api/v1/groups/{group}/decline"
	PathGroupLeave    = "/api/v1/groups/{group}/leave"
	PathGroupMembers  = "/api/v1/groups/{group}/members"
	PathGroupMember   = "/api/v1/groups/{group}/members/{member}" // DELETE: remove
	PathGroupRole     = "/api/v1/groups/{group}/members/{member}/role"
	PathGroupRename   = "/api/v1/groups/{group}/rename"
	PathGroupMessages = "/api/v1/groups/{group}/messages"

	// {id} is a file's ID (32 hex characters).
	PathFiles      = "/api/v1/files"        // GET: every file, ours and theirs; POST: offer a file on the node's disk
	PathFileUpload = "/api/v1/files/upload" // POST ?to=&name=, the bytes as the body: offer them (browsers)
	PathFile       = "/api/v1/files/{id}"
	PathFileAccept = "/api/v1/files/{id}/accept"
	PathFileCancel = "/api/v1/files/{id}/cancel"
	// GET: a complete file's bytes, as application/octet-stream for
	// download; ?inline=1 serves a PNG, JPEG, GIF or WebP image as itself,
	// for previews (never HTML or SVG, which could run script here).
	PathFileContent = "/api/v1/files/{id}/content"
	PathSettings    = "/api/v1/settings" // GET; PUT: change the auto-accept limit, the public DHT
)

// FileName is the API file in the data dir. The server writes it (mode
// 0600) when it starts and removes it when it stops; clients read it to find
// the server.
const FileName = "api.json"

// File is the content of the API file.
type File struct {
	URL   string `json:"url"`   // http://127.0.0.1:PORT
	Token string `json:"token"` // bearer token, fresh on every start
}

// MaxBodyBytes caps a request body. A message's text is at most
// parley.MaxTextBytes; the rest is room for JSON escaping. The upload route
// (PathFileUpload) alone takes more: a whole file, streamed to disk.
const MaxBodyBytes = 64 << 10

// SelfView is what GET /api/v1/self answers: the node's Self, and whether
// its user has chosen a name yet (a GUI asks for one on first run).
type SelfView struct {
	parley.Self
	Named bool `json:"named"`
}

// SetNameRequest is the body of PUT /api/v1/self.
type SetNameRequest struct {
	Name string `json:"name"`
}

// ContactView is a contact (or a request) with what the UI shows beside it.
type ContactView struct {
	parley.Contact
	Online bool `json:"online"`
	// SafetyNumber is empty when it cannot be computed (a contact without
	// a known key); the UI then has nothing to compare.
	SafetyNumber string `json:"safety_number"`
}

// AddContactRequest is the body of POST /api/v1/contacts.
type AddContactRequest struct {
	Invite string `json:"invite"`
	Name   string `json:"name,omitempty"` // overrides the name on the card
}

// SendRequest is the body of POST /api/v1/messages.
type SendRequest struct {
	To   string `json:"to"` // contact name or peer ID
	Text string `json:"text"`
}

// CreateGroupRequest is the body of POST /api/v1/groups.
type CreateGroupRequest struct {
	Name string `json:"name"`
}

// InviteToGroupRequest is the body of POST /api/v1/groups/{group}/invite.
type InviteToGroupRequest struct {
	Contact string `json:"contact"` // contact name or peer ID
}

// RenameGroupRequest is the body of POST /api/v1/groups/{group}/rename.
type RenameGroupRequest struct {
	Name string `json:"name"`
}

// SetGroupRoleRequest is the body of POST
// /api/v1/groups/{group}/members/{member}/role.
type SetGroupRoleRequest struct {
	Role parley.Role `json:"role"` // admin or member
}

// GroupSendRequest is the body of POST /api/v1/groups/{group}/messages.
type GroupSendRequest struct {
	Text string `json:"text"`
}

// SendFileRequest is the body of POST /api/v1/files.
type SendFileRequest struct {
	To   string `json:"to"`   // a contact (name or peer ID) or a group (name or ID)
	Path string `json:"path"` // absolute path of a regular file on the node's machine
}

// SettingsRequest is the body of PUT /api/v1/settings. A field left out
// (null) stays as it is; at least one is required.
type SettingsRequest struct {
	// AutoAcceptBytes: files from contacts up to this size are fetched
	// without asking; 0 or -1: never.
	AutoAcceptBytes *int64 `json:"auto_accept_bytes,omitempty"`
	// PublicDHT joins (true) or leaves (false) the public IPFS DHT, now
	// and after restarts. Joining is refused in a private network
	// (409, code "private_network").
	PublicDHT *bool `json:"public_dht,omitempty"`
}

// FileView is a file offered in a conversation, by us or to us, with the
// sender's display name. For our own offers, BytesDone counts the bytes
// uploaded at least once and ServedBytes everything uploaded since the
// node started (a resumed download costs only its missing chunks).
type FileView struct {
	parley.File
	FromName string `json:"from_name"`
}

// MessageView is a message as shown: the domain message plus display names
// and the sender's wall-clock time. A group message has no recipient: To and
// ToName are empty, Conversation is the group's ID.
type MessageView struct {
	ID           parley.EnvelopeID     `json:"id"`
	Conversation parley.ConversationID `json:"conversation"`
	From         string                `json:"from"`
	FromName     string                `json:"from_name"`
	To           string                `json:"to"`
	ToName       string                `json:"to_name"`
	Outgoing     bool                  `json:"outgoing"`
	// Kind is "text" or "file"; a file's Text is its name and FileID
	// names it (GET /api/v1/files/{file_id}).
	Kind    parley.Kind        `json:"kind"`
	Text    string             `json:"text"`
	FileID  string             `json:"file_id,omitempty"`
	ReplyTo *parley.EnvelopeID `json:"reply_to,omitempty"`
	SentAt  time.Time          `json:"sent_at"` // RFC 3339 with nanoseconds, UTC
	HLC     parley.HLC         `json:"hlc"`
	Status  parley.Status      `json:"status"`
}

// NewMessageView renders m; the caller knows the names (it resolved the
// peers once for a whole page of messages).
func NewMessageView(m parley.Message, fromName, toName string) MessageView {
	return MessageView{
		ID:           m.ID,
		Conversation: m.Conversation,
		From:         m.From,
		FromName:     fromName,
		To:           m.To,
		ToName:       toName,
		Outgoing:     m.Outgoing,
		Kind:         m.Kind,
		Text:         m.Text,
		FileID:       m.FileID,
		ReplyTo:      m.ReplyTo,
		SentAt:       m.SentAt().UTC(),
		HLC:          m.HLC,
		Status:       m.Status,
	}
}

// ConversationView is a conversation with its display name: for a DM, the
// other member's contact name (empty when the peer is not a contact); for a
// group, the group's name.
type ConversationView struct {
	parley.Conversation
	Name string `json:"name"`
	// Online: for a DM, whether the peer is connected now; always false
	// for a group.
	Online bool `json:"online"`
	// Last is the newest message, for a preview; nil when there is none
	// (or it could not be read).
	Last *MessageView `json:"last,omitempty"`
}

// GroupView is a group with what the UI shows beside it.
type GroupView struct {
	parley.Group
	// InvitedByName is the inviter's contact name; empty when unknown.
	InvitedByName string `json:"invited_by_name,omitempty"`
	// LastMessageAt is the newest message's wall-clock time (LastHLC's),
	// RFC 3339 in UTC; omitted for a group without messages.
	LastMessageAt time.Time `json:"last_message_at,omitzero"`
}

// NewGroupView renders g; the caller knows the inviter's name.
func NewGroupView(g parley.Group, invitedByName string) GroupView {
	v := GroupView{Group: g, InvitedByName: invitedByName}
	if g.LastHLC != 0 {
		v.LastMessageAt = g.LastHLC.Time().UTC()
	}
	return v
}

// GroupMemberView is a group member and whether it is online. Self is
// always written, so a client need not treat a missing field as false.
type GroupMemberView struct {
	PeerID  string      `json:"peer_id"`
	Name    string      `json:"name"`
	Role    parley.Role `json:"role"`
	AddedBy string      `json:"added_by"`
	Self    bool        `json:"self"`
	Online  bool        `json:"online"`
}

// NewGroupMemberView renders m.
func NewGroupMemberView(m parley.GroupMember, online bool) GroupMemberView {
	return GroupMemberView{PeerID: m.PeerID, Name: m.Name, Role: m.Role, AddedBy: m.AddedBy, Self: m.Self, Online: online}
}

// EventView is one frame of the events WebSocket: a parley.Event whose
// message is rendered as a MessageView, whose group as a GroupView and
// whose file as a FileView.
type EventView struct {
	Type    parley.EventType `json:"type"`
	Message *MessageView     `json:"message,omitempty"` // message, status
	PeerID  string           `json:"peer_id,omitempty"` // presence, request
	Online  bool             `json:"online,omitempty"`  // presence
	Group   *GroupView       `json:"group,omitempty"`   // group
	File    *FileView        `json:"file,omitempty"`    // file: offered, progress, complete, failed, cancelled
	// Conversation was read elsewhere (read): refetch unread counts.
	Conversation parley.ConversationID `json:"conversation,omitzero"`
}
