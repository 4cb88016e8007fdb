package parley

import (
	"fmt"
	"strings"
	"time"
)

// MaxTextBytes caps one message's text. Longer content belongs in a file.
const MaxTextBytes = 32 << 10

// CheckText says whether text may be sent: not blank (ErrEmptyText), at most
// MaxTextBytes (ErrTextTooLong).
func CheckText(text string) error {
	if strings.TrimSpace(text) == "" {
		return ErrEmptyText
	}
	if len(text) > MaxTextBytes {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTextTooLong, len(text), MaxTextBytes)
	}
	return nil
}

// ContactState says whether a peer is a contact the user chose or a stranger
// who wrote first.
type ContactState string

const (
	// ContactAccepted: added by invite, or a request the user accepted.
	ContactAccepted ContactState = "accepted"
	// ContactRequest: a peer who wrote first; its messages wait in "requests".
	ContactRequest ContactState = "request"
)

// Contact is a peer the node knows.
type Contact struct {
	PeerID string // libp2p peer ID, text form
	// Name is what the user sees: the name on the contact's card, or the
	// user's own name for them (LocalName).
	Name    string
	HPKEKey []byte   // MLKEM768X25519 public key
	Addrs   []string // multiaddrs last known
	State   ContactState
	AddedAt time.Time
	// LocalName: the user chose Name when adding the contact, so the
	// contact's card updates leave it alone.
	LocalName bool
	// Mailboxes hold the contact's mail while they are offline, as their
	// card lists them.
	Mailboxes []Mailbox
	// CardHLC is the HLC of the envelope whose card update was applied last
	// (zero: none yet); older updates are ignored.
	CardHLC HLC
	// Verified: the user compared safety numbers and marked the contact
	// verified. Storage clears it when the contact's key changes.
	Verified bool
	// KeysChanged: the key changed while the contact was verified; marking
	// them verified again clears it.
	KeysChanged bool
	// MailboxRevoked: the user revoked the contact's capability to
	// deposit at the user's mailboxes (not stored with the contact).
	MailboxRevoked bool
	// LastSeen: when the contact's node was last connected to ours, if
	// they share it and we share ours (zero otherwise; not stored with the
	// contact).
	LastSeen time.Time
}

// Device is one node of the user's own person (linked devices: one person,
// several nodes, each its own peer ID; docs/design-notes.md, "Linked
// devices").
type Device struct {
	PeerID string // the device's libp2p peer ID, text form
	Name   string // such as "laptop"; empty for a revoked device
	// This: the device answering, the node the caller talks to.
	This bool
	// LinkedAt: when the device joined the person (zero for the first
	// device, and for one that never linked another).
	LinkedAt time.Time
	// Revoked: the device was removed for good; it no longer reads what
	// the person's contacts send.
	Revoked bool
}

// Status is how far an outgoing message got; incoming messages are
// StatusDelivered until the user views them, then StatusRead.
type Status int

const (
	StatusQueued    Status = iota // stored and in the outbox
	StatusSent                    // a group message that some member holds (a DM goes from queued to delivered)
	StatusDelivered               // the peer stored it and acknowledged it
	StatusRead                    // the peer's user viewed it
	StatusFailed                  // the peer refused it for good
	// StatusStored: a DM deposited at one of the peer's mailboxes, not
	// yet acknowledged by the peer. It ranks between queued and
	// delivered (Status.Rank); it comes after StatusFailed only because
	// statuses are bytes on disk and are never renumbered.
	StatusStored
)

var statusNames = [...]string{"queued", "sent", "delivered", "read", "failed", "stored"}

// statusRanks orders statuses by how far a message got: queued, sent,
// stored, delivered, read. Failed has no place on that line (see Rank).
var statusRanks = [...]int{StatusQueued: 0, StatusSent: 1, StatusStored: 2, StatusDelivered: 3, StatusRead: 4, StatusFailed: -1}

// Rank is the status's place on the line queued < sent < stored <
// delivered < read, for comparing how far two statuses got; StatusFailed
// and unknown values are -1 (off the line).
func (s Status) Rank() int {
	if int(s) < len(statusRanks) && s >= 0 {
		return statusRanks[s]
	}
	return -1
}

func (s Status) String() string {
	if int(s) < len(statusNames) && s >= 0 {
		return statusNames[s]
	}
	return "unknown"
}

