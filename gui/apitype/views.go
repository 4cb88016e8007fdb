package apitype

import (
	"time"

	"github.com/parley-im/parley"
)

// The views: what the API writes, each made from a domain type by its New
// function. Field order is the JSON's: keep it when adding fields, and
// update the golden files (go test ./gui/apitype -run TestGolden -update)
// only for a deliberate change of the API.

// SelfView is what GET /api/v1/self answers: who this node is, and whether
// its user has chosen a name yet (a GUI asks for one on first run).
type SelfView struct {
	PeerID string   `json:"peer_id"`
	Name   string   `json:"name"`
	Addrs  []string `json:"addrs"`
	// Invite is the short invite code (under 120 characters, also a
	// parley: link): the card is fetched from this node when it is added,
	// so this node must be online then.
	Invite string `json:"invite"`
	// InviteLong carries the whole signed card: it works while this node
	// is offline, but runs to thousands of characters.
	InviteLong string `json:"invite_long"`
	// Fingerprint is this identity's own safety-number half, for comparing
	// out of band.
	Fingerprint string `json:"fingerprint"`
	// DataDir is where the node keeps its keys and store.
	DataDir string `json:"data_dir"`
	Named   bool   `json:"named"`
}

// NewSelfView renders s.
func NewSelfView(s parley.Self, named bool) SelfView {
	return SelfView{PeerID: s.PeerID, Name: s.Name, Addrs: s.Addrs, Invite: s.Invite, InviteLong: s.InviteLong,
		Fingerprint: s.Fingerprint, DataDir: s.DataDir, Named: named}
}

