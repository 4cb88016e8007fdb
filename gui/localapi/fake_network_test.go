package localapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/parley-im/parley"
)

// fakeNetwork is the fake node's connections and settings: alice is
// online, nothing else changes but the settings.
type fakeNetwork struct {
	mu         sync.Mutex
	private    bool  // a swarm key, which refuses the public DHT; guarded by mu
	public     bool  // in the public DHT; guarded by mu
	autoAccept int64 // guarded by mu
	downloads  string
	mailboxes  []parley.Mailbox // guarded by mu
	// The mailbox service ("Hold mail for others"): on, and whether a
	// flag set it at start; guarded by mu.
	mailboxService, mailboxAtStart bool
	dismissed                      map[parley.EnvelopeID]bool // offers dismissed; guarded by mu
	// The presence settings, off (fake_presence_test.go); guarded by mu.
	typingOff, lastSeenOff bool
	readReceiptsOff        bool          // guarded by mu
	dm                     *fakeMessages // where offers are sent and received
}

// offerAddr is where the fake node's mailbox service listens.
const offerAddr = "/ip4/127.0.0.1/tcp/4001"

func (f *fakeNetwork) SetMailboxService(ctx context.Context, on bool) (parley.Settings, error) {
	f.mu.Lock()
	if f.mailboxAtStart {
		f.mu.Unlock()
		return parley.Settings{}, fmt.Errorf("hold mail for others: %w", parley.ErrSetAtStart)
	}
	f.mailboxService = on
	f.mu.Unlock()
	return f.Settings(ctx), nil
}

func (f *fakeNetwork) OfferMailbox(ctx context.Context, contact string) (parley.Message, error) {
	f.mu.Lock()
	on := f.mailboxService
	f.mu.Unlock()
	if !on {
		return parley.Message{}, fmt.Errorf("%w: turn it on first", parley.ErrMailboxServiceOff)
	}
	c, err := f.dm.Resolve(ctx, contact)
	if err != nil {
		return parley.Message{}, err
	}
	m := parley.Message{ID: parley.NewEnvelopeID([]byte("offer to " + c.PeerID)), Conversation: parley.DMConversationID(selfID, c.PeerID),
		From: selfID, To: c.PeerID, Outgoing: true, Kind: parley.KindMailboxOffer, Text: offerAddr,
		HLC: f.dm.clock.Now(), Status: parley.StatusQueued}
	f.dm.mu.Lock()
	defer f.dm.mu.Unlock()
	f.dm.msgs = append(f.dm.msgs, m)
	return m, nil
}

func (f *fakeNetwork) MailboxOffer(ctx context.Context, m parley.Message) (parley.MailboxOffer, error) {
	if m.Kind != parley.KindMailboxOffer {
		return parley.MailboxOffer{}, parley.ErrMalformed
	}
	o := parley.MailboxOffer{Mailbox: parley.Mailbox{PeerID: m.From, Addrs: strings.Split(m.Text, "\n")}, State: parley.OfferOpen}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case m.Outgoing:
	case slices.ContainsFunc(f.mailboxes, func(mb parley.Mailbox) bool { return mb.PeerID == m.From }):
		o.State = parley.OfferAccepted
	case f.dismissed[m.ID]:
		o.State = parley.OfferDismissed
	}
	return o, nil
}

// incomingOffer finds an offer to us, as the node does.
func (f *fakeNetwork) incomingOffer(id string) (parley.Message, error) {
	eid, err := parley.ParseEnvelopeID(id)
	if err != nil {
		return parley.Message{}, fmt.Errorf("%w: offer ID %q", parley.ErrMalformed, id)
	}
	f.dm.mu.Lock()
	defer f.dm.mu.Unlock()
	i := slices.IndexFunc(f.dm.msgs, func(m parley.Message) bool {
		return m.ID == eid && m.Kind == parley.KindMailboxOffer && !m.Outgoing
	})
	if i < 0 {
		return parley.Message{}, fmt.Errorf("mailbox offer %s: %w", id, parley.ErrNotFound)
	}
	return f.dm.msgs[i], nil
}

func (f *fakeNetwork) AcceptMailboxOffer(ctx context.Context, id string) (parley.Mailbox, error) {
	m, err := f.incomingOffer(id)
	if err != nil {
		return parley.Mailbox{}, err
	}
	mb := parley.Mailbox{PeerID: m.From, Addrs: strings.Split(m.Text, "\n")}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mailboxes = append(f.mailboxes, mb)
	return mb, nil
}

func (f *fakeNetwork) DismissMailboxOffer(ctx context.Context, id string) error {
	m, err := f.incomingOffer(id)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dismissed == nil {
		f.dismissed = make(map[parley.EnvelopeID]bool)
	}
	f.dismissed[m.ID] = true
	return nil
}

// mailboxOK is the one mailbox the fake reaches; any other address is
// unreachable.
const mailboxOK = "/ip4/127.0.0.1/tcp/4003/p2p/" + aliceID

