package apitype

import "github.com/parley-im/parley"

// MailboxView is one of the user's mailboxes: a node that holds their mail
// while they are offline.
type MailboxView struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	// The user's own mailboxes only: Generation is the deposit key's (POST
	// /api/v1/mailbox-reset moves it on); Revoked the peer IDs of the
	// contacts whose capability there is revoked.
	Generation uint32   `json:"generation,omitempty"`
	Revoked    []string `json:"revoked,omitempty"`
}

// NewMailboxView renders m.
func NewMailboxView(m parley.Mailbox) MailboxView {
	addrs := m.Addrs
	if addrs == nil {
		addrs = []string{}
	}
	return MailboxView{PeerID: m.PeerID, Addrs: addrs, Generation: m.Generation, Revoked: m.Revoked}
}

// ResetMailboxRequest is the body of POST /api/v1/mailbox-reset: the
// mailbox to move to a new deposit key, or none for all of them.
type ResetMailboxRequest struct {
	PeerID string `json:"peer_id,omitempty"`
}

// AddMailboxRequest is the body of POST /api/v1/mailboxes: the mailbox's
// address (a multiaddr ending in /p2p/ID) or its node's invite code.
type AddMailboxRequest struct {
	Addr string `json:"addr"`
}