// MarshalText renders the status by name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return ErrMalformed
}

// Kind is what a message's body holds.
type Kind string

const (
	KindText    Kind = "text"
	KindReceipt Kind = "receipt" // stored for idempotency, never displayed
	// KindGroupOp is a change to a group (members, name, roles); it is
	// applied, not displayed.
	KindGroupOp Kind = "group-op"
	// KindGroupKeys carries group keys in a DM; stored for idempotency.
	KindGroupKeys Kind = "group-keys"
	// KindFile is a file offered in the conversation: displayed like a
	// text, its Text the file's name and FileID naming the transfer.
	KindFile Kind = "file"
	// KindMailboxGrant is a contact's grant to deposit at its mailboxes
	// (PROTOCOL.md §9); applied, never displayed.
	KindMailboxGrant Kind = "mailbox-grant"
	// KindFileCancel says the other side of a DM withdrew or declined a
	// file; applied to the transfer, never displayed.
	KindFileCancel Kind = "file-cancel"
	// KindCardUpdate is a contact's new contact card in a DM; applied to
	// the contact, stored for idempotency, never displayed.
	KindCardUpdate Kind = "card-update"
	// KindMailboxOffer is a contact's offer to hold the user's mail while
	// the user is offline (DMs only): the mailbox is the sender's own node,
	// Text its addresses (multiaddrs), one a line. Displayed as a card the
	// user accepts or dismisses (MailboxOffer); never receipted.
	KindMailboxOffer Kind = "mailbox-offer"
	// KindEdit is its author's new text for one of their text messages
	// (Target); applied to the target's view, never displayed itself.
	KindEdit Kind = "edit"
	// KindDelete deletes Target for everyone: its text, file and edits are
	// purged from the store and it is listed as deleted.
	KindDelete Kind = "delete"
	// KindReaction sets (Remove: withdraws) the sender's Emoji on Target.
	KindReaction Kind = "reaction"
	// KindGroupMailboxGrant is a member's grant to the group's members to
	// deposit at its mailboxes (PROTOCOL.md §9.10); applied, never
	// displayed.
	KindGroupMailboxGrant Kind = "group-mailbox-grant"
	// KindGroupReceipt is a member's receipt for a group's messages
	// (Delivered, Read): indexed per member, stored for sync, never
	// displayed.
	KindGroupReceipt Kind = "group-receipt"
	// KindTimer sets the conversation's disappearing-messages timer to
	// Timer seconds (0: off); listed as an event of the conversation.
	KindTimer Kind = "timer"
)

// Annotates reports whether k applies to another message (Target) rather
// than being one: an edit, a delete or a reaction.
func (k Kind) Annotates() bool {
	return k == KindEdit || k == KindDelete || k == KindReaction
}

// Message is one decrypted, verified envelope as the user sees it.
type Message struct {
	ID           EnvelopeID
	Conversation ConversationID
	From         string // the verified signer's peer ID
	To           string
	Outgoing     bool
	Kind         Kind
	Text         string
	ReplyTo      *EnvelopeID
	// FileID names the file of a KindFile message (hex).
	FileID string
	HLC    HLC
	Status Status
	// Reason: an outgoing message still queued, why, when the node knows
	// ("recipient offline", "mailbox full"); kept until its status moves on.
	Reason string

	// Target is the message an edit, delete or reaction applies to.
	Target *EnvelopeID
	// Emoji and Remove: a reaction's emoji, and whether it withdraws it.
	Emoji  string
	Remove bool
	// Deleted: the message was deleted for everyone; its text, file and
	// edits are gone from the store.
	Deleted bool

	// View is what the message's edits, deletes and reactions make of
	// it, computed when it is read; nil when nothing annotates it. Never
	// stored.
	View *View

	// Receipted: a group receipt's (KindGroupReceipt) messages, as it
	// arrived; indexed by the store, not kept in the record.
	Receipted *ReceiptIDs
	// Timer, for a text or a file: the conversation's disappearing-messages
	// timer in seconds when it was written (0: it never expires), so that
	// it expires at ExpiresAt on every member. For a KindTimer: the timer
	// it sets.
	Timer uint32
}

// ReceiptIDs are the messages a group receipt says its sender got
// (Delivered) and read (Read).
type ReceiptIDs struct {
	Delivered, Read []EnvelopeID
}