// ContactView is a contact (or a request) with what the UI shows beside it.
type ContactView struct {
	PeerID  string              `json:"peer_id"`
	Name    string              `json:"name"`
	HPKEKey []byte              `json:"hpke_key,omitempty"` // MLKEM768X25519 public key
	Addrs   []string            `json:"addrs,omitempty"`    // multiaddrs last known
	State   parley.ContactState `json:"state"`
	AddedAt time.Time           `json:"added_at"`
	Online  bool                `json:"online"`
	// SafetyNumber is empty when it cannot be computed (a contact without
	// a known key); the UI then has nothing to compare.
	SafetyNumber string `json:"safety_number"`
	// Warning is set only on the answer to adding a contact, when their
	// name looks like another contact's or ours: show it beside them.
	Warning string `json:"warning,omitempty"`
	// Mailboxes are the peer IDs of the nodes that hold the contact's mail
	// while they are offline, as their card lists them.
	Mailboxes []string `json:"mailboxes,omitempty"`
	// Verified: the user compared safety numbers and marked the contact
	// verified. KeysChanged: the contact's key changed while verified
	// (which cleared Verified); compare again before trusting them.
	Verified    bool `json:"verified"`
	KeysChanged bool `json:"keys_changed"`
	// MailboxRevoked: the user revoked the contact's capability to deposit
	// at the user's mailboxes (POST /api/v1/contacts/{contact}/mailbox-revocation).
	MailboxRevoked bool `json:"mailbox_revoked,omitempty"`
	// LastSeen: when the contact's node was last connected to ours; left
	// out unless they share it and the user shares theirs (settings
	// last_seen). While Online, it is when they connected.
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// NewContactView renders c.
func NewContactView(c parley.Contact, online bool, safetyNumber string) ContactView {
	v := ContactView{PeerID: c.PeerID, Name: c.Name, HPKEKey: c.HPKEKey, Addrs: c.Addrs, State: c.State,
		AddedAt: c.AddedAt, Online: online, SafetyNumber: safetyNumber, Verified: c.Verified, KeysChanged: c.KeysChanged,
		MailboxRevoked: c.MailboxRevoked, LastSeen: c.LastSeen}
	for _, mb := range c.Mailboxes {
		v.Mailboxes = append(v.Mailboxes, mb.PeerID)
	}
	return v
}

// MessageView is a message as shown: the domain message plus display names
// and the sender's wall-clock time. A group message has no recipient: To and
// ToName are empty, Conversation is the group's ID.
type MessageView struct {
	ID           parley.EnvelopeID     `json:"id"`
	Conversation parley.ConversationID `json:"conversation"`
	From         string                `json:"from"`
	FromName     string                `json:"from_name"`
	To           string                `json:"to"`
	ToName       string                `json:"to_name"`
	Outgoing     bool                  `json:"outgoing"`
	// Kind is "text", "file", "mailbox-offer" or "timer" (an event: the
	// disappearing-messages timer was set to TimerSeconds); a file's Text is its
	// name and FileID names it (GET /api/v1/files/{file_id}); a mailbox
	// offer's Text is empty and MailboxOffer describes it.
	Kind    parley.Kind        `json:"kind"`
	Text    string             `json:"text"`
	FileID  string             `json:"file_id,omitempty"`
	ReplyTo *parley.EnvelopeID `json:"reply_to,omitempty"`
	SentAt  time.Time          `json:"sent_at"` // RFC 3339 with nanoseconds, UTC
	HLC     parley.HLC         `json:"hlc"`
	Status  parley.Status      `json:"status"` // by name: parley.Status is a TextMarshaler
	// MailboxOffer: set on messages of kind "mailbox-offer".
	MailboxOffer *MailboxOfferView `json:"mailbox_offer,omitempty"`
	// Reason: an outgoing message still queued, why, when the node knows.
	Reason string `json:"reason,omitempty"`
	// Edited: Text is the latest of Edits (the original first).
	Edited bool       `json:"edited"`
	Edits  []EditView `json:"edits,omitempty"`
	// Deleted for everyone: Text and FileID are empty.
	Deleted bool `json:"deleted"`
	// Reactions: for each emoji, the peer IDs reacting with it; {} when none.
	Reactions map[string][]string `json:"reactions"`
	// Quote: what a reply (ReplyTo) quotes.
	Quote *QuoteView `json:"quote,omitempty"`
	// Receipts (group messages): for each member who said so (peer ID),
	// when it got and read the message; absent when none has.
	Receipts map[string]ReceiptView `json:"receipts,omitempty"`
	// ExpiresAt: a disappearing message is purged then, on every member
	// (TimerSeconds after SentAt); absent when it does not expire.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// TimerSeconds: of a "timer" event, the disappearing-messages timer it
	// set (0: off); of a disappearing message, the timer it carries.
	TimerSeconds uint32 `json:"timer_seconds,omitempty"`
}

// EditView is one version of an edited message's text.
type EditView struct {
	Text   string     `json:"text"`
	SentAt time.Time  `json:"sent_at"`
	HLC    parley.HLC `json:"hlc"`
}

// QuoteView is the message a reply answers, as the reply shows it:
// its author and the first line of its text, or Missing (not held here)
// or Deleted.
type QuoteView struct {
	Missing  bool   `json:"missing"`
	Deleted  bool   `json:"deleted"`
	From     string `json:"from,omitempty"`
	FromName string `json:"from_name,omitempty"`
	Text     string `json:"text"`
}

// MailboxOfferView is a contact's offer to hold the user's mail: the
// mailbox (the contact's node) and the user's answer: "open" (POST
// /api/v1/mailbox-offers/{id}/accept or .../dismiss answers it),
// "accepted" (it is one of the user's mailboxes) or "dismissed".
type MailboxOfferView struct {
	MailboxView
	State parley.OfferState `json:"state"`
}

// NewMailboxOfferView renders o.
func NewMailboxOfferView(o parley.MailboxOffer) *MailboxOfferView {
	return &MailboxOfferView{MailboxView: NewMailboxView(o.Mailbox), State: o.State}
}

// NewMessageView renders m; the caller knows the names (it resolved the
// peers once for a whole page of messages).
func NewMessageView(m parley.Message, fromName, toName string) MessageView {
	mv := MessageView{
		ID:           m.ID,
		Conversation: m.Conversation,
		From:         m.From,
		FromName:     fromName,
		To:           m.To,
		ToName:       toName,
		Outgoing:     m.Outgoing,
		Kind:         m.Kind,
		Text:         m.Text,
		FileID:       m.FileID,
		ReplyTo:      m.ReplyTo,
		SentAt:       m.SentAt().UTC(),
		HLC:          m.HLC,
		Status:       m.Status,
		Reason:       m.Reason,
		Deleted:      m.Deleted,
		Edited:       m.Edited(),
		Reactions:    map[string][]string{},
		TimerSeconds: m.Timer,
	}
	if at := m.ExpiresAt(); !at.IsZero() {
		at = at.UTC()
		mv.ExpiresAt = &at
	}
	if v := m.View; v != nil {
		for _, e := range v.Edits {
			mv.Edits = append(mv.Edits, EditView{Text: e.Text, SentAt: e.HLC.Time().UTC(), HLC: e.HLC})
		}
		if v.Reactions != nil {
			mv.Reactions = v.Reactions
		}
		if q := v.Quote; q != nil {
			mv.Quote = &QuoteView{Missing: q.Missing, Deleted: q.Deleted, From: q.From, Text: q.Text}
		}
		if len(v.Receipts) > 0 {
			mv.Receipts = make(map[string]ReceiptView, len(v.Receipts))
			for p, r := range v.Receipts {
				mv.Receipts[p] = NewReceiptView(r)
			}
		}
	}
	return mv
}

// ConversationView is a conversation with its display name: for a DM, the
// other member's contact name (empty when the peer is not a contact); for a
// group, the group's name.
type ConversationView struct {
	ID      parley.ConversationID   `json:"id"`
	Kind    parley.ConversationKind `json:"kind"`
	Peer    string                  `json:"peer,omitempty"` // DMs: the other member
	LastHLC parley.HLC              `json:"last_hlc"`       // the newest message's timestamp
	Unread  int                     `json:"unread"`
	Name    string                  `json:"name"`
	// Online: for a DM, whether the peer is connected now; always false
	// for a group.
	Online bool `json:"online"`
	// Last is the newest message, for a preview; nil when there is none
	// (or it could not be read).
	Last *MessageView `json:"last,omitempty"`
	// Muted: no notifications, until MutedUntil when set. Archived:
	// listed apart. PinnedAt: pinned since then (listed first). Blocked:
	// a DM whose peer the user blocked.
	Muted      bool      `json:"muted,omitempty"`
	MutedUntil time.Time `json:"muted_until,omitzero"`
	Archived   bool      `json:"archived,omitempty"`
	PinnedAt   time.Time `json:"pinned_at,omitzero"`
	Blocked    bool      `json:"blocked,omitempty"`
}

// NewConversationView renders c under name.
func NewConversationView(c parley.Conversation, name string, online bool, last *MessageView) ConversationView {
	return ConversationView{ID: c.ID, Kind: c.Kind, Peer: c.Peer, LastHLC: c.LastHLC, Unread: c.Unread,
		Name: name, Online: online, Last: last,
		Muted: c.Muted, MutedUntil: c.MutedUntil, Archived: c.Archived, PinnedAt: c.PinnedAt, Blocked: c.Blocked}
}

// GroupView is a group with what the UI shows beside it.
type GroupView struct {
	ID    parley.ConversationID `json:"id"`
	Name  string                `json:"name"`
	State parley.GroupState     `json:"state"`
	// Role is our own role while we are a member.
	Role    parley.Role `json:"role,omitempty"`
	Members int         `json:"members"`
	// History: whether members read what was written before they joined
	// ("hidden" or "shared"; for an invite, as the inviter said).
	History parley.GroupHistory `json:"history"`
	// InvitedBy is the contact who invited us (peer ID).
	InvitedBy string     `json:"invited_by,omitempty"`
	LastHLC   parley.HLC `json:"last_hlc"`
	Unread    int        `json:"unread"`
	// InvitedByName is the inviter's contact name; empty when unknown.
	InvitedByName string `json:"invited_by_name,omitempty"`
	// LastMessageAt is the newest message's wall-clock time (LastHLC's),
	// RFC 3339 in UTC; omitted for a group without messages.
	LastMessageAt time.Time `json:"last_message_at,omitzero"`
}

// NewGroupView renders g; the caller knows the inviter's name.
func NewGroupView(g parley.Group, invitedByName string) GroupView {
	v := GroupView{ID: g.ID, Name: g.Name, State: g.State, Role: g.Role, Members: g.Members, History: g.History,
		InvitedBy: g.InvitedBy, LastHLC: g.LastHLC, Unread: g.Unread, InvitedByName: invitedByName}
	if g.LastHLC != 0 {
		v.LastMessageAt = g.LastHLC.Time().UTC()
	}
	return v
}

// GroupMemberView is a group member and whether it is online. Self is
// always written, so a client need not treat a missing field as false.
type GroupMemberView struct {
	PeerID string `json:"peer_id"`
	// Name is the contact's name, else the name on the card the adder sent.
	Name string      `json:"name"`
	Role parley.Role `json:"role"`
	// AddedBy is the admin who added the member (the creator adds itself).
	AddedBy string `json:"added_by"`
	Self    bool   `json:"self"`
	Online  bool   `json:"online"`
	// Mailboxes is how many mailboxes the member granted the group.
	Mailboxes int `json:"mailboxes"`
}

// NewGroupMemberView renders m.
func NewGroupMemberView(m parley.GroupMember, online bool) GroupMemberView {
	return GroupMemberView{PeerID: m.PeerID, Name: m.Name, Role: m.Role, AddedBy: m.AddedBy, Self: m.Self, Online: online, Mailboxes: m.Mailboxes}
}

// FileView is a file offered in a conversation, by us or to us, with the
// sender's display name. For our own offers, BytesDone counts the bytes
// uploaded at least once and ServedBytes everything uploaded since the
// node started (a resumed download costs only its missing chunks).
type FileView struct {
	ID           string                `json:"id"` // hex
	Conversation parley.ConversationID `json:"conversation"`
	Message      parley.EnvelopeID     `json:"message"` // the offer
	Name         string                `json:"name"`
	Size         int64                 `json:"size"`
	MediaType    string                `json:"media_type,omitempty"`
	From         string                `json:"from"`
	Outgoing     bool                  `json:"outgoing"`
	State        parley.FileState      `json:"state"`
	BytesDone    int64                 `json:"bytes_done"`
	// Path is where the file is: ours, the file we offered; theirs, once
	// complete, the verified copy in the downloads folder.
	Path        string `json:"path,omitempty"`
	Error       string `json:"error,omitempty"`
	ServedBytes int64  `json:"served_bytes,omitempty"`
	FromName    string `json:"from_name"`
}

// NewFileView renders f; the caller knows the sender's name.
func NewFileView(f parley.File, fromName string) FileView {
	return FileView{ID: f.ID, Conversation: f.Conversation, Message: f.Message, Name: f.Name, Size: f.Size,
		MediaType: f.MediaType, From: f.From, Outgoing: f.Outgoing, State: f.State, BytesDone: f.BytesDone,
		Path: f.Path, Error: f.Error, ServedBytes: f.ServedBytes, FromName: fromName}
}

// EventView is one frame of the events WebSocket: a parley.Event whose
// message is rendered as a MessageView, whose group as a GroupView and
// whose file as a FileView.
type EventView struct {
	Type    parley.EventType `json:"type"`
	Message *MessageView     `json:"message,omitempty"` // message, status
	PeerID  string           `json:"peer_id,omitempty"` // presence, request
	Online  bool             `json:"online,omitempty"`  // presence
	Group   *GroupView       `json:"group,omitempty"`   // group
	File    *FileView        `json:"file,omitempty"`    // file: offered, progress, complete, failed, cancelled
	// Conversation was read elsewhere (read): refetch unread counts.
	Conversation parley.ConversationID `json:"conversation,omitzero"`
	Disk         *DiskView             `json:"disk,omitempty"` // disk: full, or writable again
	// Reason (status, the message still queued): why a contact's mailbox
	// did not take it, e.g. "mailbox full"; it is tried again later.
	Reason string `json:"reason,omitempty"`
	// Typing (typing): PeerID is typing in Conversation now; false (left
	// out): stopped. Show it until a "typing" event with false, or a
	// message from them there.
	Typing bool `json:"typing,omitempty"`
	// Link (link): how linking this node as a new device goes.
	Link *LinkStatusView `json:"link,omitempty"`
}

// DiskView says whether the node takes writes. While Full, sends and
// everything else that writes fail with 507 and code "no_space", and
// Message says why in one line; reads go on.
type DiskView struct {
	Full      bool   `json:"full"`
	FreeBytes int64  `json:"free_bytes"`        // -1 where the node cannot tell
	MinFree   int64  `json:"min_free_bytes"`    // below this much free the node is read-only
	Message   string `json:"message,omitempty"` // while Full: "disk full: N MB free; ..."
}

// NewDiskView renders d.
func NewDiskView(d parley.DiskStatus) *DiskView {
	v := &DiskView{Full: d.Full, FreeBytes: d.Free, MinFree: d.MinFree}
	if err := d.Err(); err != nil {
		v.Message = err.Error()
	}
	return v
}

// PeerView is a connected peer, as GET /api/v1/peers lists it.
type PeerView struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	Name   string   `json:"name,omitempty"` // the contact's name, where known
}

