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
	PeerID  string       `json:"peer_id"` // libp2p peer ID, text form
	Name    string       `json:"name"`
	HPKEKey []byte       `json:"hpke_key,omitempty"` // MLKEM768X25519 public key
	Addrs   []string     `json:"addrs,omitempty"`    // multiaddrs last known
	State   ContactState `json:"state"`
	AddedAt time.Time    `json:"added_at"`
}

// Status is how far an outgoing message got; incoming messages are
// StatusDelivered until the user views them, then StatusRead.
type Status int

const (
	StatusQueued    Status = iota // stored and in the outbox
	StatusSent                    // written to the peer, not yet acknowledged
	StatusDelivered               // the peer stored it and acknowledged it
	StatusRead                    // the peer's user viewed it
	StatusFailed                  // the peer refused it for good
)

var statusNames = [...]string{"queued", "sent", "delivered", "read", "failed"}

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
)

// Message is one decrypted, verified envelope as the user sees it.
type Message struct {
	ID           EnvelopeID     `json:"id"`
	Conversation ConversationID `json:"conversation"`
	From         string         `json:"from"` // the verified signer's peer ID
	To           string         `json:"to,omitempty"`
	Outgoing     bool           `json:"outgoing"`
	Kind         Kind           `json:"kind"`
	Text         string         `json:"text,omitempty"`
	ReplyTo      *EnvelopeID    `json:"reply_to,omitempty"`
	// FileID names the file of a KindFile message (hex).
	FileID string `json:"file_id,omitempty"`
	HLC    HLC    `json:"hlc"`
	Status Status `json:"status"`
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
	ID      ConversationID   `json:"id"`
	Kind    ConversationKind `json:"kind"`
	Peer    string           `json:"peer,omitempty"` // DMs: the other member
	Name    string           `json:"name,omitempty"` // groups: the group's name
	LastHLC HLC              `json:"last_hlc"`       // the newest message's timestamp
	Unread  int              `json:"unread"`
}

// Self describes this node to its user.
type Self struct {
	PeerID string   `json:"peer_id"`
	Name   string   `json:"name"`
	Addrs  []string `json:"addrs"`
	Invite string   `json:"invite"`
	// Fingerprint is this identity's own safety-number half, for comparing
	// out of band.
	Fingerprint string `json:"fingerprint"`
	// DataDir is where the node keeps its keys and store.
	DataDir string `json:"data_dir"`
}

// PeerInfo is a connected peer.
type PeerInfo struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	Name   string   `json:"name,omitempty"` // the contact's name, where known
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
)

// Event is what the node tells the GUI, the CLI and bots as it happens.
type Event struct {
	Type    EventType `json:"type"`
	Message *Message  `json:"message,omitempty"` // message, status
	PeerID  string    `json:"peer_id,omitempty"` // presence, request
	Online  bool      `json:"online,omitempty"`  // presence
	Group   *Group    `json:"group,omitempty"`   // group
	File    *File     `json:"file,omitempty"`    // file
	// Conversation is the conversation read (read).
	Conversation ConversationID `json:"conversation,omitzero"`
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
	Reachability Reachability `json:"reachability"`
	// ListenAddrs are the sockets the node listens on (0.0.0.0 and :: stand
	// for every interface); AnnouncedAddrs are the addresses it tells peers.
	ListenAddrs    []string `json:"listen_addrs"`
	AnnouncedAddrs []string `json:"announced_addrs"`
	// ObservedAddrs are the addresses connected peers see the node's
	// direct connections come from (identify), the most reported first. A
	// NAT shows here as a public address the node does not listen on; a
	// symmetric NAT, as a different port for each peer.
	ObservedAddrs []string `json:"observed_addrs"`
	// Relays are the relays the node is reachable through (each relay's
	// address, with its /p2p/ID).
	Relays []string        `json:"relays"`
	Peers  []ConnectedPeer `json:"peers"`
	// DHTMode is "server" while the node answers DHT queries for others,
	// "client" while it only asks.
	DHTMode  string `json:"dht_mode"`
	DHTPeers int    `json:"dht_peers"` // peers in the DHT routing table
	MDNS     bool   `json:"mdns"`      // LAN discovery is running
	// RelayService: the node serves as a circuit relay (v2) for peers
	// behind NATs, as it does while publicly reachable.
	RelayService bool `json:"relay_service"`
	// PublicDHT: the node is in the public IPFS DHT (Settings.PublicDHT);
	// PublicDHTPeers is the size of that DHT's routing table (0 while off).
	PublicDHT      bool `json:"public_dht"`
	PublicDHTPeers int  `json:"public_dht_peers"`
	// PrivateNetwork: a swarm key fences the node off from every peer
	// that does not hold the same key.
	PrivateNetwork bool `json:"private_network"`
}

// ConnectedPeer is a peer we have a connection to, and how.
type ConnectedPeer struct {
	PeerID string `json:"peer_id"`
	Name   string `json:"name"` // the contact's name; empty for a stranger
	// Transport is that of the best connection to the peer (direct before
	// relayed): "tcp", "quic-v1", "relayed", or another libp2p transport's
	// name.
	Transport string `json:"transport"`
	// Direction is who dialed that connection: "inbound" or "outbound".
	Direction string `json:"direction"`
	// Addrs are the peer's addresses of every connection to it, that
	// connection's first.
	Addrs []string `json:"addrs"`
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
	ID    ConversationID `json:"id"`
	Name  string         `json:"name"`
	State GroupState     `json:"state"`
	// Role is our own role while we are a member.
	Role    Role `json:"role,omitempty"`
	Members int  `json:"members"`
	// InvitedBy is the contact who invited us (peer ID).
	InvitedBy string `json:"invited_by,omitempty"`
	LastHLC   HLC    `json:"last_hlc"`
	Unread    int    `json:"unread"`
}

// GroupMember is one member of a group.
type GroupMember struct {
	PeerID string `json:"peer_id"`
	Name   string `json:"name"` // the contact's name, else the name on the card the adder sent
	Role   Role   `json:"role"`
	// AddedBy is the admin who added the member (the creator adds itself).
	AddedBy string `json:"added_by"`
	Self    bool   `json:"self,omitempty"`
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
	ID           string         `json:"id"` // hex
	Conversation ConversationID `json:"conversation"`
	Message      EnvelopeID     `json:"message"` // the offer
	Name         string         `json:"name"`
	Size         int64          `json:"size"`
	MediaType    string         `json:"media_type,omitempty"`
	From         string         `json:"from"`
	Outgoing     bool           `json:"outgoing"`
	State        FileState      `json:"state"`
	BytesDone    int64          `json:"bytes_done"`
	// Path is where the file is: ours, the file we offered; theirs, once
	// complete, the verified copy in the downloads folder.
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
	// ServedBytes, for our offers: everything uploaded since the node
	// started, to anyone (a group's members share the load).
	ServedBytes int64 `json:"served_bytes,omitempty"`
}

// Settings are the user's choices that the node keeps across restarts.
type Settings struct {
	// AutoAcceptBytes: files from contacts up to this size are fetched
	// without asking; -1: never.
	AutoAcceptBytes int64 `json:"auto_accept_bytes"`
	// Downloads is where received files are saved.
	Downloads string `json:"downloads"`
	// PublicDHT: the node is in the public IPFS DHT, to find and be found
	// by contacts on other networks (it publishes there only a key hashed
	// from its peer ID, and its addresses). On when chosen here or by
	// `parley run --public-dht`; never in a private network.
	PublicDHT bool `json:"public_dht"`
}
