package localapi

import (
	"context"
	"io"

	"github.com/parley-im/parley"
)

// The API reaches the node through these role interfaces, one per part of
// the API, so that a test fakes only the part it exercises. node.Messenger
// implements all of them; the API never reaches past them into libp2p or
// storage.
//
// A CONTACT argument is a contact name or a peer ID, which the node
// resolves (parley.ErrUnknownContact, parley.ErrAmbiguous, wrapped with the
// name); a GROUP argument is a group ID (hex) or an unambiguous group name,
// for which the node returns bare sentinels (parley.ErrUnknownGroup,
// parley.ErrAmbiguous) that the API names; a MEMBER argument is a contact
// name, a peer ID or the name a member has in the group.

// Messages is who we are, whom we know and what we wrote to them.
type Messages interface {
	// Self describes this node: peer ID, addresses, invite, fingerprint.
	Self() parley.Self
	// SetName changes the display name on our card (parley.ErrMalformed
	// for an empty or unusable name) and returns the new Self.
	SetName(ctx context.Context, name string) (parley.Self, error)
	// Devices lists the devices of the user's person (linked devices):
	// this node alone until it links another; This marks this node.
	Devices(ctx context.Context) ([]parley.Device, error)
	// ResetInvite makes a new invite secret, so that short codes given
	// out before are refused, and returns the new Self.
	ResetInvite(ctx context.Context) (parley.Self, error)
	// AddContact adds (or updates) the contact whose invite code is given;
	// name overrides the name on the card when non-empty. The warning, empty
	// when all is well, says whose name the contact's looks like.
	AddContact(ctx context.Context, invite, name string) (c parley.Contact, warning string, err error)
	// Contacts lists accepted contacts; Requests lists strangers who wrote.
	Contacts(ctx context.Context) ([]parley.Contact, error)
	Requests(ctx context.Context) ([]parley.Contact, error)
	// Accept turns a request into a contact.
	Accept(ctx context.Context, peerID string) (parley.Contact, error)
	// SetVerified marks an accepted contact verified after the user
	// compared safety numbers, or undoes it.
	SetVerified(ctx context.Context, contact string, verified bool) (parley.Contact, error)
	// Resolve finds a contact (or request) by name or peer ID.
	Resolve(ctx context.Context, contact string) (parley.Contact, error)
	// SafetyNumber of this node and a peer, to compare out of band.
	SafetyNumber(peerID string) (string, error)
	// Send stores the text durably and queues it; it returns once the
	// message would survive a crash, not when it is delivered. A non-zero
	// cid is the send's idempotency key: a repeat returns the message
	// stored the first time and sends nothing.
	Send(ctx context.Context, contact, text string, cid parley.ClientID) (parley.Message, error)
	// Messages returns a page of the conversation with a contact, in
	// display order (parley.Page; a cursor not in it is
	// parley.ErrNotFound). markRead marks the incoming messages of the
	// page read and queues read receipts, as when the user views them.
	Messages(ctx context.Context, contact string, p parley.Page, markRead bool) ([]parley.Message, error)
	// Act replies to, edits, deletes or reacts to a message of a
	// conversation (a contact or a group): the reply, or the message as
	// now seen. parley.ErrNotAuthor for an edit or delete the user may not
	// make, parley.ErrNotFound for an unknown message, parley.ErrAmbiguous
	// for a prefix that names several.
	Act(ctx context.Context, a parley.Action) (parley.Message, error)
	// MessageInfo tells when a message of a conversation (a contact or a
	// group) was sent, delivered to and read by each recipient, or why
	// not yet; errors as Act's.
	MessageInfo(ctx context.Context, conversation, msg string) (parley.MessageInfo, error)
	// Conversations lists DMs and groups, with unread counts.
	Conversations(ctx context.Context) ([]parley.Conversation, error)
	// PendingContacts: short codes waiting for their owner (pending.go).
	PendingContacts
}