// NewPeerView renders p.
func NewPeerView(p parley.PeerInfo) PeerView {
	return PeerView{PeerID: p.PeerID, Addrs: p.Addrs, Name: p.Name}
}

// NetworkStatusView is what GET /api/v1/status answers: the node's view
// of the network, for diagnostics. See parley.NetworkStatus for the
// fields.
type NetworkStatusView struct {
	Reachability   parley.Reachability `json:"reachability"`
	ListenAddrs    []string            `json:"listen_addrs"`
	AnnouncedAddrs []string            `json:"announced_addrs"`
	ObservedAddrs  []string            `json:"observed_addrs"`
	Relays         []string            `json:"relays"`
	Peers          []ConnectedPeerView `json:"peers"`
	DHTMode        string              `json:"dht_mode"` // server or client
	DHTPeers       int                 `json:"dht_peers"`
	MDNS           bool                `json:"mdns"`
	RelayService   bool                `json:"relay_service"`
	MailboxService bool                `json:"mailbox_service"`
	Mailbox        *MailboxLoadView    `json:"mailbox,omitempty"` // nil while the node serves no mailbox
	PublicDHT      bool                `json:"public_dht"`
	PublicDHTPeers int                 `json:"public_dht_peers"`
	PrivateNetwork bool                `json:"private_network"`
	Disk           *DiskView           `json:"disk"`
}

