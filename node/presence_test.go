package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// typingExpiry shortens how long someone shows typing, so expiry is seen
// within a test's patience.
func typingExpiry(d time.Duration) parleytest.Option {
	return func(c *node.Config) { c.TypingExpiry = d }
}

// typingWatch collects n's typing events.
type typingWatch struct {
	t  *testing.T
	ch <-chan parley.Event
}

func watchTyping(t *testing.T, n *parleytest.Node) *typingWatch {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &typingWatch{t: t, ch: n.Messenger().Subscribe(ctx)}
}

// next waits for the next typing event (others are skipped) within limit;
// ok false when none came.
func (w *typingWatch) next(limit time.Duration) (parley.Event, bool) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case e, open := <-w.ch:
			if !open {
				w.t.Fatal("event stream closed")
			}
			if e.Type == parley.EventTyping {
				return e, true
			}
		case <-timer.C:
			return parley.Event{}, false
		}
	}
}

func (w *typingWatch) want(what string, conv parley.ConversationID, from string, typing bool) {
	w.t.Helper()
	e, ok := w.next(10 * time.Second)
	if !ok {
		w.t.Fatalf("%s: no typing event", what)
	}
	if e.Conversation != conv || e.PeerID != from || e.Typing != typing {
		w.t.Fatalf("%s: got typing event %+v, want conversation %s, peer %s, typing %v", what, e, conv, from, typing)
	}
}

// connected starts two contacts and waits until each sees the other online.
func connectedPair(t *testing.T, opts ...parleytest.Option) (alice, bob *parleytest.Node) {
	alice, bob = parleytest.StartNode(t, "alice", opts...), parleytest.StartNode(t, "bob", opts...)
	parleytest.Befriend(t, alice, bob)
	parleytest.Eventually(t, "alice and bob connected", func() bool {
		return alice.Messenger().Online(bob.PeerID()) && bob.Messenger().Online(alice.PeerID())
	})
	return alice, bob
}

func typing(t *testing.T, n *parleytest.Node, conv string, active bool) bool {
	t.Helper()
	sent, err := n.Messenger().Typing(context.Background(), conv, active)
	if err != nil {
		t.Fatalf("%s typing in %s: %v", n.Name, conv, err)
	}
	return sent
}

// Typing reaches the contact, shows until it expires without a refresh,
// and leaves nothing in either store.
func TestTypingReachesContactAndExpires(t *testing.T) {
	alice, bob := connectedPair(t, typingExpiry(400*time.Millisecond))
	conv := parley.DMConversationID(alice.PeerID(), bob.PeerID())
	before, err := bob.StoreSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	w := watchTyping(t, bob)
	if !typing(t, alice, "bob", true) {
		t.Fatal("alice's first typing was not sent")
	}
	w.want("alice typing", conv, alice.PeerID(), true)
	start := time.Now()
	w.want("alice's typing expiring", conv, alice.PeerID(), false)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("typing expired after %v, before its expiry", d)
	}
	// "Stopped" ends it at once; a message from her too.
	typing(t, alice, "bob", false)
	if typing(t, alice, "bob", true) {
		w.want("alice typing again", conv, alice.PeerID(), true)
	} else {
		t.Fatal("typing after a stop was held back")
	}
	if !typing(t, alice, "bob", false) {
		t.Fatal("alice's stop was not sent")
	}
	w.want("alice stopping", conv, alice.PeerID(), false)

	after, err := bob.StoreSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range after {
		if before[k] == v || strings.HasPrefix(k, "prs/") || strings.HasPrefix(k, "c/") {
			continue // unchanged; or last seen and contacts' addresses, which connections update
		}
		t.Errorf("typing changed bob's store: key %q", k)
	}
	if msgs, err := bob.Messenger().Messages(context.Background(), "alice", parley.Page{}, false); err != nil || len(msgs) != 0 {
		t.Fatalf("bob's messages from alice: %v, %v", msgs, err)
	}
}

