package apitype

import "github.com/parley-im/parley"

// MailboxView is one of the user's mailboxes: a node that holds their mail
// while they are offline.
type MailboxView struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
}

// NewMailboxView renders m.
func NewMailboxView(m parley.Mailbox) MailboxView {
	addrs := m.Addrs
	if addrs == nil {
		addrs = []string{}
	}
	return MailboxView{PeerID: m.PeerID, Addrs: addrs}
}

// AddMailboxRequest is the body of POST /api/v1/mailboxes: the mailbox's
// address (a multiaddr ending in /p2p/ID) or its node's invite code.
type AddMailboxRequest struct {
	Addr string `json:"addr"`
}
