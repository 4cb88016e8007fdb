package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

func TestDMBothWaysDeliveredThenRead(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)

	hi, err := alice.m.Send(ctx, "bob", "hi bob")
	if err != nil {
		t.Fatal(err)
	}
	if hi.Status != parley.StatusQueued {
		t.Fatalf("status right after Send = %v, want queued", hi.Status)
	}
	hey, err := bob.m.Send(ctx, "alice", "hey alice")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice's message delivered", func() bool { return alice.statusOf("bob", hi.ID) == parley.StatusDelivered })
	eventually(t, "bob's message delivered", func() bool { return bob.statusOf("alice", hey.ID) == parley.StatusDelivered })

	got := bob.messages("alice")
	if len(got) != 2 {
		t.Fatalf("bob holds %d messages, want 2: %+v", len(got), got)
	}
	if alice.statusOf("bob", hi.ID) == parley.StatusRead {
		t.Fatal("read before bob viewed the conversation")
	}
	// Bob views the conversation: alice sees read.
	if _, err := bob.m.Messages(ctx, "alice", 0, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice's message read", func() bool { return alice.statusOf("bob", hi.ID) == parley.StatusRead })
	if s := bob.statusOf("alice", hey.ID); s != parley.StatusDelivered {
		t.Fatalf("bob's own message is %v before alice viewed it", s)
	}
	for _, m := range bob.messages("alice") {
		if m.ID == hi.ID && (m.Text != "hi bob" || m.From != alice.peerID() || m.Outgoing) {
			t.Fatalf("bob's copy of alice's message is wrong: %+v", m)
		}
	}
}

func TestOfflineRecipientGetsEveryMessageOnce(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	bob.stop()

	var sent []parley.Message
	for i := range 5 {
		m, err := alice.m.Send(ctx, "bob", fmt.Sprintf("while you were out #%d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	for _, m := range sent {
		if s := alice.statusOf("bob", m.ID); s != parley.StatusQueued {
			t.Fatalf("message to an offline peer is %v, want queued", s)
		}
	}
	// Alice restarts too: the outbox survives, and so does the queue order.
	alice.restart()
	bob.start()
	eventually(t, "all delivered", func() bool {
		for _, m := range sent {
			if alice.statusOf("bob", m.ID) != parley.StatusDelivered {
				return false
			}
		}
		return true
	})
	got := bob.messages("alice")
	if len(got) != len(sent) {
		t.Fatalf("bob holds %d messages, want exactly %d", len(got), len(sent))
	}
	for i, m := range got {
		if m.ID != sent[i].ID || m.Text != sent[i].Text {
			t.Fatalf("message %d: got %q (%s), want %q (%s)", i, m.Text, m.ID, sent[i].Text, sent[i].ID)
		}
	}
}

func TestStrangerLandsInRequests(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	// Only alice knows bob.
	if _, err := alice.m.AddContact(ctx, bob.m.Self().Invite, "bob"); err != nil {
		t.Fatal(err)
	}
	m, err := alice.m.Send(ctx, "bob", "you don't know me yet")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered", func() bool { return alice.statusOf("bob", m.ID) == parley.StatusDelivered })

	reqs, err := bob.m.Requests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].PeerID != alice.peerID() || reqs[0].Name != "alice" {
		t.Fatalf("bob's requests = %+v, want alice", reqs)
	}
	if cs, _ := bob.m.Contacts(ctx); len(cs) != 0 {
		t.Fatalf("a stranger became a contact without being accepted: %+v", cs)
	}
	if got := bob.messages(alice.peerID()); len(got) != 1 || got[0].Text != "you don't know me yet" {
		t.Fatalf("bob's view of the request: %+v", got)
	}
	if _, err := bob.m.Send(ctx, alice.peerID(), "hello?"); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("writing to an unaccepted request: err = %v", err)
	}
	// Viewing a request sends no read receipt.
	if _, err := bob.m.Messages(ctx, alice.peerID(), 0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.m.Accept(ctx, alice.peerID()); err != nil {
		t.Fatal(err)
	}
	reply, err := bob.m.Send(ctx, "alice", "now I do")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "reply delivered", func() bool { return bob.statusOf("alice", reply.ID) == parley.StatusDelivered })
	if s := alice.statusOf("bob", m.ID); s != parley.StatusDelivered {
		t.Fatalf("alice's first message is %v: a request must not send read receipts", s)
	}
}