// ExpiresAt is when a disappearing text or file is purged: Timer seconds
// after it was sent (its HLC), the same instant on every member. Zero
// when it does not expire.
func (m Message) ExpiresAt() time.Time {
	if m.Timer == 0 || m.Kind == KindTimer {
		return time.Time{}
	}
	return m.SentAt().Add(time.Duration(m.Timer) * time.Second)
}

// The range of a disappearing-messages timer (Timer.seconds on the wire):
// off, or from MinTimer to MaxTimer.
const (
	MinTimer = 30 * time.Second
	MaxTimer = 365 * 24 * time.Hour
)

// CheckTimer says whether d may be a conversation's timer: 0 (off) or
// MinTimer to MaxTimer, in whole seconds.
func CheckTimer(d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d < MinTimer || d > MaxTimer || d%time.Second != 0 {
		return fmt.Errorf("%w: a disappearing-messages timer of %s: want off or whole seconds from %s to %s (365 days)", ErrMalformed, d, MinTimer, MaxTimer)
	}
	return nil
}

// ConversationTimer is a conversation's disappearing-messages setting.
type ConversationTimer struct {
	Conversation ConversationID
	// Seconds is the timer in force (0: off).
	Seconds uint32
	// SetBy and HLC: who set it and when (empty and zero: never set).
	SetBy string
	HLC   HLC
}

// View is a message's edits, reactions and quote, as read.
type View struct {
	// Edits are the texts the message had, oldest first, the original
	// first: set when it was edited (the message's Text is then the
	// latest).
	Edits []Edit
	// Reactions lists, for each emoji, the peer IDs reacting with it,
	// sorted; nil when there are none.
	Reactions map[string][]string
	// Quote is what a reply (ReplyTo) quotes.
	Quote *Quote
	// Receipts (group messages): for each member who said so (peer ID),
	// when it got and read the message; nil when none has.
	Receipts map[string]Receipt
}

// Receipt is when one recipient got (Delivered) and read (Read) a
// message; zero: not yet, as far as this node knows. In a group these
// are the member's clock (its receipt's HLC); for a DM, when this node
// learned it.
type Receipt struct {
	Delivered, Read HLC
}

// MessageInfo is what `parley info` shows of a message: when it was sent,
// and for each recipient when it was delivered and read, or why not yet.
type MessageInfo struct {
	Message    Message
	Group      bool
	Recipients []RecipientInfo
}

// RecipientInfo is one recipient of a message, as MessageInfo shows it.
type RecipientInfo struct {
	PeerID string
	Name   string
	Receipt
	// Pending, for a message of ours not delivered to this recipient yet:
	// what the node knows of its attempts; nil otherwise.
	Pending *Delivery
}

// Delivery is why a message has not reached a recipient yet: what the
// node last tried. Times are zero where unknown (attempts are kept in
// memory: a restart forgets them, the queued reason stays).
type Delivery struct {
	// Online: the recipient is connected now; OfflineSince is when the
	// node first failed to reach it in the current run of failures.
	Online       bool
	OfflineSince time.Time
	LastAttempt  time.Time
	// Path of the last attempt: "direct", "relay" or "mailbox"; for a
	// group message "gossip" or "mailbox".
	Path      string
	NextRetry time.Time
	// LastError is why the last attempt failed, or the queued reason the
	// store keeps ("recipient offline", "mailbox full").
	LastError string
	// Mailbox: a mailbox of the recipient holds the message.
	Mailbox bool
}

// Edited reports whether the message's text was edited.
func (m Message) Edited() bool { return m.View != nil && len(m.View.Edits) > 0 }

// Edit is one version of an edited message's text.
type Edit struct {
	Text string
	HLC  HLC // when this version was written
}

// Quote is the message a reply answers, as the reply shows it.
type Quote struct {
	// Missing: the message replied to is not held here (not arrived, or
	// deleted for me); From and Text are then empty.
	Missing bool
	// Deleted: it was deleted for everyone; Text is empty.
	Deleted bool
	From    string // its author's peer ID
	Text    string // the first line of its (latest) text, or a file's name
}

// ActionKind names what an Action does to a message.
type ActionKind string

const (
	ActionReply  ActionKind = "reply"
	ActionEdit   ActionKind = "edit"
	ActionDelete ActionKind = "delete"
	ActionReact  ActionKind = "react"
)

