package parley

import "time"

// Pending contacts: a short invite whose owner could not be reached when
// it was added is kept, and the node adds its owner once they are
// reachable (node/pending_invites.go).

const (
	// ContactPending: a short invite added while its owner was not
	// reachable; the node keeps trying and adds them once it fetches their
	// card. Only pending contacts (PendingContact) have this state.
	ContactPending ContactState = "pending"
	// ContactRefused: the owner of a pending invite refused it (they made
	// a new code): it stays, so the user sees why, until they remove it or
	// add a new code of that person.
	ContactRefused ContactState = "refused"
)

// Pending contacts' limits.
const (
	// MaxPendingContacts bounds how many pending contacts are kept.
	MaxPendingContacts = 100
	// PendingContactTTL: a pending contact not added by then is dropped.
	PendingContactTTL = 30 * 24 * time.Hour
)

// PendingContact is a short invite waiting for its owner to be reachable.
type PendingContact struct {
	PeerID string // the invite's owner
	// Name is the name the user typed when adding the invite, or empty
	// (then the name on the card fetched).
	Name    string
	Invite  string       // the short code, as the user gave it
	State   ContactState // ContactPending or ContactRefused
	AddedAt time.Time    // when the user first added it; it expires PendingContactTTL later
	// LastError says why the last attempt failed, for the user.
	LastError string
}

// Note is the line shown beside a pending contact.
func (p PendingContact) Note() string {
	if p.State == ContactRefused {
		return "refused: the code was reset, ask for a new one"
	}
	return "pending: Parley will add them once their node is reachable"
}

// ExpiresAt is when the node gives up on a pending contact.
func (p PendingContact) ExpiresAt() time.Time { return p.AddedAt.Add(PendingContactTTL) }
