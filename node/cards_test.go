package node_test

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	idpb "github.com/parley-im/parley/identity/pb"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/storage"
)

// contactName is the name n shows for the peer p: its contact (or request)
// record's.
func contactName(t *testing.T, n *parleytest.Node, p string) string {
	t.Helper()
	c, err := n.Messenger().Resolve(context.Background(), p)
	if err != nil {
		t.Fatalf("%s resolving %s: %v", n.Name, p, err)
	}
	return c.Name
}

// memberName is the name n shows for member p of group g.
func memberName(t *testing.T, n *parleytest.Node, g parley.ConversationID, p string) string {
	t.Helper()
	ms, err := n.Messenger().GroupMembers(context.Background(), g.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.PeerID == p {
			return m.Name
		}
	}
	t.Fatalf("%s: %s is no member of the group", n.Name, p)
	return ""
}

// Issue 14, bug 7: a display name changed in Settings reached no contact.
// Now bob, online, sees alice's new name in his contacts, finds their
// conversation by it, sees it on her in their group, and is told by an
// event; the card update itself is no message.
func TestNewNameReachesContacts(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	g := parleytest.CreateGroup(t, "friends", alice, bob)
	if _, err := alice.Messenger().Send(ctx, "bob", "hi", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob holding alice's message", func() bool { return len(bob.Messages(alice.PeerID())) == 1 })
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := bob.Messenger().Subscribe(subCtx)

	if _, err := alice.Messenger().SetName(ctx, "Alicia"); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob seeing alice's new name", func() bool { return contactName(t, bob, alice.PeerID()) == "Alicia" })
	deadline := time.After(parleytest.Patience)
	for told := false; !told; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("bob's event stream ended before it told of alice's new card")
			}
			told = ev.Type == parley.EventContact && ev.PeerID == alice.PeerID()
		case <-deadline:
			t.Fatal("no contact event told bob's GUI of alice's new name")
		}
	}
	cs, err := bob.Messenger().Contacts(ctx)
	if err != nil || len(cs) != 1 || cs[0].Name != "Alicia" {
		t.Fatalf("bob's contacts: %+v, %v", cs, err)
	}
	if msgs, err := bob.Messenger().Messages(ctx, "alicia", parley.Page{}, false); err != nil || len(msgs) != 1 || msgs[0].Text != "hi" {
		t.Fatalf("bob's conversation with alice, by her new name: %+v, %v (the card update must not show)", msgs, err)
	}
	convs, err := bob.Messenger().Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.Kind == parley.ConversationDM && c.Unread != 1 {
			t.Errorf("the card update counts as unread: %+v", c)
		}
	}
	if got := memberName(t, bob, g, alice.PeerID()); got != "Alicia" {
		t.Errorf("bob sees alice in the group as %q", got)
	}
}