// Groups is group chats.
type Groups interface {
	// CreateGroup starts a group with us as its only member and admin. The
	// node checks the name (parley.ErrMalformed).
	CreateGroup(ctx context.Context, name string) (parley.Group, error)
	// Groups lists the groups we belong to or belonged to (state joined,
	// left or removed), most recent first; GroupInvites lists pending
	// invitations.
	Groups(ctx context.Context) ([]parley.Group, error)
	GroupInvites(ctx context.Context) ([]parley.Group, error)
	// InviteToGroup adds a contact to the group (admins only,
	// parley.ErrNotAdmin) and sends them the group's keys; they see an
	// invite until they accept or decline.
	InviteToGroup(ctx context.Context, group, contact string) (parley.GroupMember, error)
	// AcceptGroup joins a group we were invited to; DeclineGroup leaves it.
	AcceptGroup(ctx context.Context, group string) (parley.Group, error)
	DeclineGroup(ctx context.Context, group string) error
	// GroupMembers lists the members, admins first, then by name.
	GroupMembers(ctx context.Context, group string) ([]parley.GroupMember, error)
	// RemoveFromGroup removes a member (admins only) and starts a new key
	// epoch, so the removed member reads nothing sent after.
	RemoveFromGroup(ctx context.Context, group, member string) error
	// RenameGroup renames a group (admins only; the node checks the name).
	RenameGroup(ctx context.Context, group, name string) (parley.Group, error)
	// SetGroupHistory sets whether members read what was written before
	// they joined (admins only, parley.ErrNotAdmin).
	SetGroupHistory(ctx context.Context, group string, h parley.GroupHistory) (parley.Group, error)
	// SetGroupRole makes a member an admin or a plain member (admins only,
	// parley.ErrNotAdmin; a role other than admin or member is
	// parley.ErrMalformed).
	SetGroupRole(ctx context.Context, group, member string, role parley.Role) (parley.GroupMember, error)
	// LeaveGroup leaves; the history stays readable here.
	LeaveGroup(ctx context.Context, group string) error
	// SendToGroup stores the text durably and publishes it to the
	// members; cid as for Send.
	SendToGroup(ctx context.Context, group, text string, cid parley.ClientID) (parley.Message, error)
	// GroupMessages returns a page of the group's messages in display
	// order (parley.Page); markRead marks the incoming ones of the page
	// read and queues read receipts (unless the user turned them off).
	GroupMessages(ctx context.Context, group string, p parley.Page, markRead bool) ([]parley.Message, error)
}

// Files is file transfer. A file ID is the 32 hex characters of an offer;
// an unknown one is parley.ErrNotFound.
type Files interface {
	// SendFile offers the file at path (absolute, on the node's machine)
	// to a contact or a group (a name, a peer ID or a group ID). It
	// returns once the offer is stored and queued; the file is served from
	// path until cancelled. parley.ErrUnknownContact, parley.ErrAmbiguous,
	// parley.ErrMalformed (not a regular file, too large).
	SendFile(ctx context.Context, to, path string) (parley.File, error)
	// Files lists the files offered by us and to us, newest first; File
	// describes one, with live progress.
	Files(ctx context.Context) ([]parley.File, error)
	File(ctx context.Context, id string) (parley.File, error)
	// AcceptFile fetches a file offered to us (again, after a failure):
	// parley.ErrNoSpace when the disk cannot hold it, parley.ErrMalformed
	// for our own offers and cancelled ones.
	AcceptFile(ctx context.Context, id string) (parley.File, error)
	// CancelFile stops a transfer, ours (no longer served) or theirs (the
	// partial data is deleted).
	CancelFile(ctx context.Context, id string) (parley.File, error)
}

// Network is the node's connections and the user's settings.
type Network interface {
	// Online reports whether the peer is connected now.
	Online(peerID string) bool
	// Peers lists connected peers.
	Peers() []parley.PeerInfo
	// Status reports the node's network state, for diagnostics.
	Status() parley.NetworkStatus
	// Settings reports the user's settings.
	Settings(ctx context.Context) parley.Settings
	// SetPublicDHT joins (on) or leaves the public IPFS DHT, now and after
	// restarts, and returns the new settings; joining is
	// parley.ErrPrivateNetwork with a swarm key.
	SetPublicDHT(ctx context.Context, on bool) (parley.Settings, error)
	// SetAutoAccept changes the size up to which files from contacts are
	// fetched without asking (0 or -1: never; below -1:
	// parley.ErrMalformed).
	SetAutoAccept(ctx context.Context, limit int64) (parley.Settings, error)
	// SetReadReceipts turns sending read receipts on or off, now and
	// after restarts.
	SetReadReceipts(ctx context.Context, on bool) (parley.Settings, error)
	// SetMailboxService starts (on) or stops the node's mailbox service,
	// now and after restarts; parley.ErrSetAtStart when a `parley run`
	// flag set it for this run.
	SetMailboxService(ctx context.Context, on bool) (parley.Settings, error)
	// The user's mailboxes are settings too.
	Mailboxes
}

