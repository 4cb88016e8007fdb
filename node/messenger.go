package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// Messenger is what a user does with a node: contacts, requests,
// conversations, sending and reading. It implements gui.Node. Delivery is
// the dm package's; Messenger decides who may be written to and when a
// message counts as read.
type Messenger struct {
	// cur is the node running now: the one that made the Messenger, or
	// the one that replaced it when it restarted in place after linking
	// (restart.go). Read it through node.
	cur atomic.Pointer[Node]
	// lifeMu keeps a restart in place and Close apart; closed: Close was
	// called, so no restart may start another node.
	lifeMu sync.Mutex
	closed bool // guarded by lifeMu
	// linked is how this node was linked as a new device, once it
	// restarted on the person (linking.go); nil until then.
	linked atomic.Pointer[parley.LinkStatus]

	safetyMu sync.Mutex
	safety   map[peer.ID]string // guarded by safetyMu

	fingerprintOnce sync.Once
	fingerprintText string // set once by fingerprint

	cardMu     sync.Mutex
	cardKey    string // guarded by cardMu: name and addresses signedCard was made from
	cardSigned []byte // guarded by cardMu
}

// node is the node running now (cur).
func (m *Messenger) node() *Node { return m.cur.Load() }

// Self describes this node: peer ID, addresses, invite code, fingerprint.
func (m *Messenger) Self() parley.Self {
	n := m.node()
	card, signed := m.cardAndSigned()
	addrs := make([]string, len(card.Addrs))
	for i, a := range card.Addrs {
		addrs[i] = a.String() + "/p2p/" + n.host.ID().String()
	}
	long := ""
	if signed != nil {
		long = identity.EncodeInvite(signed)
	}
	return parley.Self{
		PeerID:      n.host.ID().String(),
		Name:        card.Name,
		Addrs:       addrs,
		Invite:      m.shortInvite(card),
		InviteLong:  long,
		Fingerprint: m.fingerprint(),
		DataDir:     n.dataDir,
	}
}

// SetName changes our display name: on our card (so on invites and on the
// card new contacts receive), for every contact (a card update, delivered
// through the outbox) and in groups we create or join from now on.
func (m *Messenger) SetName(ctx context.Context, name string) (parley.Self, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return parley.Self{}, fmt.Errorf("%w: a name cannot be empty", parley.ErrMalformed)
	}
	if err := identity.CheckName(name); err != nil {
		return parley.Self{}, err
	}
	if err := m.node().saveProfile(name); err != nil {
		return parley.Self{}, err
	}
	m.node().announceCard()
	return m.Self(), nil
}

// fingerprint is our half of every safety number; it costs thousands of
// hashes, so it is computed once.
func (m *Messenger) fingerprint() string {
	m.fingerprintOnce.Do(func() { m.fingerprintText = identity.Fingerprint(m.node().host.ID()) })
	return m.fingerprintText
}

// maxCardAddrs keeps invites short enough to copy and to fit a QR code.
const maxCardAddrs = 8

// card is our contact card as of now: name and dialable addresses.
func (m *Messenger) card() identity.Card {
	n := m.node()
	name := DefaultName
	// A name saved before CheckName refused invisible characters would make
	// the card unsignable: it is left off until the user picks another.
	if self, err := n.store.Contact(n.host.ID().String()); err == nil && identity.CheckName(self.Name) == nil {
		name = self.Name
	}
	addrs := slices.Clone(n.host.Addrs())
	// Most useful first: public, then LAN, then loopback.
	rank := func(a ma.Multiaddr) int {
		switch {
		case manet.IsPublicAddr(a):
			return 0
		case manet.IsPrivateAddr(a):
			return 1
		default:
			return 2
		}
	}
	slices.SortStableFunc(addrs, func(a, b ma.Multiaddr) int { return rank(a) - rank(b) })
	if len(addrs) > maxCardAddrs {
		addrs = addrs[:maxCardAddrs]
	}
	return identity.Card{PeerID: n.host.ID(), Name: name, HPKEKey: n.id.HPKEPublicKey(), Addrs: addrs, Mailboxes: n.cardMailboxes()}
}

