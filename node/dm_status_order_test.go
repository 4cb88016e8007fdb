package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// A message's status, as the API shows it, never goes back: once an event
// said "delivered", the message list and the message's info say so too
// (or better), even though the node announces it when the ack arrives and
// writes it with the store's next commit.
func TestDMStatusShownNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)

	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	events := alice.Messenger().Subscribe(sub)

	const messages = 120
	var wg sync.WaitGroup
	sent := make(chan parley.EnvelopeID, messages)
	for w := range 6 { // concurrent sends: several envelopes in a push, acks while others are written
		wg.Go(func() {
			for i := w; i < messages; i += 6 {
				m, err := alice.Messenger().Send(ctx, "bob", fmt.Sprintf("message %d", i), parley.ClientID{})
				if err != nil {
					t.Error(err)
					return
				}
				sent <- m.ID
			}
		})
	}

	// shown is the best status the API showed so far, per message.
	shown := make(map[parley.EnvelopeID]parley.Status)
	check := func(what string, id parley.EnvelopeID, s parley.Status) {
		t.Helper()
		if s.Rank() < shown[id].Rank() {
			t.Errorf("%s shows message %s %v after the API showed it %v", what, id, s, shown[id])
		}
		if s.Rank() > shown[id].Rank() {
			shown[id] = s
		}
	}
	delivered := 0
	for delivered < messages {
		e, ok := <-events
		if !ok {
			t.Fatal("event stream closed")
		}
		if e.Type != parley.EventStatus {
			continue
		}
		id := e.Message.ID
		check("an event", id, e.Message.Status)
		if e.Message.Status == parley.StatusDelivered {
			delivered++
		}
		// Right after the event: the message's info, then the list.
		info, err := alice.Messenger().MessageInfo(ctx, "bob", id.String())
		if err != nil {
			t.Fatal(err)
		}
		check("message info", id, info.Message.Status)
		if len(info.Recipients) != 1 || info.Recipients[0].Pending != nil || info.Recipients[0].Delivered == 0 {
			t.Errorf("message info of a delivered message says it is pending, or not when it was delivered: %+v", info.Recipients)
		}
		list, err := alice.Messenger().Messages(ctx, "bob", parley.Page{}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if _, seen := shown[m.ID]; seen {
				check("the message list", m.ID, m.Status)
			}
		}
	}
	wg.Wait()
	close(sent)
	for id := range sent {
		if shown[id] != parley.StatusDelivered {
			t.Errorf("message %s: the API showed %v, want delivered", id, shown[id])
		}
	}

	// After a clean restart the statuses are on disk, and nothing is
	// pushed again.
	alice.Restart()
	for _, m := range alice.Messages("bob") {
		check("the message list after a restart", m.ID, m.Status)
	}
	got := bob.Messages("alice")
	if len(got) != messages {
		t.Fatalf("bob holds %d messages, want %d", len(got), messages)
	}
	// Bob's side says when he got each (noted with the record itself).
	for _, m := range got[:3] {
		info, err := bob.Messenger().MessageInfo(ctx, "alice", m.ID.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Recipients) != 1 || info.Recipients[0].Delivered == 0 {
			t.Errorf("bob's message info of %s says nothing of when he got it: %+v", m.ID, info.Recipients)
		}
	}
}