// NewNetworkStatusView renders s. A nil list stays null in JSON, as it was
// before the API had views of its own.
func NewNetworkStatusView(s parley.NetworkStatus) NetworkStatusView {
	var peers []ConnectedPeerView
	if s.Peers != nil {
		peers = make([]ConnectedPeerView, 0, len(s.Peers))
		for _, p := range s.Peers {
			peers = append(peers, ConnectedPeerView{PeerID: p.PeerID, Name: p.Name, Transport: p.Transport,
				Direction: p.Direction, Addrs: p.Addrs})
		}
	}
	return NetworkStatusView{Reachability: s.Reachability, ListenAddrs: s.ListenAddrs,
		AnnouncedAddrs: s.AnnouncedAddrs, ObservedAddrs: s.ObservedAddrs, Relays: s.Relays, Peers: peers,
		DHTMode: s.DHTMode, DHTPeers: s.DHTPeers, MDNS: s.MDNS, RelayService: s.RelayService,
		PublicDHT: s.PublicDHT, PublicDHTPeers: s.PublicDHTPeers, PrivateNetwork: s.PrivateNetwork,
		Disk: NewDiskView(s.Disk), MailboxService: s.MailboxService, Mailbox: newMailboxLoadView(s)}
}

// MailboxLoadView is what the node's mailbox service holds, and what it
// did since the node started (parley.MailboxLoad).
type MailboxLoadView struct {
	Owners    int64 `json:"owners"`
	MaxOwners int64 `json:"max_owners"`
	Envelopes int64 `json:"envelopes"`
	Bytes     int64 `json:"bytes"`
	Deposits  int64 `json:"deposits"`  // stored since start
	Refused   int64 `json:"refused"`   // deposits refused since start
	Delivered int64 `json:"delivered"` // envelopes acknowledged by their owners since start
}