func TestSendRefusesBadInputAndStoresNothing(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	cases := []struct {
		to, text string
		want     error
	}{
		{"carol", "hi", parley.ErrUnknownContact},
		{"bob", "", parley.ErrEmptyText},
		{"bob", "   ", parley.ErrEmptyText},
		{"bob", string(make([]byte, parley.MaxTextBytes+1)), parley.ErrTextTooLong},
	}
	for _, c := range cases {
		if _, err := alice.m.Send(ctx, c.to, c.text); !errors.Is(err, c.want) {
			t.Errorf("Send(%q, %d bytes): err = %v, want %v", c.to, len(c.text), err, c.want)
		}
	}
	if got := alice.messages("bob"); len(got) != 0 {
		t.Fatalf("refused messages were stored: %+v", got)
	}
	if _, err := alice.m.AddContact(ctx, "parley:NOTANINVITE", ""); !errors.Is(err, parley.ErrInvalidInvite) {
		t.Fatalf("bad invite: err = %v", err)
	}
	carol := startNode(t, "carol")
	for _, name := range []string{strings.Repeat("c", 65), "car\nol", "\u202ecarol"} {
		if _, err := alice.m.AddContact(ctx, carol.m.Self().Invite, name); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("contact name %q: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := alice.m.Resolve(ctx, carol.peerID()); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("a refused contact was stored: %v", err)
	}
}

func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	secret := "the eagle lands at 0712 " + t.Name()
	m, err := alice.m.Send(ctx, "bob", secret)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered", func() bool { return alice.statusOf("bob", m.ID) == parley.StatusDelivered })
	alice.stop()
	bob.stop()
	for _, n := range []*testNode{alice, bob} {
		if hits := filesContaining(t, n.dir, []byte(secret)); len(hits) > 0 {
			t.Errorf("%s's data dir holds the text in plain: %v", n.name, hits)
		}
	}
}

func TestSecondNodeOnSameDataDirIsRefused(t *testing.T) {
	alice := startNode(t, "alice")
	_, err := newNodeErr(alice.dir)
	if !errors.Is(err, parley.ErrDataDirInUse) {
		t.Fatalf("second node on one data dir: err = %v, want ErrDataDirInUse", err)
	}
	// The first node is unharmed.
	if _, err := alice.m.Contacts(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestFindContactThroughDHTByPeerIDAlone(t *testing.T) {
	ctx := context.Background()
	hub := startNode(t, "hub")
	boot := hub.m.Self().Addrs[0]
	alice, bob := startNode(t, "alice", boot), startNode(t, "bob", boot)
	// Alice knows bob's peer ID and keys, but not one address of his.
	if _, err := alice.m.AddContact(ctx, inviteWithoutAddrs(t, bob), "bob"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob in the hub's routing table", func() bool { return hub.m.Online(bob.peerID()) })
	m, err := alice.m.Send(ctx, "bob", "found you")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered via a DHT lookup", func() bool { return alice.statusOf("bob", m.ID) == parley.StatusDelivered })
}

func TestPresenceFollowsConnections(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	eventually(t, "bob online", func() bool { return alice.m.Online(bob.peerID()) })
	events := alice.m.Subscribe(ctx)
	await := func(online bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatal("event stream closed")
				}
				if e.Type == parley.EventPresence && e.PeerID == bob.peerID() && e.Online == online {
					return
				}
				t.Logf("other event: %+v", e)
			case <-deadline:
				t.Fatalf("no presence event online=%v; alice's conns to bob: %v", online, alice.Host().Network().ConnsToPeer(mustDecode(t, bob.peerID())))
			}
		}
	}
	bob.stop()
	// Usually at once; but a QUIC dial that completed just as bob closed
	// leaves alice a connection that only QUIC's 30 s idle timeout ends.
	eventuallyWithin(t, 45*time.Second, "bob offline", func() bool { return !alice.m.Online(bob.peerID()) })
	await(false)
	bob.start()
	await(true)
}

