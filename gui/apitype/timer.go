package apitype

import (
	"time"

	"github.com/parley-im/parley"
)

// PathTimer is a conversation's disappearing-messages timer: GET
// ?conversation= reads it, PUT (TimerRequest) sets it (TimerView either way).
const PathTimer = "/api/v1/timer"

// TimerRequest is the body of PUT /api/v1/timer.
type TimerRequest struct {
	// Conversation: a contact (name or peer ID) or a group (name or ID).
	Conversation string `json:"conversation"`
	// Seconds: 0 turns the timer off; else 30 to 31,536,000 (a year).
	Seconds uint32 `json:"seconds"`
}

// TimerView is a conversation's disappearing-messages timer: each text
// and file written while it is on is purged from every member's store
// Seconds after it was sent.
type TimerView struct {
	Conversation parley.ConversationID `json:"conversation"`
	// Seconds: 0 when off.
	Seconds uint32 `json:"seconds"`
	// SetBy, SetByName and SetAt: who set it and when; absent when it
	// was never set.
	SetBy     string     `json:"set_by,omitempty"`
	SetByName string     `json:"set_by_name,omitempty"`
	SetAt     *time.Time `json:"set_at,omitempty"`
}

// NewTimerView renders t; the caller knows the setter's name.
func NewTimerView(t parley.ConversationTimer, setByName string) TimerView {
	v := TimerView{Conversation: t.Conversation, Seconds: t.Seconds, SetBy: t.SetBy, SetByName: setByName}
	if t.SetBy != "" {
		at := t.HLC.Time().UTC()
		v.SetAt = &at
	}
	return v
}