// signedCard is our signed card, sent along with a new sending key. It is
// signed again only when the name, the addresses or the mailboxes change: a burst of
// messages to a new contact would otherwise sign it once per message.
func (m *Messenger) signedCard() []byte {
	_, signed := m.cardAndSigned()
	return signed
}

// cardAndSigned is our card as of now and its signed encoding (nil if it
// could not be signed).
func (m *Messenger) cardAndSigned() (identity.Card, []byte) {
	card := m.card()
	key := fmt.Sprint(card.Name, card.Addrs, card.Mailboxes)
	m.cardMu.Lock()
	defer m.cardMu.Unlock()
	if key == m.cardKey {
		return card, m.cardSigned
	}
	signed, err := m.node().id.SignCard(card)
	if err != nil && len(card.Mailboxes) > 0 {
		// Over MaxCardSize (very long addresses): contacts can still find
		// the mailboxes by peer ID. Failing that, the card goes without
		// them rather than not at all.
		card.Mailboxes = slices.Clone(card.Mailboxes)
		for i := range card.Mailboxes {
			card.Mailboxes[i].Addrs = nil
		}
		if signed, err = m.node().id.SignCard(card); err != nil {
			card.Mailboxes = nil
			signed, err = m.node().id.SignCard(card)
		}
	}
	if err != nil {
		m.node().log.Error("signing our contact card", "err", err)
		return card, nil
	}
	m.cardKey, m.cardSigned = key, signed
	return card, signed
}

// AddContact adds the person whose invite code this is: a long code gives
// their card, a short one the way to fetch it from them. If they are not
// reachable then, the code is kept as a pending contact, added once they
// are (pending_invites.go): the contact returned has State
// parley.ContactPending. Adding someone who already wrote to us accepts
// their request.
// The warning, empty when all is well, says when the contact's name looks
// like another contact's or ours (identity.NamesLookAlike): an impostor may
// be borrowing it.
func (m *Messenger) AddContact(ctx context.Context, invite, name string) (c parley.Contact, warning string, err error) {
	inv, err := identity.ParseInvite(invite)
	if err != nil {
		return parley.Contact{}, "", err
	}
	if inv.PeerID == m.node().host.ID() {
		return parley.Contact{}, "", fmt.Errorf("%w: this is your own invite", parley.ErrInvalidInvite)
	}
	name = strings.TrimSpace(name)
	if err := identity.CheckName(name); err != nil {
		return parley.Contact{}, "", err
	}
	card := inv.Card
	if inv.Short() {
		if card, err = m.fetchInviteCard(ctx, inv); errors.Is(err, parley.ErrInviterUnreachable) {
			c, err := m.keepPending(inv, invite, name, err)
			return c, "", err
		} else if err != nil {
			return parley.Contact{}, "", err
		}
	}
	return m.addCard(card, name)
}

// addCard adds (or updates) the contact of a card, from an invite, with
// the name the user typed, if any.
func (m *Messenger) addCard(card identity.Card, name string) (c parley.Contact, warning string, err error) {
	fromCard := card.Contact()
	var wasAccepted, wasRequest bool
	c, err = m.node().store.UpdateContact(fromCard.PeerID, func(c *parley.Contact, found bool) (bool, error) {
		wasAccepted = found && c.State == parley.ContactAccepted
		wasRequest = found && c.State == parley.ContactRequest
		keepName := found && c.State == parley.ContactAccepted && name == ""
		old := *c
		*c = fromCard
		c.AddedAt = time.Now().UTC()
		if found {
			c.AddedAt = old.AddedAt
			// A card update applied before is newer than the invite
			// may be: it stays the mark later updates must pass.
			c.CardHLC = old.CardHLC
			// The user's verification stays with the contact; storage
			// clears it if this card brings another key.
			c.Verified, c.KeysChanged = old.Verified, old.KeysChanged
			if old.CardHLC != 0 {
				c.Mailboxes = old.Mailboxes
			}
		}
		switch {
		case name != "":
			// Their own name, typed again, is no name of the user's.
			c.Name, c.LocalName = name, name != fromCard.Name
		case keepName:
			c.Name, c.LocalName = old.Name, old.LocalName // keep the name the user chose
		}
		return true, nil
	})
	if err != nil {
		return parley.Contact{}, "", err
	}
	m.node().dropPending(c.PeerID, "added")
	m.node().learnAddrs(card.PeerID, c.Addrs)
	m.node().reach(card.PeerID)
	if !wasAccepted {
		m.node().contactEstablished(c, wasRequest)
	}
	if wasRequest {
		// Adding a stranger's invite accepts their request, as Accept
		// does: what was read meanwhile is now theirs to know.
		if err := m.sendHeldReadReceipts(c); err != nil {
			m.node().log.Warn("read receipts for an accepted request", "peer", c.PeerID, "err", err)
		}
	}
	return c, m.lookAlikeWarning(c), nil
}

