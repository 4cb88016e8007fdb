package node_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node/dm"
	"github.com/parley-im/parley/storage"
)

// Tests of group-scoped mailbox grants (PROTOCOL.md §9.10): members who
// are not each other's contacts deposit for each other, a removed member's
// capability stops working, and a grant learnt late brings what its author
// missed.

// awaitGroupGrant waits until holder holds from's grant to group g naming
// exactly these mailboxes, and returns it.
func awaitGroupGrant(t *testing.T, holder, from *parleytest.Node, g parley.ConversationID, mailboxes ...*parleytest.Node) storage.GroupGrant {
	t.Helper()
	var want []string
	for _, mb := range mailboxes {
		want = append(want, mb.PeerID())
	}
	var got storage.GroupGrant
	parleytest.Eventually(t, holder.Name+" holding "+from.Name+"'s grant to the group", func() bool {
		gr, err := holder.GroupGrantOf(g, from.PeerID())
		if err != nil {
			return false
		}
		var ids []string
		for _, m := range gr.Mailboxes {
			ids = append(ids, m.PeerID)
		}
		got = gr
		return slices.Equal(ids, want)
	})
	return got
}

// awaitOffline waits until n sees each of others offline (they stopped),
// so that what n writes next goes to their mailboxes.
func awaitOffline(t *testing.T, n *parleytest.Node, others ...*parleytest.Node) {
	t.Helper()
	for _, o := range others {
		parleytest.Eventually(t, n.Name+" seeing "+o.Name+" offline", func() bool { return !n.Messenger().Online(o.PeerID()) })
	}
}

// Bob and Carol are in Alice's group but are not each other's contacts:
// no DM grant passes between them. Carol is offline when Bob writes; Bob
// deposits at Carol's mailbox with the grant Carol gave the group, and
// Carol reads it on start without meeting Bob.
func TestMailboxGroupNonContact(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	carol := parleytest.StartNode(t, "Carol", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	addMailbox(t, carol, m)
	g := parleytest.CreateGroup(t, "not friends", alice, bob, carol)
	awaitGroupGrant(t, bob, carol, g, m)

	carol.Stop()
	alice.Stop()
	awaitOffline(t, bob, alice, carol)
	sent := bob.SendToGroup(g, "to someone I never met")
	parleytest.Eventually(t, "Bob's message stored in Carol's mailbox", func() bool {
		return groupStatus(t, bob, g, sent.ID) == parley.StatusStored
	})
	bob.Stop()

	carol.Start()
	parleytest.Eventually(t, "Carol reading Bob's message", func() bool {
		return len(carol.GroupTexts(g)) >= 1
	})
	if got := carol.GroupTexts(g); !slices.Equal(got, []string{"to someone I never met"}) {
		t.Fatalf("Carol holds %q, want Bob's message once", got)
	}
	if carol.Messenger().Online(bob.PeerID()) {
		t.Fatal("Carol met Bob: the test let them meet")
	}
}

// Carol, removed from the group, can no longer deposit at Alice's mailbox
// with the capability Alice gave the group; Bob, still a member, gets
// Alice's grant of the new epoch, and it works.
func TestMailboxGroupRemovedMemberRevoked(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	carol := parleytest.StartNode(t, "Carol", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	addMailbox(t, alice, m)
	g := parleytest.CreateGroup(t, "shrinking", alice, bob, carol)
	old := awaitGroupGrant(t, carol, alice, g, m)
	alicePeer, err := peer.Decode(alice.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	deposit := func(n *parleytest.Node, mb storage.GrantedMailbox) error {
		env := make([]byte, 200)
		rand.Read(env)
		return n.DepositFor(context.Background(), alicePeer, mb, env)
	}
	if err := deposit(carol, old.Mailboxes[0]); err != nil {
		t.Fatalf("Carol depositing while a member: %v", err)
	}

	if err := alice.Messenger().RemoveFromGroup(context.Background(), g.String(), carol.PeerID()); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "Carol's capability refused", func() bool {
		return errors.Is(deposit(carol, old.Mailboxes[0]), dm.ErrGrantRefused)
	})
	parleytest.Eventually(t, "Bob holding Alice's grant of the new epoch", func() bool {
		gr, err := bob.GroupGrantOf(g, alice.PeerID())
		return err == nil && string(gr.KeyID) != string(old.KeyID) && len(gr.Mailboxes) == 1
	})
	fresh, err := bob.GroupGrantOf(g, alice.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if err := deposit(bob, fresh.Mailboxes[0]); err != nil {
		t.Fatalf("Bob depositing with the new epoch's capability: %v", err)
	}
	if err := deposit(bob, old.Mailboxes[0]); !errors.Is(err, dm.ErrGrantRefused) {
		t.Fatalf("the old epoch's capability: %v, want refused", err)
	}
}

// Alice writes while Carol has no mailbox (no grant to deposit with);
// Carol, alone, adds one later and grants it to the group through the
// members' mailboxes; Alice, alone, learns the grant from her mailbox and
// deposits for Carol what Carol missed. The three are never online
// together after the group is made, and Alice and Carol never meet.
func TestMailboxGroupLateGrantCatchesUp(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	carol := parleytest.StartNode(t, "Carol", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	addMailbox(t, alice, m)
	addMailbox(t, bob, m)
	g := parleytest.CreateGroup(t, "late", alice, bob, carol)
	awaitGroupGrant(t, carol, alice, g, m)
	awaitGroupGrant(t, carol, bob, g, m)
	awaitGroupGrant(t, alice, bob, g, m)

	bob.Stop()
	carol.Stop()
	awaitOffline(t, alice, bob, carol)
	sent := alice.SendToGroup(g, "before Carol had a mailbox")
	parleytest.Eventually(t, "Alice's message stored in Bob's mailbox", func() bool {
		return groupStatus(t, alice, g, sent.ID) == parley.StatusStored
	})
	alice.Stop()

	carol.Start()
	addMailbox(t, carol, m)
	mine := awaitGroupGrant(t, carol, carol, g, m)
	parleytest.Eventually(t, "Carol's grant deposited for Alice", func() bool {
		return carol.GroupDeposited(mine.ID, alice.PeerID(), m.PeerID())
	})
	carol.Stop()

	alice.Start()
	awaitGroupGrant(t, alice, carol, g, m)
	parleytest.Eventually(t, "Alice's message deposited for Carol", func() bool {
		return alice.GroupDeposited(sent.ID, carol.PeerID(), m.PeerID())
	})
	alice.Stop()

	carol.Start()
	parleytest.Eventually(t, "Carol reading Alice's message", func() bool { return len(carol.GroupTexts(g)) >= 1 })
	if got := carol.GroupTexts(g); !slices.Equal(got, []string{"before Carol had a mailbox"}) {
		t.Fatalf("Carol holds %q, want Alice's message once", got)
	}
}
