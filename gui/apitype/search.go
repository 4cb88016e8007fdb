package apitype

import "github.com/parley-im/parley"

// PathSearch searches the messages held here (GET, query q; optional
// conv and limit).
const PathSearch = "/api/v1/search"

// SearchView is the answer of GET /api/v1/search: the messages found,
// newest first.
type SearchView struct {
	Results []SearchResultView `json:"results"`
	// Indexing: messages stored before search existed are still being
	// indexed, so some may be missing from Results.
	Indexing bool `json:"indexing"`
}

// SearchResultView is one message found.
type SearchResultView struct {
	// Conversation and its name as the conversation list shows it (a
	// contact's name for a DM, the group's name).
	Conversation     parley.ConversationID   `json:"conversation"`
	ConversationKind parley.ConversationKind `json:"conversation_kind"`
	ConversationName string                  `json:"conversation_name"`
	// Message is the message as GET /api/v1/messages lists it (its
	// latest text, its author, when it was sent).
	Message MessageView `json:"message"`
	// Snippet is the text around the first match, on one line, "…" where
	// cut; Highlights are the matching words in it, [start, end) in
	// Unicode code points (characters, not UTF-16 units or bytes).
	Snippet    string   `json:"snippet"`
	Highlights [][2]int `json:"highlights"`
}
