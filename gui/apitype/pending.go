package apitype

import (
	"time"

	"github.com/parley-im/parley"
)

// Pending contacts: short invite codes added while their owner was not
// reachable, which the node adds once they are. POST /api/v1/contacts
// answers 202 with a ContactView of state "pending" for such a code.
const (
	PathPendingContacts = "/api/v1/pending-contacts"           // GET: the pending contacts
	PathPendingContact  = "/api/v1/pending-contacts/{contact}" // DELETE: cancel one (peer ID or the name typed)
)

// PendingContactView is a pending contact. Its first fields are
// ContactView's, so that lists can show both alike.
type PendingContactView struct {
	PeerID string `json:"peer_id"`
	// Name is the name typed when adding the code; empty if none.
	Name string `json:"name"`
	// State is "pending" (the node keeps trying) or "refused" (the
	// inviter made a new code since: ask them for a new one).
	State     parley.ContactState `json:"state"`
	AddedAt   time.Time           `json:"added_at"`
	ExpiresAt time.Time           `json:"expires_at"` // dropped then if not added
	// Note is the line to show beside it.
	Note string `json:"note"`
	// LastError says why the last attempt failed.
	LastError string `json:"last_error,omitempty"`
}

// NewPendingContactView renders p (never its invite code, which carries
// the secret the inviter gave the user).
func NewPendingContactView(p parley.PendingContact) PendingContactView {
	return PendingContactView{PeerID: p.PeerID, Name: p.Name, State: p.State, AddedAt: p.AddedAt,
		ExpiresAt: p.ExpiresAt(), Note: p.Note(), LastError: p.LastError}
}