func newMailboxLoadView(s parley.NetworkStatus) *MailboxLoadView {
	if !s.MailboxService {
		return nil
	}
	m := s.Mailbox
	return &MailboxLoadView{Owners: m.Owners, MaxOwners: m.MaxOwners, Envelopes: m.Envelopes, Bytes: m.Bytes,
		Deposits: m.Deposits, Refused: m.Refused, Delivered: m.Delivered}
}

// ConnectedPeerView is a peer we have a connection to, and how.
type ConnectedPeerView struct {
	PeerID    string   `json:"peer_id"`
	Name      string   `json:"name"`      // the contact's name; empty for a stranger
	Transport string   `json:"transport"` // the best connection's: tcp, quic-v1, relayed...
	Direction string   `json:"direction"` // inbound or outbound
	Addrs     []string `json:"addrs"`
}

// SettingsView is what GET and PUT /api/v1/settings answer.
type SettingsView struct {
	// AutoAcceptBytes: files from contacts up to this size are fetched
	// without asking; -1: never.
	AutoAcceptBytes int64  `json:"auto_accept_bytes"`
	Downloads       string `json:"downloads"` // where received files are saved
	// PublicDHT: the node is in the public IPFS DHT.
	PublicDHT bool `json:"public_dht"`
	// MailboxService: the node holds mail for people who registered with
	// it. MailboxServiceAtStart: `parley run` set it for this run
	// (--mailbox-service or --relay-service), and PUT cannot change it.
	MailboxService        bool `json:"mailbox_service"`
	MailboxServiceAtStart bool `json:"mailbox_service_at_start"`
	// TypingIndicators: we tell contacts and members when we type, and
	// see when they do. LastSeen: we share when we were last online with
	// contacts, and see theirs. Both default on.
	TypingIndicators bool `json:"typing_indicators"`
	LastSeen         bool `json:"last_seen"`
	// ReadReceipts: contacts and group members are told when the user
	// read their messages (off: only that they were delivered).
	ReadReceipts bool `json:"read_receipts"`
}

// NewSettingsView renders s.
func NewSettingsView(s parley.Settings) SettingsView {
	return SettingsView{AutoAcceptBytes: s.AutoAcceptBytes, Downloads: s.Downloads, PublicDHT: s.PublicDHT,
		MailboxService: s.MailboxService, MailboxServiceAtStart: s.MailboxServiceAtStart,
		TypingIndicators: s.TypingIndicators, LastSeen: s.LastSeen, ReadReceipts: s.ReadReceipts}
}

// PassphraseView is what GET, PUT and DELETE /api/v1/passphrase and POST
// /api/v1/passphrase/skip answer.
type PassphraseView struct {
	// Set: the keystore (the identity and store keys) is sealed with a
	// passphrase, which every start then needs.
	Set bool `json:"set"`
	// Offered: the GUI has offered to set one (and the user set one or
	// skipped); it offers only once.
	Offered bool `json:"offered"`
}