func (f *fakeNetwork) Mailboxes(ctx context.Context) ([]parley.Mailbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mailboxes), nil
}

func (f *fakeNetwork) AddMailbox(ctx context.Context, addr string) (parley.Mailbox, error) {
	if !strings.HasPrefix(addr, "/") {
		return parley.Mailbox{}, fmt.Errorf("%w: mailbox address %q", parley.ErrMalformed, addr)
	}
	if addr != mailboxOK {
		return parley.Mailbox{}, fmt.Errorf("%w: %s is unreachable", parley.ErrMailboxUnavailable, addr)
	}
	m := parley.Mailbox{PeerID: aliceID, Addrs: []string{"/ip4/127.0.0.1/tcp/4003"}}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mailboxes = append(f.mailboxes, m)
	return m, nil
}

func (f *fakeNetwork) RemoveMailbox(ctx context.Context, peerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.mailboxes, func(m parley.Mailbox) bool { return m.PeerID == peerID })
	if i < 0 {
		return fmt.Errorf("mailbox %s: %w", peerID, parley.ErrNotFound)
	}
	f.mailboxes = slices.Delete(f.mailboxes, i, i+1)
	return nil
}

func (f *fakeNetwork) ResetMailbox(ctx context.Context, peerID string) ([]parley.Mailbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []parley.Mailbox
	for i := range f.mailboxes {
		if peerID == "" || f.mailboxes[i].PeerID == peerID {
			f.mailboxes[i].Generation++
			out = append(out, f.mailboxes[i])
		}
	}
	if peerID != "" && len(out) == 0 {
		return nil, fmt.Errorf("mailbox %s: %w", peerID, parley.ErrNotFound)
	}
	return out, nil
}

// RevokeMailboxCapability keeps the mark with the fake's contact.
func (f *fakeNetwork) RevokeMailboxCapability(ctx context.Context, contact string, revoke bool) (parley.Contact, error) {
	c, err := f.dm.Resolve(ctx, contact)
	if err != nil {
		return parley.Contact{}, err
	}
	f.dm.mu.Lock()
	defer f.dm.mu.Unlock()
	c.MailboxRevoked = revoke
	f.dm.contacts[c.PeerID] = c
	return c, nil
}

func (f *fakeNetwork) Online(peerID string) bool { return peerID == aliceID }

func (f *fakeNetwork) Peers() []parley.PeerInfo {
	return []parley.PeerInfo{{PeerID: aliceID, Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, Name: "alice"}}
}

func (f *fakeNetwork) Status() parley.NetworkStatus {
	st := parley.NetworkStatus{
		Reachability:   parley.ReachabilityPrivate,
		ListenAddrs:    []string{"/ip4/0.0.0.0/tcp/4001"},
		AnnouncedAddrs: []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/192.168.1.2/tcp/4001"},
		ObservedAddrs:  []string{"/ip4/127.0.0.1/tcp/52000"},
		Relays:         []string{},
		Peers: []parley.ConnectedPeer{{PeerID: aliceID, Name: "alice", Transport: "quic-v1", Direction: "outbound",
			Addrs: []string{"/ip4/127.0.0.1/udp/4002/quic-v1"}}},
		DHTMode:  "client",
		DHTPeers: 3,
		MDNS:     true,
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st.PrivateNetwork = f.private
	if f.public {
		st.PublicDHT, st.PublicDHTPeers = true, 20
	}
	return st
}

// setPrivate puts the node in a private network (or takes it out).
func (f *fakeNetwork) setPrivate(private bool) {
	f.mu.Lock()
	f.private = private
	f.mu.Unlock()
}

func (f *fakeNetwork) SetPublicDHT(ctx context.Context, on bool) (parley.Settings, error) {
	f.mu.Lock()
	if on && f.private {
		f.mu.Unlock()
		return parley.Settings{}, fmt.Errorf("joining the public DHT: %w (swarm key)", parley.ErrPrivateNetwork)
	}
	f.public = on
	f.mu.Unlock()
	return f.Settings(ctx), nil
}

func (f *fakeNetwork) Settings(context.Context) parley.Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	limit := f.autoAccept
	if limit == 0 {
		limit = 25 << 20
	}
	return parley.Settings{AutoAcceptBytes: limit, Downloads: f.downloads, PublicDHT: f.public,
		MailboxService: f.mailboxService, MailboxServiceAtStart: f.mailboxAtStart,
		TypingIndicators: !f.typingOff, LastSeen: !f.lastSeenOff, ReadReceipts: !f.readReceiptsOff}
}

func (f *fakeNetwork) SetAutoAccept(ctx context.Context, limit int64) (parley.Settings, error) {
	if limit < -1 {
		return parley.Settings{}, fmt.Errorf("%w: auto-accept limit %d (want -1 or more)", parley.ErrMalformed, limit)
	}
	if limit == 0 {
		limit = -1
	}
	f.mu.Lock()
	f.autoAccept = limit
	f.mu.Unlock()
	return f.Settings(ctx), nil
}