// Action is something a user does to a message of a conversation: reply to
// it, edit it, delete it or react to it.
type Action struct {
	Kind ActionKind
	// Conversation is a contact or a group: a name, a peer ID or a group ID.
	Conversation string
	// Message is the message's ID, or a prefix of it (hex) that names one
	// message of the conversation.
	Message string
	// Text: a reply's or an edit's text.
	Text string
	// ForEveryone: a delete for every member, not only here.
	ForEveryone bool
	// Emoji and Remove: a reaction, and whether it is withdrawn.
	Emoji  string
	Remove bool
}

// Page selects part of a conversation in display order (HLC, then ID). The
// zero Page is every message. Limit caps how many (0: no cap). Before, a
// message's ID, asks for the newest Limit messages above it (a GUI
// scrolling up); After for the oldest Limit below it (a bot catching up
// from the last message it saw). The message named is never in the page,
// and one that is not in the conversation is ErrNotFound.
type Page struct {
	Before, After *EnvelopeID
	Limit         int
}

// SentAt is the sender's clock when the message was written.
func (m Message) SentAt() time.Time { return m.HLC.Time() }

// ConversationKind separates DMs from groups.
type ConversationKind string

const (
	ConversationDM    ConversationKind = "dm"
	ConversationGroup ConversationKind = "group"
)

// Conversation is a DM or a group, as listed to the user.
type Conversation struct {
	ID      ConversationID
	Kind    ConversationKind
	Peer    string // DMs: the other member
	Name    string // groups: the group's name
	LastHLC HLC    // the newest message's timestamp
	Unread  int
	// Block, mute, archive, pin (node/block.go): the user's choices for
	// this conversation, kept on this node only.
	//
	// Muted: no notifications until MutedUntil (zero: until unmuted).
	Muted      bool
	MutedUntil time.Time
	// Archived: listed apart (an "Archived" section); a new message
	// un-archives it unless it is muted.
	Archived bool
	// PinnedAt: pinned (listed first, the latest pinned on top) since
	// then; zero: not pinned.
	PinnedAt time.Time
	// Blocked: a DM whose peer the user blocked.
	Blocked bool
}

// Self describes this node to its user.
type Self struct {
	PeerID string
	Name   string
	Addrs  []string
	// Invite is the short invite code ("parley:", under 120 characters):
	// the card is fetched from this node, which must be reachable then.
	Invite string
	// InviteLong carries the whole signed card: it works while this node
	// is offline, but runs to thousands of characters.
	InviteLong string
	// Fingerprint is this identity's own safety-number half, for comparing
	// out of band.
	Fingerprint string
	// DataDir is where the node keeps its keys and store.
	DataDir string
}

// PeerInfo is a connected peer.
type PeerInfo struct {
	PeerID string
	Addrs  []string
	Name   string // the contact's name, where known
}

// EventType names what an Event reports.
type EventType string

const (
	EventMessage  EventType = "message"  // a message was stored (sent or received)
	EventStatus   EventType = "status"   // an outgoing message changed status (delivered, read)
	EventPresence EventType = "presence" // a contact came online or went offline
	EventRequest  EventType = "request"  // a stranger wrote: a new contact request
	EventGroup    EventType = "group"    // a group changed: invited, members, name, joined, left
	EventFile     EventType = "file"     // a file was offered, or its transfer moved on
	// EventRead: incoming messages of a conversation were marked read (on
	// any surface: another browser, the CLI, a bot), so unread counts
	// elsewhere are stale.
	EventRead EventType = "read"
	// EventDisk: the store turned read-only because the disk is full, or
	// writable again once space was freed.
	EventDisk EventType = "disk"
	// EventContact: a contact's card changed what the user sees of them
	// (name, mailboxes), so contact lists, conversation titles and member
	// names are stale.
	EventContact EventType = "contact"
	// EventUpdate: a message's view changed (edited, deleted for
	// everyone, reacted to); Message is the message as now seen.
	EventUpdate EventType = "update"
	// EventTyping: PeerID started (Typing) or stopped typing in
	// Conversation. Ephemeral: never stored.
	EventTyping EventType = "typing"
	// EventConversation: a conversation's state changed (muted, archived,
	// pinned, or its peer blocked or unblocked): conversation lists are
	// stale. Conversation names it; PeerID the peer for a block.
	EventConversation EventType = "conversation"
	// EventExpired: a disappearing message expired and was purged; it is
	// no longer listed. Message is what is left of it (no text or file).
	EventExpired EventType = "expired"
	// EventLink: linking this node as a new device moved on; Link says
	// how (dialed with the safety code, linked, expired, refused).
	EventLink EventType = "link"
)

