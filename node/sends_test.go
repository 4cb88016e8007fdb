package node_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// A send repeated with its client ID (at once, concurrently, and after the
// sender restarted) stores and delivers one message, and every repeat
// answers that message: a client that lost the answer may retry.
func TestSendWithClientIDStoresOnce(t *testing.T) {
	ctx := context.Background()
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "team", alice, bob, carol)

	sends := []struct {
		name string
		send func(cid parley.ClientID) (parley.Message, error)
		held func(n *parleytest.Node) []string
	}{
		{"dm", func(cid parley.ClientID) (parley.Message, error) {
			return alice.Messenger().Send(ctx, "bob", "only once", cid)
		}, func(n *parleytest.Node) []string {
			if n == alice {
				return displayTexts(n.Messages("bob"))
			}
			return displayTexts(n.Messages("alice"))
		}},
		{"group", func(cid parley.ClientID) (parley.Message, error) {
			return alice.Messenger().SendToGroup(ctx, "team", "only once", cid)
		}, func(n *parleytest.Node) []string { return n.GroupTexts(g) }},
	}
	// No subtests: the nodes' helpers fail the test that started them.
	for _, s := range sends {
		func() {
			cid := parley.NewClientID()
			first, err := s.send(cid)
			if err != nil {
				t.Fatal(err)
			}
			same := func(what string, m parley.Message, err error) {
				t.Helper()
				if err != nil || m.ID != first.ID || m.Text != first.Text {
					t.Fatalf("%s %s: %s %q, %v; want the first message %s", s.name, what, m.ID, m.Text, err, first.ID)
				}
			}
			m, err := s.send(cid)
			same("repeat", m, err)

			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					m, err := s.send(cid)
					same("concurrent repeat", m, err)
				})
			}
			wg.Wait()

			alice.Restart()
			m, err = s.send(cid)
			same("repeat after a restart", m, err)

			// A fresh ID in the same race stores its own message, and the
			// same ID cannot name another text.
			racer := parley.NewClientID()
			var mu sync.Mutex
			ids := map[parley.EnvelopeID]bool{}
			for range 8 {
				wg.Go(func() {
					m, err := s.send(racer)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					ids[m.ID] = true
					mu.Unlock()
				})
			}
			wg.Wait()
			if len(ids) != 1 {
				t.Fatalf("%s: 8 concurrent first sends with one client ID stored %d messages", s.name, len(ids))
			}
			if _, err := alice.Messenger().Send(ctx, "carol", "only once", cid); !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("%s: a client ID reused for another conversation: %v, want ErrMalformed", s.name, err)
			}

			parleytest.Eventually(t, s.name+": bob holding both messages", func() bool { return len(s.held(bob)) == 2 })
			for _, n := range []*parleytest.Node{alice, bob} {
				if got := s.held(n); len(got) != 2 || got[0] != "only once" || got[1] != "only once" {
					t.Fatalf("%s: %s holds %q; want the message and the racers' one, once each", s.name, n.Name, got)
				}
			}
		}()
	}
}

// A group message written while every other member is offline is queued;
// once a member gets it by catch-up it is sent, and stays so after the
// sender restarts.
func TestGroupMessageQueuedUntilAMemberHoldsIt(t *testing.T) {
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "team", alice, bob, carol)

	bob.Stop()
	carol.Stop()
	parleytest.Eventually(t, "alice alone on the topic", func() bool {
		return !alice.Messenger().Online(bob.PeerID()) && !alice.Messenger().Online(carol.PeerID())
	})
	msg := alice.SendToGroup(g, "while you were out")
	if msg.Status != parley.StatusQueued {
		t.Fatalf("a message no member can get is %v, want queued", msg.Status)
	}
	status := func() parley.Status {
		ms, err := alice.Messenger().GroupMessages(context.Background(), g.String(), parley.Page{}, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.ID == msg.ID {
				return m.Status
			}
		}
		t.Fatalf("alice lost her message %s", msg.ID)
		return 0
	}

	bob.Start()
	carol.Start()
	for _, n := range []*parleytest.Node{bob, carol} {
		parleytest.Eventually(t, n.Name+" getting the message by catch-up", func() bool {
			return slices.Contains(n.GroupTexts(g), "while you were out")
		})
	}
	parleytest.Eventually(t, "alice's message no longer queued", func() bool { return status() != parley.StatusQueued })
	alice.Restart()
	if s := status(); s != parley.StatusSent {
		t.Fatalf("after alice restarted her message is %v, want sent", s)
	}
}
