package node_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// pendingOf is n's pending contact for peer, if any.
func pendingOf(t *testing.T, n *parleytest.Node, peer string) (parley.PendingContact, bool) {
	t.Helper()
	ps, err := n.Messenger().PendingContacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.PeerID == peer {
			return p, true
		}
	}
	return parley.PendingContact{}, false
}

// contactsNamed counts n's accepted contacts with peer's ID.
func contactsWith(t *testing.T, n *parleytest.Node, peer string) []parley.Contact {
	t.Helper()
	cs, err := n.Messenger().Contacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []parley.Contact
	for _, c := range cs {
		if c.PeerID == peer {
			out = append(out, c)
		}
	}
	return out
}

// Bob adds the short code of Alice, who is offline: it is kept as a
// pending contact (adding it again does not duplicate it, a restart keeps
// it), and once Alice is back Bob has her as a contact without doing
// anything, by the name he typed, and they talk.
func TestPendingContactAddedWhenInviterIsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	code := alice.Messenger().Self().Invite
	alice.Stop()

	c, warning, err := bob.Messenger().AddContact(ctx, code, "Ally")
	if err != nil || c.State != parley.ContactPending || c.PeerID != alice.PeerID() || c.Name != "Ally" || warning != "" {
		t.Fatalf("adding an offline inviter's short code: %+v, %q, %v; want pending", c, warning, err)
	}
	if c, _, err := bob.Messenger().AddContact(ctx, code, ""); err != nil || c.State != parley.ContactPending || c.Name != "Ally" {
		t.Fatalf("adding it again: %+v, %v; want the same pending contact", c, err)
	}
	ps, err := bob.Messenger().PendingContacts(ctx)
	if err != nil || len(ps) != 1 || ps[0].State != parley.ContactPending || ps[0].Invite != code {
		t.Fatalf("pending contacts: %+v, %v; want one", ps, err)
	}
	if knows(t, bob, alice.PeerID()) {
		t.Fatal("a pending inviter is a contact already")
	}

	bob.Restart()
	if p, ok := pendingOf(t, bob, alice.PeerID()); !ok || p.State != parley.ContactPending || p.Name != "Ally" {
		t.Fatalf("after bob's restart: %+v, %v; want still pending", p, ok)
	}

	events := bob.Messenger().Subscribe(ctx)
	alice.Start()
	parleytest.Eventually(t, "bob has alice as a contact", func() bool { return len(contactsWith(t, bob, alice.PeerID())) == 1 })
	got := contactsWith(t, bob, alice.PeerID())[0]
	if got.Name != "Ally" || !got.LocalName || len(got.HPKEKey) == 0 {
		t.Fatalf("the contact added: %+v; want alice's card, named Ally", got)
	}
	parleytest.Eventually(t, "the pending entry is gone", func() bool { _, ok := pendingOf(t, bob, alice.PeerID()); return !ok })
	parleytest.Eventually(t, "an event for the lists", func() bool {
		for {
			select {
			case e := <-events:
				if e.Type == parley.EventContact && e.PeerID == alice.PeerID() {
					return true
				}
			default:
				return false
			}
		}
	})
	m, err := bob.Messenger().Send(ctx, "Ally", "found you", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered", func() bool { return bob.StatusOf("Ally", m.ID) == parley.StatusDelivered })
	if ms := alice.Messages(bob.PeerID()); len(ms) != 1 || ms[0].Text != "found you" {
		t.Fatalf("alice's view: %+v", ms)
	}
	if _, ok := pendingOf(t, bob, alice.PeerID()); ok || len(contactsWith(t, bob, alice.PeerID())) != 1 {
		t.Fatal("alice is pending again, or twice a contact")
	}
}