// lookAlikeWarning names the accepted contact (or ourselves) whose name
// looks like c's, or is empty.
func (m *Messenger) lookAlikeWarning(c parley.Contact) string {
	all, err := m.node().store.Contacts()
	if err != nil {
		m.node().log.Warn("comparing a new contact's name", "err", err)
		return ""
	}
	self := m.node().host.ID().String()
	for _, o := range all {
		if o.PeerID == c.PeerID || o.State != parley.ContactAccepted || !identity.NamesLookAlike(o.Name, c.Name) {
			continue
		}
		if o.PeerID == self {
			return fmt.Sprintf("%q looks like your own name: check the safety number before you trust them", c.Name)
		}
		return fmt.Sprintf("%q looks like your contact %q (%s), a different person: check the safety number before you trust them",
			c.Name, o.Name, o.PeerID)
	}
	return ""
}

// Contacts lists accepted contacts, by name.
func (m *Messenger) Contacts(ctx context.Context) ([]parley.Contact, error) {
	return m.contacts(parley.ContactAccepted)
}

// Requests lists strangers who wrote to us, but those the user blocked.
func (m *Messenger) Requests(ctx context.Context) ([]parley.Contact, error) {
	rs, err := m.contacts(parley.ContactRequest)
	return slices.DeleteFunc(rs, func(c parley.Contact) bool { return m.node().blockedID(c.PeerID) }), err
}

func (m *Messenger) contacts(state parley.ContactState) ([]parley.Contact, error) {
	all, err := m.node().store.Contacts()
	if err != nil {
		return nil, err
	}
	self := m.node().host.ID().String()
	out := all[:0]
	for _, c := range all {
		if c.State == state && c.PeerID != self {
			c.MailboxRevoked = m.node().isRevoked(c.PeerID)
			out = append(out, c)
		}
	}
	if state == parley.ContactAccepted {
		out = m.node().withLastSeen(out)
	}
	return out, nil
}

// Accept makes a request a contact: their messages move out of requests,
// and we may write back.
// nameOrID is a peer ID, or a request's name as Resolve takes names.
func (m *Messenger) Accept(ctx context.Context, nameOrID string) (parley.Contact, error) {
	peerID := nameOrID
	if _, err := peer.Decode(nameOrID); err != nil {
		r, err := m.matchContact(nameOrID, func(c parley.Contact) bool { return c.State != parley.ContactAccepted })
		if err != nil {
			if errors.Is(err, parley.ErrUnknownContact) {
				return parley.Contact{}, fmt.Errorf("%w: no request from %q", parley.ErrUnknownContact, nameOrID)
			}
			return parley.Contact{}, err
		}
		peerID = r.PeerID
	}
	accepted := false
	c, err := m.node().store.UpdateContact(peerID, func(c *parley.Contact, found bool) (bool, error) {
		if !found {
			return false, fmt.Errorf("%w: no request from %q", parley.ErrUnknownContact, peerID)
		}
		if c.State == parley.ContactAccepted {
			return false, nil
		}
		c.State, accepted = parley.ContactAccepted, true
		return true, nil
	})
	if err != nil {
		return parley.Contact{}, err
	}
	if p, err := peer.Decode(c.PeerID); err == nil {
		m.node().learnAddrs(p, c.Addrs)
	}
	if accepted {
		// The contact is accepted either way: a receipt that cannot be
		// queued now is not worth failing the accept for.
		if err := m.sendHeldReadReceipts(c); err != nil {
			m.node().log.Warn("read receipts for an accepted request", "peer", c.PeerID, "err", err)
		}
		m.node().contactEstablished(c, true)
	}
	return c, nil
}