func mustDecode(t *testing.T, s string) peer.ID {
	p, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A contact who lost their store (but kept their identity) cannot open
// envelopes under the key they acknowledged before; the sender is told,
// starts a new key, and what it sends next arrives.
func TestSenderRecoversWhenThePeerLostItsKeys(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	first, err := alice.m.Send(ctx, "bob", "before")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "first delivered", func() bool { return alice.statusOf("bob", first.ID) == parley.StatusDelivered })

	bob.stop()
	if err := os.RemoveAll(filepath.Join(bob.dir, "db")); err != nil {
		t.Fatal(err)
	}
	bob.start()
	if _, err := bob.m.AddContact(ctx, alice.m.Self().Invite, "alice"); err != nil {
		t.Fatal(err)
	}

	lost, err := alice.m.Send(ctx, "bob", "sealed under the key bob forgot")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "refusal", func() bool { return alice.statusOf("bob", lost.ID) == parley.StatusFailed })
	next, err := alice.m.Send(ctx, "bob", "under a new key")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "next delivered", func() bool { return alice.statusOf("bob", next.ID) == parley.StatusDelivered })
}

// Viewing the last N messages marks those N read, not the backlog above
// them that the user has not seen.
func TestOnlyShownMessagesAreRead(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	var sent []parley.Message
	for i := range 3 {
		m, err := alice.m.Send(ctx, "bob", fmt.Sprintf("number %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	eventually(t, "all delivered", func() bool { return alice.statusOf("bob", sent[2].ID) == parley.StatusDelivered })
	shown, err := bob.m.Messages(ctx, "alice", 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || shown[0].ID != sent[2].ID || shown[0].Status != parley.StatusRead {
		t.Fatalf("bob was shown %+v", shown)
	}
	eventually(t, "the shown message read", func() bool { return alice.statusOf("bob", sent[2].ID) == parley.StatusRead })
	for _, m := range sent[:2] {
		if s := alice.statusOf("bob", m.ID); s != parley.StatusDelivered {
			t.Errorf("%q is %v though bob never saw it", m.Text, s)
		}
	}
}

// A stranger who calls itself by a contact's name cannot take that name
// over: writing to "bob" still reaches the contact.
func TestStrangerCannotSquatAContactsName(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	impostor := startNode(t, "bob")
	befriend(t, alice, bob)
	if _, err := impostor.m.AddContact(ctx, alice.m.Self().Invite, "alice"); err != nil {
		t.Fatal(err)
	}
	m, err := impostor.m.Send(ctx, "alice", "it's me, bob")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the impostor's request arrives", func() bool { return impostor.statusOf("alice", m.ID) == parley.StatusDelivered })
	c, err := alice.m.Resolve(ctx, "bob")
	if err != nil || c.PeerID != bob.peerID() {
		t.Fatalf("\"bob\" resolves to %s (%v), want the contact %s", c.PeerID, err, bob.peerID())
	}
}

// Reading a conversation on one surface tells the others (a read event),
// so their unread counts follow; reading nothing new tells no one.
func TestReadingIsAnnounced(t *testing.T) {
	ctx := context.Background()
	alice, bob := startNode(t, "alice"), startNode(t, "bob")
	befriend(t, alice, bob)
	g := createGroup(t, "readers", alice, bob)
	dm, err := alice.m.Send(ctx, "bob", "read me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.m.SendToGroup(ctx, g.String(), "and me"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob holding both", func() bool {
		ms, err := bob.m.GroupMessages(ctx, g.String(), 0, false)
		return err == nil && len(ms) == 1 && len(bob.messages("alice")) == 1
	})
	events := bob.m.Subscribe(t.Context())
	if _, err := bob.m.Messages(ctx, "alice", 0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.m.GroupMessages(ctx, g.String(), 0, true); err != nil {
		t.Fatal(err)
	}
	// Read again: nothing new, no event; then a marker to stop at.
	if _, err := bob.m.Messages(ctx, "alice", 0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.m.Send(ctx, "alice", "marker"); err != nil {
		t.Fatal(err)
	}
	var read []parley.ConversationID
	for ev := range events {
		if ev.Type == parley.EventMessage && ev.Message.Text == "marker" {
			break
		}
		if ev.Type == parley.EventRead {
			read = append(read, ev.Conversation)
		}
	}
	want := []parley.ConversationID{dm.Conversation, g}
	if !slices.Equal(read, want) {
		t.Fatalf("read events for %v, want %v", read, want)
	}
}