// Bob is offline when alice renames herself: the update waits in her
// outbox, across her restart, and reaches him when he is back. A local
// name bob chose for carol is his, and carol's new name leaves it alone.
func TestNewNameReachesOfflineContact(t *testing.T) {
	ctx := context.Background()
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	if _, _, err := bob.Messenger().AddContact(ctx, carol.Messenger().Self().InviteLong, "Aunt Carol"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := carol.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, ""); err != nil {
		t.Fatal(err)
	}
	bob.Stop()
	if _, err := alice.Messenger().SetName(ctx, "Alicia"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Messenger().SetName(ctx, "Caroline"); err != nil {
		t.Fatal(err)
	}
	alice.Name = "" // restart without --name, keeping the new one
	alice.Restart()
	bob.Start()
	parleytest.Eventually(t, "bob seeing alice's new name", func() bool { return contactName(t, bob, alice.PeerID()) == "Alicia" })
	parleytest.Eventually(t, "carol's update reaching bob", func() bool {
		c, err := bob.Messenger().Resolve(ctx, carol.PeerID())
		return err == nil && c.CardHLC != 0
	})
	if got := contactName(t, bob, carol.PeerID()); got != "Aunt Carol" {
		t.Errorf("bob's own name for carol became %q", got)
	}
}

// Card updates that arrive out of order (a mailbox, say, handing over an
// older one last) never roll a name back: bob, offline, gets alice's two
// renames newest first, and keeps the newest.
func TestCardUpdateReordered(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	bob.Stop()
	for i, name := range []string{"Alicia", "Ally"} {
		if _, err := alice.Messenger().SetName(ctx, name); err != nil {
			t.Fatal(err)
		}
		parleytest.Eventually(t, "alice queuing her update", func() bool {
			n, err := alice.OutboxLen(bob.PeerID())
			return err == nil && n == i+1
		})
	}
	queued, err := alice.Outbox(bob.PeerID())
	if err != nil || len(queued) != 2 {
		t.Fatalf("alice's outbox: %d, %v", len(queued), err)
	}
	alice.Stop()
	bob.Start()
	for _, e := range []storage.OutboxEntry{queued[1], queued[0]} {
		if err := bob.ReceiveDM(e.Envelope); err != nil {
			t.Fatal(err)
		}
	}
	if got := contactName(t, bob, alice.PeerID()); got != "Ally" {
		t.Fatalf("bob shows alice as %q after her updates arrived newest first", got)
	}
}

// A card update must be signed by its sender and be the sender's card:
// mallory sending alice's card (signed by alice), or a card for herself
// signed by another key, is refused and changes nothing. And a name that
// looks like another contact's is not taken, as on a new contact.
func TestCardUpdateRefused(t *testing.T) {
	ctx := context.Background()
	alice, bob, mallory := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "mallory")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, mallory, bob)
	_, aliceCard, err := identity.DecodeInvite(alice.Messenger().Self().InviteLong)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mallorysCard, err := proto.Marshal(&idpb.Card{PeerId: []byte(mallory.Host().ID()), Name: "Alice", HpkeKey: hpkeKeyOf(t, mallory)})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := otherKey.Sign(append([]byte("parley/card/v1\x00"), mallorysCard...))
	if err != nil {
		t.Fatal(err)
	}
	signedByOther, err := proto.Marshal(&idpb.SignedCard{Card: mallorysCard, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	for _, card := range [][]byte{aliceCard, signedByOther} {
		if err := mallory.SendCardUpdate(bob.PeerID(), card); err != nil {
			t.Fatal(err)
		}
	}
	// Delivered in order: once bob holds this, he has answered the rest.
	if _, err := mallory.Messenger().Send(ctx, "bob", "done", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob holding mallory's message", func() bool { return len(bob.Messages(mallory.PeerID())) == 1 })
	for _, p := range []*parleytest.Node{alice, mallory} {
		c, err := bob.Messenger().Resolve(ctx, p.PeerID())
		if err != nil || c.Name != p.Name || c.CardHLC != 0 {
			t.Errorf("bob's contact %s after mallory's forged updates: %+v, %v", p.Name, c, err)
		}
	}

	if _, err := mallory.Messenger().SetName(ctx, "ALICE"); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "mallory's update reaching bob", func() bool {
		c, err := bob.Messenger().Resolve(ctx, mallory.PeerID())
		return err == nil && c.CardHLC != 0
	})
	if got := contactName(t, bob, mallory.PeerID()); got != "mallory" {
		t.Errorf("mallory took the name %q, which looks like bob's contact alice's", got)
	}
}

// hpkeKeyOf is the HPKE key on n's card.
func hpkeKeyOf(t *testing.T, n *parleytest.Node) []byte {
	t.Helper()
	card, _, err := identity.DecodeInvite(n.Messenger().Self().InviteLong)
	if err != nil {
		t.Fatal(err)
	}
	return card.HPKEKey
}

// Adding and removing a mailbox reaches contacts: the card lists it (as
// the invite does), and bob stores it with alice.
func TestCardMailboxesReachContacts(t *testing.T) {
	ctx := context.Background()
	mb := parleytest.StartNode(t, "mailbox", func(c *node.Config) { c.MailboxService = true })
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	addr := mb.AddrInfo().Addrs[0].String() + "/p2p/" + mb.PeerID()
	if _, err := alice.Messenger().AddMailbox(ctx, addr); err != nil {
		t.Fatal(err)
	}
	card, _, err := identity.DecodeInvite(alice.Messenger().Self().InviteLong)
	if err != nil || len(card.Mailboxes) != 1 || card.Mailboxes[0].PeerID.String() != mb.PeerID() ||
		len(card.Mailboxes[0].Addrs) != 1 || card.Mailboxes[0].Addrs[0].String() != mb.AddrInfo().Addrs[0].String() {
		t.Fatalf("alice's invite card: %+v, %v", card, err)
	}
	mailboxesOf := func() []string {
		c, err := bob.Messenger().Resolve(ctx, alice.PeerID())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range c.Mailboxes {
			ids = append(ids, m.PeerID)
		}
		return ids
	}
	parleytest.Eventually(t, "bob learning alice's mailbox", func() bool { return slices.Equal(mailboxesOf(), []string{mb.PeerID()}) })
	if err := alice.Messenger().RemoveMailbox(ctx, mb.PeerID()); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob learning alice's mailbox is gone", func() bool { return len(mailboxesOf()) == 0 })
}
