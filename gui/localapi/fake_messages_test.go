package localapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/parley-im/parley"
)

// fakeMessages is the fake node's contacts and direct messages. It
// resolves contacts as the node does, with errors that name the contact.
type fakeMessages struct {
	clock  *parley.Clock
	groups *fakeGroups // for the group conversations

	mu       sync.Mutex
	self     parley.Self               // guarded by mu
	contacts map[string]parley.Contact // by peer ID; guarded by mu
	msgs     []parley.Message          // guarded by mu
	readWith []string                  // peers whose messages were marked read; guarded by mu
	safety   map[string]string         // safety numbers set by a test, by peer ID; guarded by mu

	pending map[string]parley.PendingContact // fake_pending_test.go; guarded by mu
}

func (f *fakeMessages) Self() parley.Self {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.self
}

// Devices is a person of one device, this fake node, named "laptop".
func (f *fakeMessages) Devices(context.Context) ([]parley.Device, error) {
	return []parley.Device{{PeerID: selfID, Name: "laptop", This: true}}, nil
}

func (f *fakeMessages) SetName(_ context.Context, name string) (parley.Self, error) {
	if strings.ContainsAny(name, "\n\x00") {
		return parley.Self{}, fmt.Errorf("%w: a name is one line of text", parley.ErrMalformed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.self.Name = name
	return f.self, nil
}

// ResetInvite changes the code, as a new secret does.
func (f *fakeMessages) ResetInvite(context.Context) (parley.Self, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.self.Invite += "'"
	return f.self, nil
}

// AddContact warns, as the node does in a finer way, when another contact
// has the same name but for case.
func (f *fakeMessages) AddContact(_ context.Context, invite, name string) (parley.Contact, string, error) {
	if c, ok := f.addPending(invite, name); ok {
		return c, "", nil
	}
	peerID, ok := strings.CutPrefix(invite, "invite:")
	if !ok {
		return parley.Contact{}, "", fmt.Errorf("%w: no checksum", parley.ErrInvalidInvite)
	}
	if name == "" {
		name = "card name"
	}
	c := parley.Contact{PeerID: peerID, Name: name, State: parley.ContactAccepted}
	f.mu.Lock()
	defer f.mu.Unlock()
	var warning string
	for _, o := range f.contacts {
		if o.PeerID != peerID && strings.EqualFold(o.Name, name) {
			warning = fmt.Sprintf("%q looks like your contact %q", name, o.Name)
		}
	}
	f.contacts[peerID] = c
	return c, warning, nil
}

func (f *fakeMessages) list(state parley.ContactState) []parley.Contact {
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

func (f *fakeMessages) Contacts(context.Context) ([]parley.Contact, error) {
	return f.list(parley.ContactAccepted), nil
}

func (f *fakeMessages) Requests(context.Context) ([]parley.Contact, error) {
	return f.list(parley.ContactRequest), nil
}

func (f *fakeMessages) Accept(_ context.Context, peerID string) (parley.Contact, error) {
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

func (f *fakeMessages) SetVerified(ctx context.Context, contact string, verified bool) (parley.Contact, error) {
	c, err := f.Resolve(ctx, contact)
	if err != nil {
		return parley.Contact{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c.Verified = verified
	if verified {
		c.KeysChanged = false
	}
	f.contacts[c.PeerID] = c
	return c, nil
}

// addContact makes another contact, e.g. a second one with a name taken.
func (f *fakeMessages) addContact(c parley.Contact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contacts[c.PeerID] = c
}

// contact is the contact with a peer ID, if there is one.
func (f *fakeMessages) contact(peerID string) (parley.Contact, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[peerID]
	return c, ok
}

func (f *fakeMessages) Resolve(_ context.Context, nameOrID string) (parley.Contact, error) {
	nameOrID = strings.TrimSpace(nameOrID)
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
		return parley.Contact{}, fmt.Errorf("%w %q", parley.ErrUnknownContact, nameOrID)
	case 1:
		return found[0], nil
	}
	return parley.Contact{}, fmt.Errorf("%w: %d contacts are called %q; use a peer ID", parley.ErrAmbiguous, len(found), nameOrID)
}

func (f *fakeMessages) SafetyNumber(peerID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sn, ok := f.safety[peerID]; ok {
		return sn, nil
	}
	return "safety:" + peerID, nil
}

// setSafetyNumber makes SafetyNumber answer sn for a peer, e.g. a real
// number for a test that scans QR codes.
func (f *fakeMessages) setSafetyNumber(peerID, sn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.safety == nil {
		f.safety = make(map[string]string)
	}
	f.safety[peerID] = sn
}

func (f *fakeMessages) Send(ctx context.Context, to, text string, _ parley.ClientID) (parley.Message, error) {
	switch {
	case text == "":
		return parley.Message{}, parley.ErrEmptyText
	case len(text) > parley.MaxTextBytes:
		return parley.Message{}, parley.ErrTextTooLong
	case text == "boom":
		return parley.Message{}, fmt.Errorf("badger: write /secret/path: disk on fire")
	}
	c, err := f.Resolve(ctx, to)
	if err != nil {
		return parley.Message{}, err
	}
	m := parley.Message{
		ID:           parley.NewEnvelopeID([]byte(text)),
		Conversation: parley.DMConversationID(selfID, c.PeerID),
		From:         selfID,
		To:           c.PeerID,
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
func (f *fakeMessages) receive(from, text string) parley.Message {
	m := incoming(f.clock, parley.DMConversationID(selfID, from), []byte(from+text), from, text)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
	return m
}

// receiveOffer stores a contact's offer to hold our mail, as the DM
// protocol would.
func (f *fakeMessages) receiveOffer(from string) parley.Message {
	m := incoming(f.clock, parley.DMConversationID(selfID, from), []byte("offer from "+from), from, "/ip4/127.0.0.1/tcp/4009")
	m.Kind = parley.KindMailboxOffer
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, m)
	return m
}

// editMessage changes a stored message.
func (f *fakeMessages) editMessage(id parley.EnvelopeID, edit func(*parley.Message)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(&f.msgs[slices.IndexFunc(f.msgs, func(m parley.Message) bool { return m.ID == id })])
}

func (f *fakeMessages) Messages(ctx context.Context, with string, p parley.Page, markRead bool) ([]parley.Message, error) {
	c, err := f.Resolve(ctx, with)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out, err := pageIn(f.msgs, parley.DMConversationID(selfID, c.PeerID), p)
	if err != nil {
		return nil, err
	}
	if markRead {
		f.readWith = append(f.readWith, c.PeerID)
	}
	return out, nil
}

func (f *fakeMessages) markedRead() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.readWith...)
}

func (f *fakeMessages) Conversations(context.Context) ([]parley.Conversation, error) {
	convs := []parley.Conversation{{
		ID: parley.DMConversationID(selfID, aliceID), Kind: parley.ConversationDM,
		Peer: aliceID, LastHLC: f.clock.Now(), Unread: 2,
	}}
	return append(convs, f.groups.conversations()...), nil
}