// A typist sends one "typing" per interval however often the user types,
// a "stopped" only after a "typing", and a message ends the typing on the
// other side.
func TestTypingRateLimit(t *testing.T) {
	alice, bob := connectedPair(t)
	conv := parley.DMConversationID(alice.PeerID(), bob.PeerID())
	w := watchTyping(t, bob)
	sent := 0
	for range 20 {
		if typing(t, alice, "bob", true) {
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("20 keystrokes sent %d typing frames, want 1", sent)
	}
	w.want("alice typing", conv, alice.PeerID(), true)
	if _, err := alice.Messenger().Send(context.Background(), "bob", "hello", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	w.want("alice's message ending her typing", conv, alice.PeerID(), false)
	if typing(t, alice, "bob", false) {
		t.Fatal("a stop after a sent message went out: the message already ended the typing")
	}
	if !typing(t, alice, "bob", true) {
		t.Fatal("typing after a sent message was held back")
	}
	w.want("alice typing again", conv, alice.PeerID(), true)
}

// A stranger's typing is dropped; a contact's, sent after it, shows.
func TestTypingFromStrangerDropped(t *testing.T) {
	alice, bob := connectedPair(t)
	mallory := parleytest.StartNode(t, "mallory")
	// Mallory adds bob; bob never adds mallory.
	if _, _, err := mallory.Messenger().AddContact(context.Background(), bob.Messenger().Self().InviteLong, "bob"); err != nil {
		t.Fatal(err)
	}
	parleytest.Connect(t, mallory, bob)
	w := watchTyping(t, bob)
	if typing(t, mallory, "bob", true) {
		t.Fatal("bob took mallory's typing")
	}
	typing(t, alice, "bob", true)
	w.want("alice typing (and not mallory)", parley.DMConversationID(alice.PeerID(), bob.PeerID()), alice.PeerID(), true)
	if e, ok := w.next(500 * time.Millisecond); ok {
		t.Fatalf("bob saw %+v", e)
	}
}

// With the setting off, we send none and show none.
func TestTypingSettingOff(t *testing.T) {
	alice, bob := connectedPair(t)
	ctx := context.Background()
	if s, err := bob.Messenger().SetTypingIndicators(ctx, false); err != nil || s.TypingIndicators {
		t.Fatalf("turning typing off: %+v, %v", s, err)
	}
	if typing(t, bob, "alice", true) {
		t.Fatal("bob sent typing with the setting off")
	}
	w := watchTyping(t, bob)
	typing(t, alice, "bob", true)
	// A message is a later arrival from alice: her typing frame is handled
	// by then (it needs no round trip, the message at least one).
	if _, err := alice.Messenger().Send(ctx, "bob", "are you there", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob getting alice's message", func() bool {
		msgs, err := bob.Messenger().Messages(ctx, "alice", parley.Page{}, false)
		return err == nil && len(msgs) == 1
	})
	if e, ok := w.next(300 * time.Millisecond); ok {
		t.Fatalf("bob, typing off, saw %+v", e)
	}
	// The setting survives a restart.
	bob.Restart()
	if !bob.Messenger().Settings(ctx).LastSeen || bob.Messenger().Settings(ctx).TypingIndicators {
		t.Fatalf("bob's settings after a restart: %+v", bob.Messenger().Settings(ctx))
	}
}

// In a group of three, one member's typing reaches the two others, and
// stops.
func TestGroupTyping(t *testing.T) {
	opt := typingExpiry(time.Minute)
	alice, bob, carol := parleytest.StartNode(t, "alice", opt), parleytest.StartNode(t, "bob", opt), parleytest.StartNode(t, "carol", opt)
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "friends", alice, bob, carol)
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" on the typing topic", func() bool { return n.TypingPeers(g) > 0 })
	}
	wb, wc := watchTyping(t, bob), watchTyping(t, carol)
	if !typing(t, carol, g.String(), true) {
		t.Fatal("carol's typing was not sent")
	}
	wb.want("bob seeing carol type", g, carol.PeerID(), true)
	// Alice relays: carol and bob need not be connected to each other.
	if !typing(t, carol, g.String(), false) {
		t.Fatal("carol's stop was not sent")
	}
	wb.want("bob seeing carol stop", g, carol.PeerID(), false)
	if !typing(t, alice, g.String(), true) {
		t.Fatal("alice's typing was not sent")
	}
	wb.want("bob seeing alice type", g, alice.PeerID(), true)
	wc.want("carol seeing alice type", g, alice.PeerID(), true)
	if e, ok := wc.next(300 * time.Millisecond); ok {
		t.Fatalf("carol saw %+v (her own typing?)", e)
	}
}

