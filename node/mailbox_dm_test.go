package node_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
	"github.com/parley-im/parley/storage"
)

// Tests of direct messages through mailboxes, end to end (PROTOCOL.md
// §9.9): grants, deposits by the sender's courier, the stored status and
// receipts back through the sender's own mailboxes.

// mailboxNode is a node that serves mailboxes.
func mailboxNode(t *testing.T, name string, opts ...parleytest.Option) *parleytest.Node {
	return parleytest.StartNode(t, name, append([]parleytest.Option{func(c *node.Config) { c.MailboxService = true }}, opts...)...)
}

// fetchHourly: the node fetches its mail on start and on connecting to a
// mailbox, not on the timer (so what a test sees comes from those).
func fetchHourly(c *node.Config) { c.MailboxFetchInterval = time.Hour }

// addMailbox adds mb as n's mailbox.
func addMailbox(t *testing.T, n, mb *parleytest.Node) {
	t.Helper()
	if _, err := n.Messenger().AddMailbox(context.Background(), p2pAddr(t, mb)); err != nil {
		t.Fatalf("%s adding %s as a mailbox: %v", n.Name, mb.Name, err)
	}
}

// awaitGrant waits until holder holds from's grant of exactly these
// mailboxes.
func awaitGrant(t *testing.T, holder, from *parleytest.Node, mailboxes ...*parleytest.Node) {
	t.Helper()
	var want []string
	for _, mb := range mailboxes {
		want = append(want, mb.PeerID())
	}
	slices.Sort(want)
	parleytest.Eventually(t, holder.Name+" holding "+from.Name+"'s grant", func() bool {
		g, err := holder.MailboxGrantOf(from.PeerID())
		if err != nil {
			return false
		}
		var got []string
		for _, m := range g.Mailboxes {
			got = append(got, m.PeerID)
		}
		slices.Sort(got)
		return slices.Equal(got, want)
	})
}

// awaitSettled waits until a and b owe each other nothing: the grants
// they exchanged are acknowledged, so what a test finds queued later is
// what it sent.
func awaitSettled(t *testing.T, a, b *parleytest.Node) {
	t.Helper()
	parleytest.Eventually(t, a.Name+" and "+b.Name+" settled", func() bool {
		n, err := a.OutboxLen(b.PeerID())
		m, err2 := b.OutboxLen(a.PeerID())
		return err == nil && err2 == nil && n == 0 && m == 0
	})
}

// statusOf is the status of each of n's messages with peer, by ID.
func statusOf(t *testing.T, n *parleytest.Node, peer string) map[parley.EnvelopeID]parley.Status {
	t.Helper()
	msgs, err := n.Messenger().Messages(context.Background(), peer, parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[parley.EnvelopeID]parley.Status)
	for _, m := range msgs {
		out[m.ID] = m.Status
	}
	return out
}

// allStatus reports whether every one of sent has status s at n.
func allStatus(t *testing.T, n *parleytest.Node, peer string, sent []parley.Message, s parley.Status) bool {
	st := statusOf(t, n, peer)
	for _, m := range sent {
		if st[m.ID] != s {
			return false
		}
	}
	return true
}

