package apitype

// PathTyping: POST tells a conversation (a contact or a group, by name or
// ID) that the user is typing, or stopped (TypingRequest). The node rate
// limits what it sends; events of type "typing" report others'.
const PathTyping = "/api/v1/conversations/{conv}/typing"

// TypingRequest is POST PathTyping's body.
type TypingRequest struct {
	// Active: typing (true) or stopped (false: cleared, or sent).
	// Required.
	Active *bool `json:"active"`
}

// TypingView answers POST PathTyping.
type TypingView struct {
	// Sent: something went out. False when the rate limit held it back
	// (one "typing" per 3 s per conversation; a "stopped" only after a
	// "typing"), when typing indicators are off, or when the contact is
	// not connected now (typing never dials).
	Sent bool `json:"sent"`
}
