package apitype

import "github.com/parley-im/parley"

// PathActions replies to, edits, deletes or reacts to a message.
const PathActions = "/api/v1/actions"

// ActionRequest is the body of POST /api/v1/actions: do something to a
// message of a conversation.
type ActionRequest struct {
	// Action: reply, edit, delete or react.
	Action parley.ActionKind `json:"action"`
	// Conversation: a contact (name or peer ID) or a group (name or ID).
	Conversation string `json:"conversation"`
	// Message: the message's ID, or a unique prefix of it (4+ hex).
	Message string `json:"message"`
	// Text: a reply's or an edit's.
	Text string `json:"text,omitempty"`
	// ForEveryone: delete for every member (author, or a group admin),
	// not only here.
	ForEveryone bool `json:"for_everyone,omitempty"`
	// Emoji and Remove: a reaction, and whether it is withdrawn.
	Emoji  string `json:"emoji,omitempty"`
	Remove bool   `json:"remove,omitempty"`
}
