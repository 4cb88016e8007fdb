package localapi_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/localapi"
)

// fakeNode is the node as the API's tests see it: one small map-backed
// fake per role, enough to test the HTTP layer (auth, routing, JSON,
// errors), linked where the roles meet (a group's members and a file's
// recipient are contacts). Real-node tests live with the node.
type fakeNode struct {
	*fakeMessages
	*fakeGroups
	*fakeFiles
	*fakeNetwork
	*fakeEvents
	*fakeKeystore
	*fakeBlocks
	*fakeLinker
}

const (
	selfID  = "12D3KooWSelf"
	aliceID = "12D3KooWAlice"
	bobID   = "12D3KooWBob"
	strayID = "12D3KooWStray"
)

func newFakeNode() *fakeNode {
	added := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	clock := parley.NewClock(nil)
	msgs := &fakeMessages{
		clock: clock,
		self: parley.Self{PeerID: selfID, Name: "me", Addrs: []string{"/ip4/127.0.0.1/tcp/4001"},
			Invite: "PARLEY-INVITE-<me>", InviteLong: "PARLEY-LONG-INVITE-<me>", Fingerprint: "12345 67890"},
		contacts: map[string]parley.Contact{
			aliceID: {PeerID: aliceID, Name: "alice", State: parley.ContactAccepted, AddedAt: added},
			bobID:   {PeerID: bobID, Name: "bob", State: parley.ContactAccepted, AddedAt: added},
			strayID: {PeerID: strayID, Name: "stray", State: parley.ContactRequest, AddedAt: added},
		},
	}
	groups := &fakeGroups{clock: clock, dm: msgs}
	msgs.groups = groups
	return &fakeNode{
		fakeMessages: msgs,
		fakeGroups:   groups,
		fakeFiles:    &fakeFiles{dm: msgs, groups: groups},
		fakeNetwork:  &fakeNetwork{downloads: "/home/me/.config/parley/downloads", dm: msgs},
		fakeEvents:   &fakeEvents{subscribed: make(chan struct{}, 16), dropped: make(chan struct{}, 16)},
		fakeKeystore: &fakeKeystore{},
		fakeBlocks:   &fakeBlocks{dm: msgs},
		fakeLinker:   &fakeLinker{},
	}
}

// config is cfg with n in every role.
func (n *fakeNode) config(cfg localapi.Config) localapi.Config {
	cfg.Messages, cfg.Groups, cfg.Files, cfg.Network, cfg.Events, cfg.Keystore, cfg.Presence =
		n.fakeMessages, n.fakeGroups, n.fakeFiles, n.fakeNetwork, n.fakeEvents, n.fakeKeystore, &fakePresence{n: n.fakeNetwork}
	cfg.Blocks = n.fakeBlocks
	cfg.Linker = n.fakeLinker
	return cfg
}

// incoming is a text from from in conv, its ID made from seed, as the DM
// and group protocols store one.
func incoming(clock *parley.Clock, conv parley.ConversationID, seed []byte, from, text string) parley.Message {
	return parley.Message{
		ID:           parley.NewEnvelopeID(seed),
		Conversation: conv,
		From:         from,
		Kind:         parley.KindText,
		Text:         text,
		HLC:          clock.Now(),
		Status:       parley.StatusDelivered,
	}
}

// pageIn is the page p of conv among msgs (which are in display order),
// as the store pages: Before and After exclusive, Limit counted from the
// end the reader moves towards, an ID not in conv parley.ErrNotFound.
func pageIn(msgs []parley.Message, conv parley.ConversationID, p parley.Page) ([]parley.Message, error) {
	var out []parley.Message
	for _, m := range msgs {
		if m.Conversation == conv {
			out = append(out, m)
		}
	}
	at := func(id *parley.EnvelopeID) (int, error) {
		i := slices.IndexFunc(out, func(m parley.Message) bool { return m.ID == *id })
		if i < 0 {
			return 0, fmt.Errorf("%w: no message %s here", parley.ErrNotFound, *id)
		}
		return i, nil
	}
	lo, hi := 0, len(out)
	if p.Before != nil {
		i, err := at(p.Before)
		if err != nil {
			return nil, err
		}
		hi = i
	}
	if p.After != nil {
		i, err := at(p.After)
		if err != nil {
			return nil, err
		}
		lo = min(i+1, hi)
	}
	out = out[lo:hi]
	if p.Limit > 0 && len(out) > p.Limit {
		if p.After != nil {
			return out[:p.Limit], nil
		}
		return out[len(out)-p.Limit:], nil
	}
	return out, nil
}