// LinkState is how far linking this node as a new device of a person got.
type LinkState string

const (
	// LinkWaiting: the code is shown; no device has presented its secret.
	LinkWaiting LinkState = "waiting"
	// LinkDialed: an existing device presented the secret: the user
	// compares Safety with what that device shows.
	LinkDialed LinkState = "dialed"
	// LinkLinked: this node is now a device of Person; it restarted on
	// the person's contacts, groups and history.
	LinkLinked LinkState = "linked"
	// LinkExpired: the code's time ran out before a link.
	LinkExpired LinkState = "expired"
	// LinkRefused: the link that took the code ended without linking
	// (declined on the existing device, broken, or what it sent was
	// refused); Error says why. A new code tries again.
	LinkRefused LinkState = "refused"
)

// LinkStatus is the state of this node's link code (Messenger.StartLink).
type LinkStatus struct {
	State   LinkState
	Code    string    // the link code to show (waiting, dialed)
	Expires time.Time // when the code expires
	// Device is the existing device's peer ID, Person the person it is a
	// device of (dialed, linked, refused).
	Device, Person string
	Safety         string // the safety code to compare (dialed)
	Error          string // why the link did not happen (refused)
}

// Event is what the node tells the GUI, the CLI and bots as it happens.
type Event struct {
	Type    EventType
	Message *Message // message, status
	PeerID  string   // presence, request, contact
	Online  bool     // presence
	Group   *Group   // group
	File    *File    // file
	// Conversation is the conversation read (read).
	Conversation ConversationID
	Disk         *DiskStatus // disk
	// Reason (status, with the message still queued) says why it is not
	// stored yet where it could be: a contact's mailbox refused it for
	// now ("mailbox full").
	Reason string
	// Typing (typing): PeerID is typing in Conversation now; false: stopped.
	Typing bool
	// Link (link): the state of this node's link code.
	Link *LinkStatus
}

// DiskStatus says whether the node's store takes writes. Below a watermark
// of free space it takes none (sends, received messages, file chunks are
// refused, and peers keep theirs queued) and reads go on, until space is
// freed.
type DiskStatus struct {
	Free    int64 // bytes free on the disk holding the store; -1 where it cannot be told
	MinFree int64 // the watermark
	Full    bool  // read-only until space is freed
}

// Err is the error writes get: nil, or a *DiskFullError.
func (d DiskStatus) Err() error {
	if !d.Full {
		return nil
	}
	return &DiskFullError{Free: max(d.Free, 0)}
}

// Reachability is whether peers beyond this network can dial the node, as
// AutoNAT last found.
type Reachability string

const (
	// ReachabilityUnknown: not tested yet, or no public address to test.
	ReachabilityUnknown Reachability = "unknown"
	// ReachabilityPublic: peers on the internet can dial us.
	ReachabilityPublic Reachability = "public"
	// ReachabilityPrivate: behind a NAT or firewall; peers reach us only by
	// dialing out first, hole punching or a relay.
	ReachabilityPrivate Reachability = "private"
)

// NetworkStatus is the node's view of the network, for diagnostics. (The
// name Status is taken by a message's status.)
type NetworkStatus struct {
	Reachability Reachability
	// ListenAddrs are the sockets the node listens on (0.0.0.0 and :: stand
	// for every interface); AnnouncedAddrs are the addresses it tells peers.
	ListenAddrs    []string
	AnnouncedAddrs []string
	// ObservedAddrs are the addresses connected peers see the node's
	// direct connections come from (identify), the most reported first. A
	// NAT shows here as a public address the node does not listen on; a
	// symmetric NAT, as a different port for each peer.
	ObservedAddrs []string
	// Relays are the relays the node is reachable through (each relay's
	// address, with its /p2p/ID).
	Relays []string
	Peers  []ConnectedPeer
	// DHTMode is "server" while the node answers DHT queries for others,
	// "client" while it only asks.
	DHTMode  string
	DHTPeers int  // peers in the DHT routing table
	MDNS     bool // LAN discovery is running
	// RelayService: the node serves as a circuit relay (v2) for peers
	// behind NATs, as it does while publicly reachable.
	RelayService bool
	// MailboxService: the node holds mail for people who registered with
	// it (PROTOCOL.md §9); Mailbox is what it holds (zero while off).
	MailboxService bool
	Mailbox        MailboxLoad
	// PublicDHT: the node is in the public IPFS DHT (Settings.PublicDHT);
	// PublicDHTPeers is the size of that DHT's routing table (0 while off).
	PublicDHT      bool
	PublicDHTPeers int
	// PrivateNetwork: a swarm key fences the node off from every peer
	// that does not hold the same key.
	PrivateNetwork bool
	// Disk: whether the store takes writes (not network, but what the
	// status page and the GUI's banner need as well).
	Disk DiskStatus
}

