package node_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// serves reports whether a fresh node can register with n
// mailbox service, that is, whether n serves mailboxes now.
func serves(t *testing.T, n *parleytest.Node) bool {
	t.Helper()
	probe := parleytest.StartNode(t, "Probe")
	defer probe.Stop()
	_, err := probe.Messenger().AddMailbox(context.Background(), p2pAddr(t, n))
	return err == nil
}

// TestMailboxServiceSetting: "Hold mail for others" starts and stops the
// service without a restart, and is kept across one; a node started with
// the service set (on or off) keeps it so, whatever the setting says.
func TestMailboxServiceSetting(t *testing.T) {
	ctx := context.Background()
	carol := parleytest.StartNode(t, "Carol")
	if set := carol.Messenger().Settings(ctx); set.MailboxService || set.MailboxServiceAtStart || serves(t, carol) {
		t.Fatalf("a new node serves mailboxes: %+v", set)
	}
	set, err := carol.Messenger().SetMailboxService(ctx, true)
	if err != nil || !set.MailboxService || !carol.Messenger().Status().MailboxService {
		t.Fatalf("SetMailboxService(true): %+v, %v", set, err)
	}
	if !serves(t, carol) {
		t.Fatal("the service turned on serves no one")
	}
	if st := carol.Messenger().Status(); st.Mailbox.Owners != 1 {
		t.Errorf("status: %d owners, want the probe", st.Mailbox.Owners)
	}
	carol.Restart()
	if !carol.Messenger().Settings(ctx).MailboxService || !serves(t, carol) {
		t.Fatal("the service is off after a restart")
	}
	if set, err := carol.Messenger().SetMailboxService(ctx, false); err != nil || set.MailboxService {
		t.Fatalf("SetMailboxService(false): %+v, %v", set, err)
	}
	if serves(t, carol) || carol.Messenger().Status().MailboxService {
		t.Fatal("the service turned off still serves")
	}
	carol.Restart()
	if carol.Messenger().Settings(ctx).MailboxService {
		t.Fatal("the service is on again after a restart")
	}
	if _, err := carol.Messenger().SetMailboxService(ctx, true); err != nil {
		t.Fatal(err)
	}
	carol.Stop()

	// Started with the service off: off, though the setting says on, and
	// the setting cannot change it.
	off := parleytest.StartNode(t, "Carol", parleytest.InDir(carol.Dir), func(c *node.Config) { c.MailboxServiceOff = true })
	set = off.Messenger().Settings(ctx)
	if set.MailboxService || !set.MailboxServiceAtStart || serves(t, off) {
		t.Fatalf("started with MailboxServiceOff: %+v", set)
	}
	if _, err := off.Messenger().SetMailboxService(ctx, true); !errors.Is(err, parley.ErrSetAtStart) {
		t.Fatalf("SetMailboxService under MailboxServiceOff: %v, want ErrSetAtStart", err)
	}
	off.Stop()
	on := parleytest.StartNode(t, "Carol", parleytest.InDir(carol.Dir), func(c *node.Config) { c.MailboxService = true })
	if _, err := on.Messenger().SetMailboxService(ctx, false); !errors.Is(err, parley.ErrSetAtStart) || !serves(t, on) {
		t.Fatalf("SetMailboxService(false) under MailboxService: %v, want ErrSetAtStart and still serving", err)
	}
}

// offerIn is the mailbox offer in n's conversation with peer, if any.
func offerIn(t *testing.T, n *parleytest.Node, peer string) (parley.Message, bool) {
	t.Helper()
	msgs, err := n.Messenger().Messages(context.Background(), peer, parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == parley.KindMailboxOffer {
			return m, true
		}
	}
	return parley.Message{}, false
}