func sendTexts(t *testing.T, from *parleytest.Node, to string, texts ...string) []parley.Message {
	t.Helper()
	var out []parley.Message
	for _, text := range texts {
		m, err := from.Messenger().Send(context.Background(), to, text, parley.ClientID{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestMailboxDMNeverOnlineTogether: Bob chooses M as his mailbox, and
// Alice holds his grant. Bob goes offline; Alice's three messages to him
// are deposited at M and each becomes stored (one status event each).
// Alice stops; Bob starts, has the three once, and sends his receipts,
// which go to Alice's mailbox (M too) since she is offline. Bob stops;
// Alice starts and sees each delivered, her outbox for Bob empty though
// Bob is offline: the receipts came through her mailbox.
func TestMailboxDMNeverOnlineTogether(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	awaitGrant(t, alice, bob, m)
	addMailbox(t, alice, m)
	awaitGrant(t, bob, alice, m)
	awaitSettled(t, alice, bob)

	bob.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := alice.Messenger().Subscribe(ctx)
	texts := []string{"one", "two", "three"}
	sent := sendTexts(t, alice, bob.PeerID(), texts...)
	storedEvents := make(map[parley.EnvelopeID]int)
	deadline := time.After(parleytest.Patience)
	for len(storedEvents) < len(sent) {
		select {
		case e := <-events:
			if e.Type == parley.EventStatus && e.Message.Status == parley.StatusStored {
				storedEvents[e.Message.ID]++
			}
		case <-deadline:
			t.Fatalf("stored events for %d of %d messages", len(storedEvents), len(sent))
		}
	}
	if !allStatus(t, alice, bob.PeerID(), sent, parley.StatusStored) {
		t.Fatalf("Alice's statuses: %v, want all stored", statusOf(t, alice, bob.PeerID()))
	}
	if n, err := alice.OutboxLen(bob.PeerID()); err != nil || n != len(sent) {
		t.Fatalf("Alice's outbox for Bob: %d, %v; want the %d kept for direct delivery", n, err, len(sent))
	}
	alice.Stop()
	cancel()
	for id, n := range storedEvents {
		if n != 1 {
			t.Errorf("message %s: %d stored events, want 1", id, n)
		}
	}

	bob.Start()
	parleytest.Eventually(t, "Bob showing Alice's three messages", func() bool {
		return len(textsFrom(t, bob, alice.PeerID())) == len(texts)
	})
	if got := textsFrom(t, bob, alice.PeerID()); !slices.Equal(got, texts) {
		t.Fatalf("Bob shows %q, want %q once each", got, texts)
	}
	parleytest.Eventually(t, "Bob's receipt deposited at Alice's mailbox", func() bool {
		q, err := bob.Outbox(alice.PeerID())
		if err != nil {
			return false
		}
		receipt := false
		for _, e := range q {
			if !e.Deposited {
				return false
			}
			receipt = receipt || bob.MessageKind(e.ID) == parley.KindReceipt
		}
		return receipt
	})
	bob.Stop()

	alice.Start()
	parleytest.Eventually(t, "Alice seeing her messages delivered", func() bool {
		return allStatus(t, alice, bob.PeerID(), sent, parley.StatusDelivered)
	})
	parleytest.Eventually(t, "Alice's outbox for Bob empty", func() bool {
		n, err := alice.OutboxLen(bob.PeerID())
		return err == nil && n == 0
	})
	if alice.Messenger().Online(bob.PeerID()) {
		t.Fatal("Bob is online: the receipts may have come directly")
	}
}

// TestMailboxDMOneMailboxDown: of Bob's two mailboxes one is down; Alice's
// message still reaches Bob, once, though it also comes directly when
// both are back online together.
func TestMailboxDMOneMailboxDown(t *testing.T) {
	m1, m2 := mailboxNode(t, "M1"), mailboxNode(t, "M2")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m1)
	addMailbox(t, bob, m2)
	awaitGrant(t, alice, bob, m1, m2)
	m2.Stop()
	bob.Stop()

	sent := sendTexts(t, alice, bob.PeerID(), "through the one that is up")
	parleytest.Eventually(t, "Alice's message stored", func() bool {
		return allStatus(t, alice, bob.PeerID(), sent, parley.StatusStored)
	})
	if l := m1.Messenger().Status().Mailbox; l.Envelopes != 1 {
		t.Fatalf("M1 holds %d envelopes, want 1", l.Envelopes)
	}

	// Both back: the message comes directly and from M1.
	bob.Start()
	parleytest.Eventually(t, "Alice's message delivered", func() bool {
		return allStatus(t, alice, bob.PeerID(), sent, parley.StatusDelivered)
	})
	parleytest.Eventually(t, "M1 empty after Bob's fetch", func() bool {
		return m1.Messenger().Status().Mailbox.Envelopes == 0
	})
	if got := textsFrom(t, bob, alice.PeerID()); !slices.Equal(got, []string{sent[0].Text}) {
		t.Fatalf("Bob shows %q, want %q once", got, sent[0].Text)
	}
}

// TestMailboxDMRevokedGrant: once Bob removes a mailbox, Alice's new grant
// from him lacks it, and her deposits go to the mailbox he kept only.
func TestMailboxDMRevokedGrant(t *testing.T) {
	m1, m2 := mailboxNode(t, "M1"), mailboxNode(t, "M2")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m1)
	addMailbox(t, bob, m2)
	awaitGrant(t, alice, bob, m1, m2)
	if err := bob.Messenger().RemoveMailbox(context.Background(), m2.PeerID()); err != nil {
		t.Fatal(err)
	}
	awaitGrant(t, alice, bob, m1)
	bob.Stop()

	sent := sendTexts(t, alice, bob.PeerID(), "not to M2")
	parleytest.Eventually(t, "Alice's message stored", func() bool {
		return allStatus(t, alice, bob.PeerID(), sent, parley.StatusStored)
	})
	if l1, l2 := m1.Messenger().Status().Mailbox, m2.Messenger().Status().Mailbox; l1.Envelopes != 1 || l2.Envelopes != 0 {
		t.Fatalf("M1 holds %d envelopes, M2 %d; want 1 and 0", l1.Envelopes, l2.Envelopes)
	}
}

// TestMailboxDMFull: Bob's mailbox holds one envelope at most. Alice's
// first message to offline Bob is stored there; her second stays queued,
// and a status event says why ("mailbox full"). Once Bob is back, both
// are delivered, once each.
func TestMailboxDMFull(t *testing.T) {
	m := parleytest.StartNode(t, "M", func(c *node.Config) {
		c.MailboxService = true
		c.MailboxQuota = storage.MailboxQuota{Count: 1}
	})
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	awaitGrant(t, alice, bob, m)
	bob.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := alice.Messenger().Subscribe(ctx)
	sent := sendTexts(t, alice, bob.PeerID(), "fits", "does not fit")
	deadline := time.After(parleytest.Patience)
	for reason := ""; reason == ""; {
		select {
		case e := <-events:
			if e.Type == parley.EventStatus && e.Message.ID == sent[1].ID && e.Message.Status == parley.StatusQueued {
				reason = e.Reason
			}
		case <-deadline:
			t.Fatal("no event said why the second message stayed queued")
		}
		if reason != "" && reason != "mailbox full" {
			t.Fatalf("reason %q, want \"mailbox full\"", reason)
		}
	}
	// The mailbox took the first before it refused the second.
	if st := statusOf(t, alice, bob.PeerID()); st[sent[0].ID] != parley.StatusStored || st[sent[1].ID] != parley.StatusQueued {
		t.Fatalf("statuses %s and %s, want stored and queued", st[sent[0].ID], st[sent[1].ID])
	}
	// The message list says so too, from the store (issue 13).
	parleytest.Eventually(t, "the second message listed with its reason", func() bool {
		return reasonsOf(t, alice, bob.PeerID())[sent[1].ID] == "mailbox full"
	})
	if r := reasonsOf(t, alice, bob.PeerID())[sent[0].ID]; r != "" {
		t.Fatalf("the stored message's reason: %q, want none", r)
	}

	bob.Start()
	parleytest.Eventually(t, "both delivered", func() bool {
		return allStatus(t, alice, bob.PeerID(), sent, parley.StatusDelivered)
	})
	// (The second may reach the mailbox too, once Bob's fetch made room
	// and before Alice reached Bob: Bob's next fetch finds it stored.)
	if got := textsFrom(t, bob, alice.PeerID()); !slices.Equal(got, []string{"fits", "does not fit"}) {
		t.Fatalf("Bob shows %q, want each once", got)
	}
	if r := reasonsOf(t, alice, bob.PeerID()); r[sent[1].ID] != "" {
		t.Fatalf("a delivered message's reason: %q, want none", r[sent[1].ID])
	}
}

// reasonsOf is the reason of each of n's messages with peer, by ID.
func reasonsOf(t *testing.T, n *parleytest.Node, peer string) map[parley.EnvelopeID]string {
	t.Helper()
	msgs, err := n.Messenger().Messages(context.Background(), peer, parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[parley.EnvelopeID]string)
	for _, m := range msgs {
		out[m.ID] = m.Reason
	}
	return out
}