// A connection from the inviter is enough: with the back-off an hour long,
// Alice connecting to Bob has him add her at once.
func TestPendingContactAddedOnConnection(t *testing.T) {
	ctx := context.Background()
	alice := parleytest.StartNode(t, "alice")
	bob := parleytest.StartNode(t, "bob", func(c *node.Config) { c.ReconnectInterval = time.Hour })
	code := alice.Messenger().Self().Invite
	alice.Stop()
	if c, _, err := bob.Messenger().AddContact(ctx, code, ""); err != nil || c.State != parley.ContactPending {
		t.Fatalf("adding an offline inviter's short code: %+v, %v; want pending", c, err)
	}
	// Wait for the attempts the add starts to have failed.
	parleytest.Eventually(t, "the first retry failed", func() bool {
		p, ok := pendingOf(t, bob, alice.PeerID())
		return ok && p.LastError != ""
	})
	alice.Start()
	if err := alice.Host().Connect(ctx, bob.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	parleytest.EventuallyWithin(t, 30*time.Second, "bob has alice as a contact", func() bool {
		return len(contactsWith(t, bob, alice.PeerID())) == 1
	})
	if c := contactsWith(t, bob, alice.PeerID())[0]; c.Name != "alice" || c.LocalName {
		t.Fatalf("the contact added: %+v; want alice by her card's name", c)
	}
}

// Alice made a new code before Bob's node reached her: her node refuses
// the old one, and Bob's pending contact says so until he removes it; a
// new code of hers then adds her.
func TestPendingContactRefusedAfterReset(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	old := alice.Messenger().Self().Invite
	if _, err := alice.Messenger().ResetInvite(ctx); err != nil {
		t.Fatal(err)
	}
	alice.Stop()
	if c, _, err := bob.Messenger().AddContact(ctx, old, ""); err != nil || c.State != parley.ContactPending {
		t.Fatalf("adding an offline inviter's old code: %+v, %v; want pending", c, err)
	}
	alice.Start()
	parleytest.Eventually(t, "refused", func() bool {
		p, ok := pendingOf(t, bob, alice.PeerID())
		return ok && p.State == parley.ContactRefused
	})
	p, _ := pendingOf(t, bob, alice.PeerID())
	if p.Note() != "refused: the code was reset, ask for a new one" || knows(t, bob, alice.PeerID()) {
		t.Fatalf("refused entry %+v (%q); a contact: %v", p, p.Note(), knows(t, bob, alice.PeerID()))
	}
	// It stays: no more attempts change it.
	bob.Restart()
	if p, ok := pendingOf(t, bob, alice.PeerID()); !ok || p.State != parley.ContactRefused {
		t.Fatalf("after a restart: %+v, %v; want still refused", p, ok)
	}
	if err := bob.Messenger().CancelPending(ctx, "nobody"); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("cancelling an unknown one: %v", err)
	}
	if err := bob.Messenger().CancelPending(ctx, alice.PeerID()); err != nil {
		t.Fatal(err)
	}
	if _, ok := pendingOf(t, bob, alice.PeerID()); ok {
		t.Fatal("cancelled, still pending")
	}
	if c, _, err := bob.Messenger().AddContact(ctx, alice.Messenger().Self().Invite, ""); err != nil || c.State != parley.ContactAccepted {
		t.Fatalf("adding her new code: %+v, %v", c, err)
	}
}

// A pending contact older than 30 days is dropped.
func TestPendingContactExpires(t *testing.T) {
	bob := parleytest.StartNode(t, "bob")
	alice := parleytest.StartNode(t, "alice")
	code := alice.Messenger().Self().Invite
	alice.Stop()
	err := bob.PutPendingContact(parley.PendingContact{PeerID: alice.PeerID(), Invite: code, State: parley.ContactPending,
		AddedAt: time.Now().Add(-parley.PendingContactTTL - time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "expired", func() bool { _, ok := pendingOf(t, bob, alice.PeerID()); return !ok })
}

// At most MaxPendingContacts are kept: one more is the unreachable error,
// saying why it is not kept, and nothing is stored.
func TestPendingContactsBounded(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	code := alice.Messenger().Self().Invite
	alice.Stop()
	for i := range parley.MaxPendingContacts {
		if err := bob.PutPendingContact(parley.PendingContact{PeerID: fmt.Sprintf("not-a-peer-%d", i), State: parley.ContactPending,
			AddedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := bob.Messenger().AddContact(ctx, code, "")
	if !errors.Is(err, parley.ErrInviterUnreachable) || !strings.Contains(err.Error(), "100 contacts are pending already") {
		t.Fatalf("a pending contact over the limit: %v", err)
	}
	if _, ok := pendingOf(t, bob, alice.PeerID()); ok {
		t.Fatal("kept over the limit")
	}
}