// Last seen: each contact sees the other's while both share, it survives
// a restart, and either turning it off hides it both ways.
func TestLastSeen(t *testing.T) {
	alice, bob := connectedPair(t)
	ctx := context.Background()
	lastSeen := func(n *parleytest.Node, of string) time.Time {
		cs, err := n.Messenger().Contacts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.PeerID == of {
				return c.LastSeen
			}
		}
		t.Fatalf("%s has no contact %s", n.Name, of)
		return time.Time{}
	}
	parleytest.Eventually(t, "each seeing the other's last seen", func() bool {
		return !lastSeen(alice, bob.PeerID()).IsZero() && !lastSeen(bob, alice.PeerID()).IsZero()
	})
	start := time.Now()
	alice.Stop()
	// Her last seen moves from when she connected to when she went.
	var gone time.Time
	parleytest.Eventually(t, "bob recording when alice went", func() bool {
		gone = lastSeen(bob, alice.PeerID())
		return !gone.Before(start.Truncate(time.Millisecond))
	})
	bob.Restart()
	if got := lastSeen(bob, alice.PeerID()); !got.Equal(gone) {
		t.Fatalf("after a restart alice's last seen is %v, want %v", got, gone)
	}
	alice.Start()
	parleytest.Eventually(t, "alice back", func() bool { return bob.Messenger().Online(alice.PeerID()) })

	// Alice turns it off: bob loses hers, and she sees no one's.
	if s, err := alice.Messenger().SetLastSeen(ctx, false); err != nil || s.LastSeen {
		t.Fatalf("turning last seen off: %+v, %v", s, err)
	}
	if !lastSeen(alice, bob.PeerID()).IsZero() {
		t.Fatal("alice, sharing none, still sees bob's last seen")
	}
	parleytest.Eventually(t, "bob forgetting alice's last seen", func() bool { return lastSeen(bob, alice.PeerID()).IsZero() })
	// On again: both see each other's again.
	if _, err := alice.Messenger().SetLastSeen(ctx, true); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "each seeing the other's last seen again", func() bool {
		return !lastSeen(alice, bob.PeerID()).IsZero() && !lastSeen(bob, alice.PeerID()).IsZero()
	})
}

// Last seen starts flowing when the second side adds the first while their
// nodes are already connected: no new connection comes to carry a "seen".
func TestLastSeenOnBecomingContactsWhileConnected(t *testing.T) {
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	ctx := context.Background()
	if _, _, err := alice.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, "bob"); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice connected to bob", func() bool { return alice.Messenger().Online(bob.PeerID()) })
	if _, _, err := bob.Messenger().AddContact(ctx, alice.Messenger().Self().InviteLong, "alice"); err != nil {
		t.Fatal(err)
	}
	seen := func(n *parleytest.Node, of string) bool {
		cs, err := n.Messenger().Contacts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.PeerID == of {
				return !c.LastSeen.IsZero()
			}
		}
		return false
	}
	parleytest.Eventually(t, "each seeing the other's last seen", func() bool {
		return seen(alice, bob.PeerID()) && seen(bob, alice.PeerID())
	})
}
