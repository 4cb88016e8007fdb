package localapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parley-im/parley"
)

// fakeNode is a map-backed localapi.Node: enough to test the HTTP layer (auth,
// routing, JSON, errors). Real-node tests live with the node.
type fakeNode struct {
	self parley.Self

	mu       sync.Mutex
	contacts map[string]parley.Contact // by peer ID; guarded by mu
	msgs     []parley.Message          // guarded by mu
	readWith []string                  // peers whose messages were marked read; guarded by mu
	groups   []*fakeGroup              // in creation order; guarded by mu
	readIn   []parley.ConversationID   // groups whose messages were marked read; guarded by mu
	subs     []chan parley.Event       // guarded by mu
	files    fakeFiles                 // guarded by mu
	private  bool                      // a swarm key, which refuses the public DHT; guarded by mu
	public   bool                      // in the public DHT; guarded by mu
	clock    *parley.Clock

	// subscribed receives one value per Subscribe call, so a test can
	// push an event only once the stream is listening.
	subscribed chan struct{}
	// dropped receives one value per subscription ended by its ctx.
	dropped chan struct{}
}

const (
	selfID  = "12D3KooWSelf"
	aliceID = "12D3KooWAlice"
	bobID   = "12D3KooWBob"
	strayID = "12D3KooWStray"
)

func newFakeNode() *fakeNode {
	added := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	return &fakeNode{
		self: parley.Self{PeerID: selfID, Name: "me", Addrs: []string{"/ip4/127.0.0.1/tcp/4001"},
			Invite: "PARLEY-INVITE-<me>", Fingerprint: "12345 67890"},
		contacts: map[string]parley.Contact{
			aliceID: {PeerID: aliceID, Name: "alice", State: parley.ContactAccepted, AddedAt: added},
			bobID:   {PeerID: bobID, Name: "bob", State: parley.ContactAccepted, AddedAt: added},
			strayID: {PeerID: strayID, Name: "stray", State: parley.ContactRequest, AddedAt: added},
		},
		files:      fakeFiles{downloads: "/home/me/.config/parley/downloads"},
		clock:      parley.NewClock(nil),
		subscribed: make(chan struct{}, 16),
		dropped:    make(chan struct{}, 16),
	}
}

func (f *fakeNode) Self() parley.Self {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.self
}