// TestMailboxOffer: Carol, whose node holds mail for others, offers to hold
// Bob's; Bob sees the offer (after a restart too), accepts it, and then
// has Carol's node among his mailboxes, registered: Carol holds his
// account. Offers are never receipted, and a dismissed one stays so.
func TestMailboxOffer(t *testing.T) {
	ctx := context.Background()
	carol := parleytest.StartNode(t, "Carol")
	bob := parleytest.StartNode(t, "Bob")
	parleytest.Befriend(t, carol, bob)
	if _, err := carol.Messenger().OfferMailbox(ctx, "Bob"); !errors.Is(err, parley.ErrMailboxServiceOff) {
		t.Fatalf("offering with the service off: %v, want ErrMailboxServiceOff", err)
	}
	if _, err := carol.Messenger().SetMailboxService(ctx, true); err != nil {
		t.Fatal(err)
	}
	sent, err := carol.Messenger().OfferMailbox(ctx, "Bob")
	if err != nil || sent.Kind != parley.KindMailboxOffer || !sent.Outgoing {
		t.Fatalf("OfferMailbox: %+v, %v", sent, err)
	}
	var offer parley.Message
	parleytest.Eventually(t, "Bob to receive Carol's offer", func() bool {
		var ok bool
		offer, ok = offerIn(t, bob, carol.PeerID())
		return ok
	})
	parleytest.Eventually(t, "Carol to see her offer delivered", func() bool {
		m, _ := offerIn(t, carol, bob.PeerID())
		return m.Status == parley.StatusDelivered
	})
	bob.Restart()
	got, err := bob.Messenger().MailboxOffer(ctx, offer)
	if err != nil || got.State != parley.OfferOpen || got.Mailbox.PeerID != carol.PeerID() || len(got.Mailbox.Addrs) == 0 {
		t.Fatalf("the offer after a restart: %+v, %v", got, err)
	}
	// Bob reads it, then writes; once Carol has the text, a read receipt
	// sent before it would have arrived too.
	if _, err := bob.Messenger().Messages(ctx, carol.PeerID(), parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	thanks, err := bob.Messenger().Send(ctx, "Carol", "thanks", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "Carol to receive Bob's text", func() bool { return len(textsFrom(t, carol, bob.PeerID())) == 1 })
	if m, _ := offerIn(t, carol, bob.PeerID()); m.Status != parley.StatusDelivered {
		t.Errorf("Carol's offer is %v, want delivered (offers are not receipted)", m.Status)
	}

	mb, err := bob.Messenger().AcceptMailboxOffer(ctx, offer.ID.String())
	if err != nil || mb.PeerID != carol.PeerID() {
		t.Fatalf("AcceptMailboxOffer: %+v, %v", mb, err)
	}
	list, err := bob.Messenger().Mailboxes(ctx)
	if err != nil || len(list) != 1 || list[0].PeerID != carol.PeerID() {
		t.Fatalf("Bob's mailboxes: %+v, %v", list, err)
	}
	if st := carol.Messenger().Status(); st.Mailbox.Owners != 1 {
		t.Errorf("Carol holds mail for %d owners, want Bob", st.Mailbox.Owners)
	}
	if got, _ := bob.Messenger().MailboxOffer(ctx, offer); got.State != parley.OfferAccepted {
		t.Errorf("the accepted offer is %q", got.State)
	}
	// Removed: the offer is answered, not open again.
	if err := bob.Messenger().RemoveMailbox(ctx, carol.PeerID()); err != nil {
		t.Fatal(err)
	}
	if got, _ := bob.Messenger().MailboxOffer(ctx, offer); got.State != parley.OfferDismissed {
		t.Errorf("the offer of a mailbox removed since is %q, want dismissed", got.State)
	}

	// A second offer, dismissed, stays dismissed across a restart.
	if _, err := carol.Messenger().OfferMailbox(ctx, "Bob"); err != nil {
		t.Fatal(err)
	}
	var second parley.Message
	parleytest.Eventually(t, "Bob to receive the second offer", func() bool {
		msgs, _ := bob.Messenger().Messages(ctx, carol.PeerID(), parley.Page{}, false)
		for _, m := range msgs {
			if m.Kind == parley.KindMailboxOffer && m.ID != offer.ID {
				second = m
				return true
			}
		}
		return false
	})
	if got, _ := bob.Messenger().MailboxOffer(ctx, second); got.State != parley.OfferOpen {
		t.Fatalf("a new offer is %q", got.State)
	}
	if err := bob.Messenger().DismissMailboxOffer(ctx, second.ID.String()); err != nil {
		t.Fatal(err)
	}
	bob.Restart()
	if got, _ := bob.Messenger().MailboxOffer(ctx, second); got.State != parley.OfferDismissed {
		t.Errorf("the dismissed offer is %q after a restart", got.State)
	}
	if _, err := bob.Messenger().AcceptMailboxOffer(ctx, thanks.ID.String()); !errors.Is(err, parley.ErrNotFound) {
		t.Errorf("accepting a text's ID: %v, want ErrNotFound", err)
	}
	if _, err := carol.Messenger().AcceptMailboxOffer(ctx, sent.ID.String()); !errors.Is(err, parley.ErrNotFound) {
		t.Errorf("Carol accepting her own offer: %v, want ErrNotFound", err)
	}
}

// TestMailboxOfferFromStranger: an offer from someone who is not Bob's
// contact is refused: Bob stores nothing, and the sender sees it failed.
func TestMailboxOfferFromStranger(t *testing.T) {
	ctx := context.Background()
	carol := parleytest.StartNode(t, "Carol", func(c *node.Config) { c.MailboxService = true })
	bob := parleytest.StartNode(t, "Bob")
	if _, _, err := carol.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, "Bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Messenger().OfferMailbox(ctx, "Bob"); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "Carol's offer to fail", func() bool {
		m, _ := offerIn(t, carol, bob.PeerID())
		return m.Status == parley.StatusFailed
	})
	if reqs, err := bob.Messenger().Requests(ctx); err != nil || len(reqs) != 0 {
		t.Errorf("Bob's requests: %+v, %v; want none", reqs, err)
	}
	if convs, err := bob.Messenger().Conversations(ctx); err != nil || len(convs) != 0 {
		t.Errorf("Bob's conversations: %+v, %v; want none", convs, err)
	}
}

// TestAddMailboxServingNone: adding a node that is up but holds no mail
// for others says so, not that it is unreachable.
func TestAddMailboxServingNone(t *testing.T) {
	carol := parleytest.StartNode(t, "Carol")
	bob := parleytest.StartNode(t, "Bob")
	_, err := bob.Messenger().AddMailbox(context.Background(), p2pAddr(t, carol))
	if !errors.Is(err, parley.ErrMailboxUnavailable) || !strings.Contains(err.Error(), "does not hold mail for others") || strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("adding a node without the service: %v", err)
	}
}