// MailboxLoad is what a mailbox service holds: for how many owners (of
// the most it serves), how many envelopes, how many bytes; and what it
// did since the node started: deposits stored and refused, envelopes
// delivered (acknowledged by their owners, and so deleted).
type MailboxLoad struct {
	Owners, Envelopes, Bytes int64
	MaxOwners                int64
	Deposits, Refused        int64
	Delivered                int64
}

// Mailbox is a node the user chose to hold their mail while they are
// offline.
type Mailbox struct {
	PeerID string
	Addrs  []string // where to reach it (multiaddrs without /p2p/ID)
	// The user's own mailboxes only: Generation is the deposit key's
	// (a reset moves it on, revoking every earlier capability there);
	// Revoked the contacts (peer IDs) whose capability there is revoked.
	Generation uint32
	Revoked    []string
}

// OfferState is the user's answer to a mailbox offer.
type OfferState string

const (
	OfferOpen      OfferState = "open"      // not answered yet
	OfferAccepted  OfferState = "accepted"  // the offering node is one of the user's mailboxes now
	OfferDismissed OfferState = "dismissed" // dismissed, or accepted and removed since
)

// MailboxOffer is a KindMailboxOffer message read: the mailbox offered
// (the sender's node) and the user's answer.
type MailboxOffer struct {
	Mailbox Mailbox
	State   OfferState
}

// ConnectedPeer is a peer we have a connection to, and how.
type ConnectedPeer struct {
	PeerID string
	Name   string // the contact's name; empty for a stranger
	// Transport is that of the best connection to the peer (direct before
	// relayed): "tcp", "quic-v1", "relayed", or another libp2p transport's
	// name.
	Transport string
	// Direction is who dialed that connection: "inbound" or "outbound".
	Direction string
	// Addrs are the peer's addresses of every connection to it, that
	// connection's first.
	Addrs []string
}

// GroupState is where the user stands in a group.
type GroupState string

const (
	// GroupInvited: a contact invited us; we hold the keys but have not
	// accepted (group accept) or declined.
	GroupInvited GroupState = "invited"
	// GroupJoined: a member, reading and writing.
	GroupJoined GroupState = "joined"
	// GroupLeft: we left or declined; the history stays readable.
	GroupLeft GroupState = "left"
	// GroupRemoved: an admin removed us; we receive nothing sent after.
	GroupRemoved GroupState = "removed"
)

// Role is a member's power in a group: admins add and remove members,
// rename the group and change roles; every member may write and leave.
type Role string

const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Group is a group conversation as listed to the user.
type Group struct {
	ID    ConversationID
	Name  string
	State GroupState
	// Role is our own role while we are a member.
	Role    Role
	Members int
	// InvitedBy is the contact who invited us (peer ID).
	InvitedBy string
	LastHLC   HLC
	Unread    int
	// History says whether members read what was written before they
	// joined (for an invite: as the inviter said).
	History GroupHistory
}

// GroupHistory is a group's setting for what its members read.
type GroupHistory string

const (
	// HistoryHidden: members read only what was written while they were
	// members; someone added later starts from when they joined, and a
	// member removed and added again does not read what was written in
	// between. New groups start with it.
	HistoryHidden GroupHistory = "hidden"
	// HistoryShared: members added later read the earlier history too.
	// Groups from before the setting existed are shared.
	HistoryShared GroupHistory = "shared"
)

// ParseGroupHistory reads a history setting by name.
func ParseGroupHistory(s string) (GroupHistory, error) {
	switch h := GroupHistory(s); h {
	case HistoryHidden, HistoryShared:
		return h, nil
	}
	return "", fmt.Errorf("%w: history %q: want %q or %q", ErrMalformed, s, HistoryHidden, HistoryShared)
}

