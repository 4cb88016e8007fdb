// Package api holds the wire types of Parley's local HTTP API: the JSON
// views the server writes and the client reads, the error body, the routes
// and the API file. Server (package gui) and client (package gui/client)
// both import it, so the two cannot drift apart.
//
// Views add what a screen needs to the domain types (display names,
// presence, safety numbers, a wall-clock time) and nothing the node keeps
// private (no keys beyond the contact's public HPKE key).
package api

import (
	"time"

	"github.com/parley-im/parley"
)

// Paths of the API, version 1. Placeholders in braces follow net/http's
// pattern syntax.
const (
	PathSelf          = "/api/v1/self"
	PathContacts      = "/api/v1/contacts"
	PathRequests      = "/api/v1/requests"
	PathAccept        = "/api/v1/requests/{peer}/accept"
	PathConversations = "/api/v1/conversations"
	PathMessages      = "/api/v1/messages"
	PathPeers         = "/api/v1/peers"
	PathStatus        = "/api/v1/status"
	PathEvents        = "/api/v1/events"
	PathLogin         = "/api/v1/login" // POST: a fresh one-time login URL
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
// parley.MaxTextBytes; the rest is room for JSON escaping.
const MaxBodyBytes = 64 << 10

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

// MessageView is a message as shown: the domain message plus display names
// and the sender's wall-clock time.
type MessageView struct {
	ID           parley.EnvelopeID     `json:"id"`
	Conversation parley.ConversationID `json:"conversation"`
	From         string                `json:"from"`
	FromName     string                `json:"from_name"`
	To           string                `json:"to"`
	ToName       string                `json:"to_name"`
	Outgoing     bool                  `json:"outgoing"`
	Text         string                `json:"text"`
	ReplyTo      *parley.EnvelopeID    `json:"reply_to,omitempty"`
	SentAt       time.Time             `json:"sent_at"` // RFC 3339 with nanoseconds, UTC
	HLC          parley.HLC            `json:"hlc"`
	Status       parley.Status         `json:"status"`
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
		Text:         m.Text,
		ReplyTo:      m.ReplyTo,
		SentAt:       m.SentAt().UTC(),
		HLC:          m.HLC,
		Status:       m.Status,
	}
}

// ConversationView is a conversation with its display name (for a DM, the
// other member's contact name; empty when the peer is not a contact).
type ConversationView struct {
	parley.Conversation
	Name string `json:"name"`
}

// EventView is one frame of the events WebSocket: a parley.Event whose
// message is rendered as a MessageView.
type EventView struct {
	Type    parley.EventType `json:"type"`
	Message *MessageView     `json:"message,omitempty"` // message, status
	PeerID  string           `json:"peer_id,omitempty"` // presence, request
	Online  bool             `json:"online,omitempty"`  // presence
}