// Mailboxes are the nodes that hold the user's mail while they are offline.
type Mailboxes interface {
	// Mailboxes lists them, in the order they were added.
	Mailboxes(ctx context.Context) ([]parley.Mailbox, error)
	// AddMailbox registers with the mailbox at addr (a multiaddr ending in
	// /p2p/ID, or its node's invite) and adds it; parley.ErrMalformed for
	// an address that is neither, parley.ErrMailboxUnavailable when the
	// mailbox is unreachable or refuses.
	AddMailbox(ctx context.Context, addr string) (parley.Mailbox, error)
	// RemoveMailbox takes a mailbox off the list (parley.ErrNotFound if it
	// is not on it).
	RemoveMailbox(ctx context.Context, peerID string) error
	// ResetMailbox moves the mailbox (peerID, or all for "") to the next
	// generation of its deposit key, revoking every capability issued
	// there, and sends contacts new ones; parley.ErrNotFound for a peer
	// not on the list, parley.ErrMailboxUnavailable when a mailbox could
	// not be told yet (the new key is kept).
	ResetMailbox(ctx context.Context, peerID string) ([]parley.Mailbox, error)
	// RevokeMailboxCapability revokes (revoke) or restores a contact's
	// capability to deposit at every mailbox of the user.
	RevokeMailboxCapability(ctx context.Context, contact string, revoke bool) (parley.Contact, error)
	// OfferMailbox offers this node to a contact as their mailbox, in a
	// DM (parley.ErrMailboxServiceOff unless the service is on).
	OfferMailbox(ctx context.Context, contact string) (parley.Message, error)
	// MailboxOffer reads a message of kind parley.KindMailboxOffer: the
	// mailbox offered and the user's answer.
	MailboxOffer(ctx context.Context, m parley.Message) (parley.MailboxOffer, error)
	// AcceptMailboxOffer adds the mailbox offered in message id (as
	// AddMailbox); DismissMailboxOffer closes the offer. An id that names
	// no offer to us is parley.ErrNotFound; one from a peer who is not a
	// contact, parley.ErrUnknownContact.
	AcceptMailboxOffer(ctx context.Context, id string) (parley.Mailbox, error)
	DismissMailboxOffer(ctx context.Context, id string) error
}

// Keystore is the node's keys on disk: the passphrase that seals them, and
// backups, which carry them.
type Keystore interface {
	// PassphraseState reports whether a passphrase is set, and whether
	// the GUI has offered to set one (it offers only once).
	PassphraseState(ctx context.Context) (set, offered bool, err error)
	// ChangePassphrase opens the keystore with old (empty when none is
	// set) and seals it with newPass (empty: in clear), atomically. A
	// wrong old is parley.ErrWrongPassphrase and changes nothing. It
	// counts as the offer made.
	ChangePassphrase(ctx context.Context, old, newPass []byte) error
	// SkipPassphraseOffer records that the user declined the offer.
	SkipPassphraseOffer(ctx context.Context) error
	// Backup streams an encrypted backup of the node (identity, settings,
	// store) to w, sealed with passphrase; an empty one is
	// parley.ErrMalformed, refused before anything is written. An error
	// after the first byte leaves w with a truncated backup.
	Backup(ctx context.Context, w io.Writer, passphrase []byte) error
}

// Events is the node's event feed.
type Events interface {
	// Subscribe streams events until ctx ends. A slow reader loses events
	// (and is told so by a closed channel) rather than stalling the node.
	Subscribe(ctx context.Context) <-chan parley.Event
}

// Linker links devices of the user's person (PROTOCOL.md §11.6).
type Linker interface {
	// StartLink shows a link code on this node, a fresh one that is to
	// become a new device; EventLink events tell how it goes.
	StartLink(ctx context.Context) (parley.LinkStatus, error)
	// LinkStatus is the state of that code.
	LinkStatus(ctx context.Context) parley.LinkStatus
	// AcceptLink links the new device whose code is given; confirm gets
	// the safety code both devices show and says whether to go on.
	AcceptLink(ctx context.Context, code string, confirm func(safety string) bool) (parley.Device, error)
}