// GroupMember is one member of a group.
type GroupMember struct {
	PeerID string
	Name   string // the contact's name, else the name on the card the adder sent
	Role   Role
	// AddedBy is the admin who added the member (the creator adds itself).
	AddedBy string
	Self    bool
	// Mailboxes is how many mailboxes the member granted the group (where
	// members leave what it misses while offline, PROTOCOL.md §9.10).
	Mailboxes int
}

// FileState is where a file transfer stands.
type FileState string

const (
	// FileOffered: offered to us and not accepted yet (over the auto-accept
	// limit, or not from a contact).
	FileOffered FileState = "offered"
	// FileTransferring: being fetched (or, for our own offers, served).
	FileTransferring FileState = "transferring"
	// FileComplete: every byte arrived and was verified; Path holds it.
	FileComplete FileState = "complete"
	FileFailed   FileState = "failed"
	FileCanceled FileState = "cancelled"
)

// File is a file offered in a conversation, by us or to us.
type File struct {
	ID           string // hex
	Conversation ConversationID
	Message      EnvelopeID // the offer
	Name         string
	Size         int64
	MediaType    string
	From         string
	Outgoing     bool
	State        FileState
	BytesDone    int64
	// Path is where the file is: ours, the file we offered; theirs, once
	// complete, the verified copy in the downloads folder.
	Path  string
	Error string
	// ServedBytes, for our offers: everything uploaded since the node
	// started, to anyone (a group's members share the load).
	ServedBytes int64
}

// Settings are the user's choices that the node keeps across restarts.
type Settings struct {
	// AutoAcceptBytes: files from contacts up to this size are fetched
	// without asking; -1: never.
	AutoAcceptBytes int64
	// Downloads is where received files are saved.
	Downloads string
	// PublicDHT: the node is in the public IPFS DHT, to find and be found
	// by contacts on other networks (it publishes there only a key hashed
	// from its peer ID, and its addresses). On when chosen here or by
	// `parley run --public-dht`; never in a private network.
	PublicDHT bool
	// MailboxService: the node holds mail for people who registered with
	// it ("Hold mail for others"; PROTOCOL.md §9). MailboxServiceAtStart:
	// `parley run` set it for this run (--mailbox-service, or
	// --relay-service), so this setting cannot change it until a restart
	// without the flag.
	MailboxService        bool
	MailboxServiceAtStart bool
	// TypingIndicators: we tell contacts and members when we type, and
	// show when they do. Default on.
	TypingIndicators bool
	// LastSeen: we share when we were last online with contacts, and see
	// theirs (who hides theirs sees no one's). Default on.
	LastSeen bool
	// ReadReceipts: tell contacts and group members when the user read
	// their messages (default on). Off, only "delivered" is sent; the
	// receipts others send are still shown.
	ReadReceipts bool
}

// BlockedPeer is a peer the user blocked (node/block.go): a contact or a
// stranger. Nothing they send reaches the store, and nothing of ours
// (receipts, cards, mailbox grants, presence) reaches them.
type BlockedPeer struct {
	PeerID string
	// Name is the contact's or request's name when known, else empty.
	Name string
	At   time.Time // when the user blocked them
	// Request: they were a stranger's request (or unknown) when blocked,
	// not an accepted contact.
	Request bool
}

// ConversationChange is what SetConversationState changes; nil fields
// stay as they are.
type ConversationChange struct {
	// Mute on or off; MuteFor, with Mute on, mutes for that long (zero:
	// until unmuted).
	Mute    *bool
	MuteFor time.Duration
	Archive *bool
	Pin     *bool
}

// MaxPinned is how many conversations may be pinned at once: a few on top
// stay useful; more is the whole list again.
const MaxPinned = 5

// SearchResult is a message a search found (Messenger.Search): the
// message as listed, with its latest text, and the part of that text
// around what matched.
type SearchResult struct {
	Message Message
	// Snippet is about 80 characters of the text around the first match,
	// on one line, with "…" where it was cut.
	Snippet string
	// Highlights are where the matching words lie in Snippet: [start, end)
	// in characters (Unicode code points).
	Highlights [][2]int
}

// SearchResults is what a search found, newest first.
type SearchResults struct {
	Results []SearchResult
	// Indexing: messages stored before this version of Parley are still
	// being indexed, so some may be missing.
	Indexing bool
}