func (f *fakeNode) SetName(_ context.Context, name string) (parley.Self, error) {
	if strings.ContainsAny(name, "\n\x00") {
		return parley.Self{}, fmt.Errorf("%w: a name is one line of text", parley.ErrMalformed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.self.Name = name
	return f.self, nil
}

func (f *fakeNode) AddContact(_ context.Context, invite, name string) (parley.Contact, error) {
	peerID, ok := strings.CutPrefix(invite, "invite:")
	if !ok {
		return parley.Contact{}, fmt.Errorf("%w: no checksum", parley.ErrInvalidInvite)
	}
	if name == "" {
		name = "card name"
	}
	c := parley.Contact{PeerID: peerID, Name: name, State: parley.ContactAccepted}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contacts[peerID] = c
	return c, nil
}

func (f *fakeNode) list(state parley.ContactState) []parley.Contact {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []parley.Contact
	for _, c := range f.contacts {
		if c.State == state {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeNode) Contacts(context.Context) ([]parley.Contact, error) {
	return f.list(parley.ContactAccepted), nil
}

func (f *fakeNode) Requests(context.Context) ([]parley.Contact, error) {
	return f.list(parley.ContactRequest), nil
}

func (f *fakeNode) Accept(_ context.Context, peerID string) (parley.Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[peerID]
	if !ok || c.State != parley.ContactRequest {
		return parley.Contact{}, fmt.Errorf("request from %s: %w", peerID, parley.ErrNotFound)
	}
	c.State = parley.ContactAccepted
	f.contacts[peerID] = c
	return c, nil
}

func (f *fakeNode) Resolve(_ context.Context, nameOrID string) (parley.Contact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.contacts[nameOrID]; ok {
		return c, nil
	}
	var found []parley.Contact
	for _, c := range f.contacts {
		if c.Name == nameOrID {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return parley.Contact{}, parley.ErrUnknownContact
	case 1:
		return found[0], nil
	}
	return parley.Contact{}, parley.ErrAmbiguous
}

func (f *fakeNode) SafetyNumber(peerID string) (string, error) {
	return "safety:" + peerID, nil
}

func (f *fakeNode) Online(peerID string) bool { return peerID == aliceID }

func (f *fakeNode) Send(_ context.Context, to, text string) (parley.Message, error) {
	switch {
	case text == "":
		return parley.Message{}, parley.ErrEmptyText
	case len(text) > parley.MaxTextBytes:
		return parley.Message{}, parley.ErrTextTooLong
	case text == "boom":
		return parley.Message{}, fmt.Errorf("badger: write /secret/path: disk on fire")
	}
	m := parley.Message{
		ID:           parley.NewEnvelopeID([]byte(text)),
		Conversation: parley.DMConversationID(selfID, to),
		From:         selfID,
		To:           to,
		Outgoing:     true,
		Kind:         parley.KindText,
		Text:         text,
		HLC:          f.clock.Now(),
		Status:       parley.StatusQueued,
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
	return m, nil
}

// receive stores an incoming message, as the DM protocol would.
func (f *fakeNode) receive(from, text string) parley.Message {
	return f.receiveIn(parley.DMConversationID(selfID, from), []byte(from+text), from, text)
}

// receiveIn stores a text from from in conv, its ID made from seed.
func (f *fakeNode) receiveIn(conv parley.ConversationID, seed []byte, from, text string) parley.Message {
	m := parley.Message{
		ID:           parley.NewEnvelopeID(seed),
		Conversation: conv,
		From:         from,
		Kind:         parley.KindText,
		Text:         text,
		HLC:          f.clock.Now(),
		Status:       parley.StatusDelivered,
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
	return m
}

func (f *fakeNode) Messages(_ context.Context, peer string, limit int, markRead bool) ([]parley.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []parley.Message
	conv := parley.DMConversationID(selfID, peer)
	for _, m := range f.msgs {
		if m.Conversation == conv {
			out = append(out, m)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	if markRead {
		f.readWith = append(f.readWith, peer)
	}
	return out, nil
}

func (f *fakeNode) markedRead() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.readWith...)
}

func (f *fakeNode) Conversations(context.Context) ([]parley.Conversation, error) {
	convs := []parley.Conversation{{
		ID: parley.DMConversationID(selfID, aliceID), Kind: parley.ConversationDM,
		Peer: aliceID, LastHLC: f.clock.Now(), Unread: 2,
	}}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.groups {
		if g.State != parley.GroupInvited {
			convs = append(convs, parley.Conversation{ID: g.ID, Kind: parley.ConversationGroup,
				Name: g.Name, LastHLC: g.LastHLC, Unread: g.Unread})
		}
	}
	return convs, nil
}

func (f *fakeNode) Peers() []parley.PeerInfo {
	return []parley.PeerInfo{{PeerID: aliceID, Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, Name: "alice"}}
}

func (f *fakeNode) Status() parley.NetworkStatus {
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
func (f *fakeNode) setPrivate(private bool) {
	f.mu.Lock()
	f.private = private
	f.mu.Unlock()
}

func (f *fakeNode) SetPublicDHT(ctx context.Context, on bool) (parley.Settings, error) {
	f.mu.Lock()
	if on && f.private {
		f.mu.Unlock()
		return parley.Settings{}, fmt.Errorf("joining the public DHT: %w (swarm key)", parley.ErrPrivateNetwork)
	}
	f.public = on
	f.mu.Unlock()
	return f.Settings(ctx), nil
}

// Subscribe follows the node's contract: the channel closes when ctx ends
// (or when closeSubscribers cuts the reader off).
func (f *fakeNode) Subscribe(ctx context.Context) <-chan parley.Event {
	ch := make(chan parley.Event, 16)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		if f.drop(ch) {
			f.dropped <- struct{}{}
		}
	})
	f.subscribed <- struct{}{}
	return ch
}

func (f *fakeNode) drop(ch chan parley.Event) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.subs {
		if c == ch {
			f.subs = append(f.subs[:i], f.subs[i+1:]...)
			close(ch)
			return true
		}
	}
	return false
}

func (f *fakeNode) publish(e parley.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		ch <- e
	}
}

// closeSubscribers ends every stream, as a node does when it stops.
func (f *fakeNode) closeSubscribers() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		close(ch)
	}
	f.subs = nil
}