// sendHeldReadReceipts tells a newly accepted contact which of their
// messages were read while they were a request: a stranger learns nothing
// from being read, a contact does.
func (m *Messenger) sendHeldReadReceipts(c parley.Contact) error {
	if len(c.HPKEKey) == 0 || m.node().receipts.readOff.Load() {
		return nil
	}
	msgs, err := m.node().store.Messages(parley.DMConversationID(m.node().host.ID().String(), c.PeerID), 0)
	if err != nil {
		return err
	}
	var read []parley.EnvelopeID
	for _, msg := range msgs {
		if !msg.Outgoing && msg.Status == parley.StatusRead {
			read = append(read, msg.ID)
		}
	}
	if len(read) == 0 {
		return nil
	}
	return m.node().dm.SendReadReceipt(c, read)
}

// Resolve finds a contact or request by peer ID, or by name as a person
// types it (matchContact).
func (m *Messenger) Resolve(ctx context.Context, nameOrID string) (parley.Contact, error) {
	c, err := m.matchContact(nameOrID, func(parley.Contact) bool { return true })
	c.MailboxRevoked = err == nil && m.node().isRevoked(c.PeerID)
	return c, err
}

// matchContact finds the one contact or request among those keep admits
// that nameOrID names: its peer ID; else its name, ignoring case; else its
// name as typed (identity.TypedName: no case, accents or emoji); else the
// one name that starts so. At each step an accepted contact wins over
// strangers who chose the same name, so no stranger can make a contact's
// name ambiguous; when several still match, the error lists them.
func (m *Messenger) matchContact(nameOrID string, keep func(parley.Contact) bool) (parley.Contact, error) {
	nameOrID = strings.TrimSpace(nameOrID)
	self := m.node().host.ID().String()
	if c, err := m.node().store.Contact(nameOrID); err == nil && c.PeerID != self && keep(c) {
		return c, nil
	} else if err != nil && !errors.Is(err, parley.ErrNotFound) {
		return parley.Contact{}, err
	}
	all, err := m.node().store.Contacts()
	if err != nil {
		return parley.Contact{}, err
	}
	all = slices.DeleteFunc(all, func(c parley.Contact) bool { return c.PeerID == self || !keep(c) })
	typed := identity.TypedName(nameOrID)
	typedNames := make(map[string]string, len(all)) // by peer ID, computed once
	for _, c := range all {
		typedNames[c.PeerID] = identity.TypedName(c.Name)
	}
	steps := []func(parley.Contact) bool{
		func(c parley.Contact) bool { return strings.EqualFold(c.Name, nameOrID) },
		func(c parley.Contact) bool { return typed != "" && typedNames[c.PeerID] == typed },
		func(c parley.Contact) bool { return typed != "" && strings.HasPrefix(typedNames[c.PeerID], typed) },
	}
	for _, matches := range steps {
		found := slices.DeleteFunc(slices.Clone(all), func(c parley.Contact) bool { return !matches(c) })
		if accepted := slices.DeleteFunc(slices.Clone(found), func(c parley.Contact) bool {
			return c.State != parley.ContactAccepted
		}); len(accepted) > 0 {
			found = accepted
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		names := make([]string, len(found))
		for i, c := range found {
			names[i] = fmt.Sprintf("%q (%s)", c.Name, c.PeerID)
		}
		slices.Sort(names)
		return parley.Contact{}, fmt.Errorf("%w: %d contacts match %q: %s; type more of the name, or a peer ID",
			parley.ErrAmbiguous, len(found), nameOrID, strings.Join(names, ", "))
	}
	return parley.Contact{}, fmt.Errorf("%w %q", parley.ErrUnknownContact, nameOrID)
}

// SetVerified marks an accepted contact verified (the user compared safety
// numbers) or not. Marking them verified clears "keys changed"; storage
// clears the mark itself when their key changes.
func (m *Messenger) SetVerified(ctx context.Context, contact string, verified bool) (parley.Contact, error) {
	r, err := m.Resolve(ctx, contact)
	if err != nil {
		return parley.Contact{}, err
	}
	c, err := m.node().store.UpdateContact(r.PeerID, func(c *parley.Contact, found bool) (bool, error) {
		switch {
		case !found:
			return false, fmt.Errorf("%w %q", parley.ErrUnknownContact, contact)
		case c.State != parley.ContactAccepted:
			return false, fmt.Errorf("%w: %q is a request; accept it before you verify them", parley.ErrUnknownContact, c.Name)
		case verified && len(c.HPKEKey) == 0:
			return false, fmt.Errorf("%w: no key of %q is known yet to verify", parley.ErrNotFound, c.Name)
		case c.Verified == verified && !(verified && c.KeysChanged):
			return false, nil
		}
		c.Verified = verified
		return true, nil
	})
	if err != nil {
		return parley.Contact{}, err
	}
	m.node().hub.publish(parley.Event{Type: parley.EventContact, PeerID: c.PeerID})
	return c, nil
}

// SafetyNumber is the number both users see for their pair; equal numbers
// mean no one sits in the middle of the invite exchange.
func (m *Messenger) SafetyNumber(peerID string) (string, error) {
	p, err := peer.Decode(peerID)
	if err != nil {
		return "", fmt.Errorf("%w: peer ID %q", parley.ErrMalformed, peerID)
	}
	// Each costs thousands of hashes and a contact list asks for all of
	// them: remember them (a few dozen bytes per peer asked about).
	m.safetyMu.Lock()
	defer m.safetyMu.Unlock()
	if sn, ok := m.safety[p]; ok {
		return sn, nil
	}
	if m.safety == nil || len(m.safety) >= maxSafetyNumbers {
		m.safety = make(map[peer.ID]string)
	}
	sn := identity.SafetyNumber(m.node().host.ID(), p)
	m.safety[p] = sn
	return sn, nil
}

// maxSafetyNumbers bounds the safety-number cache; past it, it starts over.
const maxSafetyNumbers = 1024

// Online reports whether the peer is connected now, directly or through a
// relay.
func (m *Messenger) Online(peerID string) bool {
	p, err := peer.Decode(peerID)
	return err == nil && reachable(m.node().host.Network().Connectedness(p))
}

// reachable: messages can go to a peer so connected. A limited (relayed)
// connection carries direct messages and sync, though not files or
// GossipSub.
func reachable(c network.Connectedness) bool {
	return c == network.Connected || c == network.Limited
}

// Send writes text to a contact. It returns once the message is stored and
// queued; delivery follows in the background. The DM service checks the
// text (parley.ErrEmptyText, parley.ErrTextTooLong). cid (zero: none)
// makes a retry return the message stored the first time.
func (m *Messenger) Send(ctx context.Context, to, text string, cid parley.ClientID) (parley.Message, error) {
	c, err := m.Resolve(ctx, to)
	if err != nil {
		return parley.Message{}, err
	}
	if c.State != parley.ContactAccepted {
		return parley.Message{}, fmt.Errorf("%w: %q is a request; accept it first (parley accept %s)", parley.ErrUnknownContact, to, c.PeerID)
	}
	return m.node().dm.SendText(c, text, cid)
}

// Messages lists the conversation with a contact or request. markRead is
// the user viewing it: incoming messages become read, and a contact (not a
// stranger) gets a read receipt.
func (m *Messenger) Messages(ctx context.Context, with string, p parley.Page, markRead bool) ([]parley.Message, error) {
	c, err := m.Resolve(ctx, with)
	if err != nil {
		return nil, err
	}
	// The person's conversation: on a device linked from another's store,
	// the history it came with (a person of one device: its peer ID).
	conv := parley.DMConversationID(m.node().personID(), c.PeerID)
	msgs, err := m.node().store.MessagesIn(conv, p)
	if err != nil {
		return nil, err
	}
	if err := m.queuedReasons(msgs); err != nil {
		return nil, err
	}
	// On a full disk the store is read-only: the messages are shown, and
	// stay unread until space is freed.
	if markRead && m.node().store.SpaceErr() == nil {
		if err := m.markRead(c, msgs); err != nil && !errors.Is(err, parley.ErrNoSpace) {
			return nil, err
		}
	}
	return m.node().decorate(msgs)
}

// queuedReasons says, of each outgoing message still queued, why.
func (m *Messenger) queuedReasons(msgs []parley.Message) error {
	for i := range msgs {
		if !msgs[i].Outgoing || msgs[i].Status != parley.StatusQueued {
			continue
		}
		r, err := m.node().store.QueuedReason(msgs[i].ID)
		if err != nil {
			return err
		}
		msgs[i].Reason = r
	}
	return nil
}

// markRead marks the incoming messages among shown as read, in place: only
// what the user is shown counts as read, not the rest of a long backlog.
func (m *Messenger) markRead(c parley.Contact, shown []parley.Message) error {
	var ids, unreceipted []parley.EnvelopeID
	for _, msg := range shown {
		switch {
		case msg.Outgoing || msg.Status >= parley.StatusRead:
		case msg.Kind == parley.KindMailboxOffer: // offers are never receipted
			unreceipted = append(unreceipted, msg.ID)
		default:
			ids = append(ids, msg.ID)
		}
	}
	if len(ids) == 0 && len(unreceipted) == 0 {
		return nil
	}
	if err := m.node().store.NoteReceipts(shown[0].Conversation, m.node().host.ID().String(), nil, ids, parley.NewHLC(time.Now(), 0)); err != nil {
		m.node().log.Debug("noting when messages were read", "err", err)
	}
	// Read receipts off: the messages are read here, and the contact is
	// not told.
	if c.State != parley.ContactAccepted || len(c.HPKEKey) == 0 || m.node().receipts.readOff.Load() || m.node().blockedID(c.PeerID) {
		ids, unreceipted = nil, append(unreceipted, ids...)
	}
	if len(ids) > 0 {
		if err := m.node().dm.SendReadReceipt(c, ids); err != nil {
			return err
		}
	}
	if len(unreceipted) > 0 {
		if _, err := m.node().store.AdvanceStatus(unreceipted, parley.StatusRead); err != nil {
			return err
		}
	}
	for i := range shown {
		if !shown[i].Outgoing && shown[i].Status < parley.StatusRead {
			shown[i].Status = parley.StatusRead
		}
	}
	m.node().hub.publish(parley.Event{Type: parley.EventRead, Conversation: shown[0].Conversation})
	return nil
}

// Conversations lists conversations, most recent first. A group shows up
// once we accept its invite.
func (m *Messenger) Conversations(ctx context.Context) ([]parley.Conversation, error) {
	convs, err := m.node().store.Conversations()
	if err != nil {
		return nil, err
	}
	convs = slices.DeleteFunc(convs, func(c parley.Conversation) bool {
		if c.Kind != parley.ConversationGroup {
			return false
		}
		state, err := m.node().groups.State(c.ID)
		return err != nil || state == parley.GroupInvited
	})
	// A group's stored conversation keeps the name it was created (or
	// joined) under; its ops say what it is called now.
	for i, c := range convs {
		if c.Kind == parley.ConversationGroup {
			if name, err := m.node().groups.Name(c.ID); err == nil {
				convs[i].Name = name
			}
		}
	}
	return m.node().decorateConversations(convs)
}

// Peers lists connected peers with the addresses we reach them on.
func (m *Messenger) Peers() []parley.PeerInfo {
	connected := m.connectedPeers()
	out := make([]parley.PeerInfo, len(connected))
	for i, c := range connected {
		out[i] = parley.PeerInfo{PeerID: c.PeerID, Addrs: c.Addrs, Name: c.Name}
	}
	return out
}

// Subscribe streams events until ctx ends.
func (m *Messenger) Subscribe(ctx context.Context) <-chan parley.Event {
	return m.node().hub.subscribe(ctx)
}
