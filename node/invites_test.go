package node_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// Bob adds Alice by her short code alone: his node reaches her through the
// code's address, fetches her signed card (name, HPKE key) and they chat.
func TestShortInviteAddsContact(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	self := alice.Messenger().Self()
	if len(self.Invite) > identity.MaxShortInviteLen || !strings.HasPrefix(self.Invite, identity.InvitePrefix) {
		t.Fatalf("alice's invite %q: %d characters", self.Invite, len(self.Invite))
	}
	inv, err := identity.ParseInvite(self.Invite)
	if err != nil || !inv.Short() || inv.Hint == nil {
		t.Fatalf("alice's short code: %+v, %v (want a short code with an address)", inv, err)
	}
	c, _, err := bob.Messenger().AddContact(ctx, self.Invite, "")
	if err != nil {
		t.Fatal(err)
	}
	long, _, err := identity.DecodeInvite(self.InviteLong)
	if err != nil {
		t.Fatal(err)
	}
	if c.PeerID != alice.PeerID() || c.Name != "alice" || c.State != parley.ContactAccepted || !bytes.Equal(c.HPKEKey, long.HPKEKey) {
		t.Fatalf("bob's contact from the short code: %+v", c)
	}
	m, err := bob.Messenger().Send(ctx, "alice", "found you by QR", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered", func() bool { return bob.StatusOf("alice", m.ID) == parley.StatusDelivered })
	if got := alice.Messages(bob.PeerID()); len(got) != 1 || got[0].Text != "found you by QR" {
		t.Fatalf("alice's view of bob's message: %+v", got)
	}
	// Alice accepts and answers: the session works both ways.
	if _, err := alice.Messenger().Accept(ctx, bob.PeerID()); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Messenger().Send(ctx, bob.PeerID(), "hi bob", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob has alice's answer", func() bool {
		for _, m := range bob.Messages(alice.PeerID()) {
			if m.Text == "hi bob" {
				return true
			}
		}
		return false
	})
}

// A code whose secret is not the owner's (mistyped, or made before a
// reset) is refused by the owner, and nothing is stored.
func TestShortInviteWrongSecretRefused(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	old := alice.Messenger().Self().Invite
	if _, err := alice.Messenger().ResetInvite(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := alice.Messenger().Self().Invite
	if fresh == old {
		t.Fatal("ResetInvite kept the code")
	}
	_, _, err := bob.Messenger().AddContact(ctx, old, "")
	if !errors.Is(err, parley.ErrInvalidInvite) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("adding by the old code: %v, want a refusal", err)
	}
	if knows(t, bob, alice.PeerID()) {
		t.Fatal("a refused code stored a contact")
	}
	// The new code works; the secret survives a restart.
	alice.Restart()
	if got := alice.Messenger().Self().Invite; got[:60] != fresh[:60] {
		t.Fatalf("the code changed over a restart: %q, was %q", got, fresh)
	}
	if _, _, err := bob.Messenger().AddContact(ctx, alice.Messenger().Self().Invite, ""); err != nil {
		t.Fatal(err)
	}
}

// Long codes keep working, offline inviter or not.
func TestLongInviteStillWorks(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	long := alice.Messenger().Self().InviteLong
	alice.Stop()
	c, _, err := bob.Messenger().AddContact(ctx, long, "")
	if err != nil || c.Name != "alice" {
		t.Fatalf("adding by a long code: %+v, %v", c, err)
	}
}

// knows reports whether n holds p as a contact or a request.
func knows(t *testing.T, n *parleytest.Node, p string) bool {
	t.Helper()
	cs, err := n.Messenger().Contacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := n.Messenger().Requests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(cs, rs...) {
		if c.PeerID == p {
			return true
		}
	}
	return false
}

// A mailbox is added by its node's invite as printed now, the short code,
// as by the long one (parseMailbox read long codes only, and refused what
// `parley invite` prints).
func TestMailboxAddByShortInvite(t *testing.T) {
	ctx := context.Background()
	box := parleytest.StartNode(t, "Mailbox", func(c *node.Config) { c.MailboxService = true })
	bob := parleytest.StartNode(t, "bob")
	mb, err := bob.Messenger().AddMailbox(ctx, box.Messenger().Self().Invite)
	if err != nil {
		t.Fatal(err)
	}
	if mb.PeerID != box.PeerID() {
		t.Fatalf("mailbox %s added, want %s", mb.PeerID, box.PeerID())
	}
}
