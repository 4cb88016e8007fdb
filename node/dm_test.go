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
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

func TestDMBothWaysDeliveredThenRead(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)

	hi, err := alice.Messenger().Send(ctx, "bob", "hi bob", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	if hi.Status != parley.StatusQueued {
		t.Fatalf("status right after Send = %v, want queued", hi.Status)
	}
	hey, err := bob.Messenger().Send(ctx, "alice", "hey alice", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice's message delivered", func() bool { return alice.StatusOf("bob", hi.ID) == parley.StatusDelivered })
	parleytest.Eventually(t, "bob's message delivered", func() bool { return bob.StatusOf("alice", hey.ID) == parley.StatusDelivered })

	got := bob.Messages("alice")
	if len(got) != 2 {
		t.Fatalf("bob holds %d messages, want 2: %+v", len(got), got)
	}
	if alice.StatusOf("bob", hi.ID) == parley.StatusRead {
		t.Fatal("read before bob viewed the conversation")
	}
	// Bob views the conversation: alice sees read.
	if _, err := bob.Messenger().Messages(ctx, "alice", parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice's message read", func() bool { return alice.StatusOf("bob", hi.ID) == parley.StatusRead })
	if s := bob.StatusOf("alice", hey.ID); s != parley.StatusDelivered {
		t.Fatalf("bob's own message is %v before alice viewed it", s)
	}
	for _, m := range bob.Messages("alice") {
		if m.ID == hi.ID && (m.Text != "hi bob" || m.From != alice.PeerID() || m.Outgoing) {
			t.Fatalf("bob's copy of alice's message is wrong: %+v", m)
		}
	}
}

func TestOfflineRecipientGetsEveryMessageOnce(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	bob.Stop()

	var sent []parley.Message
	for i := range 5 {
		m, err := alice.Messenger().Send(ctx, "bob", fmt.Sprintf("while you were out #%d", i), parley.ClientID{})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	for _, m := range sent {
		if s := alice.StatusOf("bob", m.ID); s != parley.StatusQueued {
			t.Fatalf("message to an offline peer is %v, want queued", s)
		}
	}
	// Alice restarts too: the outbox survives, and so does the queue order.
	alice.Restart()
	bob.Start()
	parleytest.Eventually(t, "all delivered", func() bool {
		for _, m := range sent {
			if alice.StatusOf("bob", m.ID) != parley.StatusDelivered {
				return false
			}
		}
		return true
	})
	got := bob.Messages("alice")
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
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	// Only alice knows bob.
	if _, _, err := alice.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, "bob"); err != nil {
		t.Fatal(err)
	}
	m, err := alice.Messenger().Send(ctx, "bob", "you don't know me yet", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })

	reqs, err := bob.Messenger().Requests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].PeerID != alice.PeerID() || reqs[0].Name != "alice" {
		t.Fatalf("bob's requests = %+v, want alice", reqs)
	}
	if cs, _ := bob.Messenger().Contacts(ctx); len(cs) != 0 {
		t.Fatalf("a stranger became a contact without being accepted: %+v", cs)
	}
	if got := bob.Messages(alice.PeerID()); len(got) != 1 || got[0].Text != "you don't know me yet" {
		t.Fatalf("bob's view of the request: %+v", got)
	}
	if _, err := bob.Messenger().Send(ctx, alice.PeerID(), "hello?", parley.ClientID{}); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("writing to an unaccepted request: err = %v", err)
	}
	// Viewing a request sends no read receipt: nothing is queued for alice.
	if _, err := bob.Messenger().Messages(ctx, alice.PeerID(), parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	if n, err := bob.OutboxLen(alice.PeerID()); err != nil || n != 0 {
		t.Fatalf("viewing a request queued %d envelopes for its sender (%v), want none", n, err)
	}
	// Accepting it tells alice what bob has read (it stayed "delivered"
	// for good before).
	if _, err := bob.Messenger().Accept(ctx, alice.PeerID()); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice seeing her first message read", func() bool {
		return alice.StatusOf("bob", m.ID) == parley.StatusRead
	})
	reply, err := bob.Messenger().Send(ctx, "alice", "now I do", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "reply delivered", func() bool { return bob.StatusOf("alice", reply.ID) == parley.StatusDelivered })
}

func TestSendRefusesBadInputAndStoresNothing(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
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
		if _, err := alice.Messenger().Send(ctx, c.to, c.text, parley.ClientID{}); !errors.Is(err, c.want) {
			t.Errorf("Send(%q, %d bytes): err = %v, want %v", c.to, len(c.text), err, c.want)
		}
	}
	if got := alice.Messages("bob"); len(got) != 0 {
		t.Fatalf("refused messages were stored: %+v", got)
	}
	if _, _, err := alice.Messenger().AddContact(ctx, "parley:NOTANINVITE", ""); !errors.Is(err, parley.ErrInvalidInvite) {
		t.Fatalf("bad invite: err = %v", err)
	}
	carol := parleytest.StartNode(t, "carol")
	for _, name := range []string{strings.Repeat("c", 65), "car\nol", "\u202ecarol", "car\u200bol"} {
		if _, _, err := alice.Messenger().AddContact(ctx, carol.Messenger().Self().InviteLong, name); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("contact name %q: err = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := alice.Messenger().Resolve(ctx, carol.PeerID()); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("a refused contact was stored: %v", err)
	}
}

func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	secret := "the eagle lands at 0712 " + t.Name()
	m, err := alice.Messenger().Send(ctx, "bob", secret, parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })
	alice.Stop()
	bob.Stop()
	for _, n := range []*parleytest.Node{alice, bob} {
		if hits := parleytest.FilesContaining(t, n.Dir, []byte(secret)); len(hits) > 0 {
			t.Errorf("%s's data dir holds the text in plain: %v", n.Name, hits)
		}
	}
}

func TestSecondNodeOnSameDataDirIsRefused(t *testing.T) {
	alice := parleytest.StartNode(t, "alice")
	_, err := newNodeErr(alice.Dir)
	if !errors.Is(err, parley.ErrDataDirInUse) {
		t.Fatalf("second node on one data dir: err = %v, want ErrDataDirInUse", err)
	}
	// The first node is unharmed.
	if _, err := alice.Messenger().Contacts(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// newNodeErr tries to start a node on dir and returns the error, closing
// the node if it unexpectedly started.
func newNodeErr(dir string) (*node.Node, error) {
	n, err := node.New(context.Background(), node.Config{DataDir: dir, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: quiet})
	if err == nil {
		n.Close()
	}
	return n, err
}

func TestFindContactThroughDHTByPeerIDAlone(t *testing.T) {
	ctx := context.Background()
	hub := parleytest.StartNode(t, "hub")
	boot := hub.Messenger().Self().Addrs[0]
	alice, bob := parleytest.StartNode(t, "alice", parleytest.Bootstrap(boot)), parleytest.StartNode(t, "bob", parleytest.Bootstrap(boot))
	// Alice knows bob's peer ID and keys, but not one address of his.
	if _, _, err := alice.Messenger().AddContact(ctx, bob.AddrlessInvite(), "bob"); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob in the hub's routing table", func() bool { return hub.Messenger().Online(bob.PeerID()) })
	m, err := alice.Messenger().Send(ctx, "bob", "found you", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered via a DHT lookup", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })
}

func TestPresenceFollowsConnections(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	parleytest.Eventually(t, "bob online", func() bool { return alice.Messenger().Online(bob.PeerID()) })
	events := alice.Messenger().Subscribe(ctx)
	await := func(online bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatal("event stream closed")
				}
				if e.Type == parley.EventPresence && e.PeerID == bob.PeerID() && e.Online == online {
					return
				}
				t.Logf("other event: %+v", e)
			case <-deadline:
				t.Fatalf("no presence event online=%v; alice's conns to bob: %v", online, alice.Host().Network().ConnsToPeer(mustDecode(t, bob.PeerID())))
			}
		}
	}
	bob.Stop()
	// Usually at once; but a QUIC dial that completed just as bob closed
	// leaves alice a connection that only QUIC's 30 s idle timeout ends.
	parleytest.EventuallyWithin(t, 45*time.Second, "bob offline", func() bool { return !alice.Messenger().Online(bob.PeerID()) })
	await(false)
	bob.Start()
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
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	first, err := alice.Messenger().Send(ctx, "bob", "before", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "first delivered", func() bool { return alice.StatusOf("bob", first.ID) == parley.StatusDelivered })

	bob.Stop()
	if err := os.RemoveAll(filepath.Join(bob.Dir, "db")); err != nil {
		t.Fatal(err)
	}
	bob.Start()
	if _, _, err := bob.Messenger().AddContact(ctx, alice.Messenger().Self().InviteLong, "alice"); err != nil {
		t.Fatal(err)
	}

	lost, err := alice.Messenger().Send(ctx, "bob", "sealed under the key bob forgot", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "refusal", func() bool { return alice.StatusOf("bob", lost.ID) == parley.StatusFailed })
	next, err := alice.Messenger().Send(ctx, "bob", "under a new key", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "next delivered", func() bool { return alice.StatusOf("bob", next.ID) == parley.StatusDelivered })
}

// Viewing the last N messages marks those N read, not the backlog above
// them that the user has not seen.
func TestOnlyShownMessagesAreRead(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	var sent []parley.Message
	for i := range 3 {
		m, err := alice.Messenger().Send(ctx, "bob", fmt.Sprintf("number %d", i), parley.ClientID{})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	parleytest.Eventually(t, "all delivered", func() bool { return alice.StatusOf("bob", sent[2].ID) == parley.StatusDelivered })
	shown, err := bob.Messenger().Messages(ctx, "alice", parley.Page{Limit: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || shown[0].ID != sent[2].ID || shown[0].Status != parley.StatusRead {
		t.Fatalf("bob was shown %+v", shown)
	}
	parleytest.Eventually(t, "the shown message read", func() bool { return alice.StatusOf("bob", sent[2].ID) == parley.StatusRead })
	for _, m := range sent[:2] {
		if s := alice.StatusOf("bob", m.ID); s != parley.StatusDelivered {
			t.Errorf("%q is %v though bob never saw it", m.Text, s)
		}
	}
}

// A stranger who calls itself by a contact's name cannot take that name
// over: writing to "bob" still reaches the contact.
func TestStrangerCannotSquatAContactsName(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	impostor := parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	if _, _, err := impostor.Messenger().AddContact(ctx, alice.Messenger().Self().InviteLong, "alice"); err != nil {
		t.Fatal(err)
	}
	m, err := impostor.Messenger().Send(ctx, "alice", "it's me, bob", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "the impostor's request arrives", func() bool { return impostor.StatusOf("alice", m.ID) == parley.StatusDelivered })
	c, err := alice.Messenger().Resolve(ctx, "bob")
	if err != nil || c.PeerID != bob.PeerID() {
		t.Fatalf("\"bob\" resolves to %s (%v), want the contact %s", c.PeerID, err, bob.PeerID())
	}
}

// Reading a conversation on one surface tells the others (a read event),
// so their unread counts follow; reading nothing new tells no one.
func TestReadingIsAnnounced(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	g := parleytest.CreateGroup(t, "readers", alice, bob)
	dm, err := alice.Messenger().Send(ctx, "bob", "read me", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Messenger().SendToGroup(ctx, g.String(), "and me", parley.ClientID{}); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob holding both", func() bool {
		ms, err := bob.Messenger().GroupMessages(ctx, g.String(), parley.Page{}, false)
		return err == nil && len(ms) == 1 && len(bob.Messages("alice")) == 1
	})
	events := bob.Messenger().Subscribe(t.Context())
	if _, err := bob.Messenger().Messages(ctx, "alice", parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Messenger().GroupMessages(ctx, g.String(), parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	// Read again: nothing new, no event; then a marker to stop at.
	if _, err := bob.Messenger().Messages(ctx, "alice", parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Messenger().Send(ctx, "alice", "marker", parley.ClientID{}); err != nil {
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

// Contacts are found by the names people type (issue 14): any case, no
// accents or emoji, a unique prefix; an ambiguous name lists who matches;
// and a request is accepted by its name like a contact is written to.
func TestContactsByTypedName(t *testing.T) {
	ctx := context.Background()
	alice := parleytest.StartNode(t, "alice")
	erin, eric, zoe := parleytest.StartNode(t, "erin"), parleytest.StartNode(t, "eric"), parleytest.StartNode(t, "zoe")
	for n, name := range map[*parleytest.Node]string{erin: "Erin ✨", eric: "Eric", zoe: "Zoë"} {
		if _, _, err := alice.Messenger().AddContact(ctx, n.Messenger().Self().InviteLong, name); err != nil {
			t.Fatal(err)
		}
	}
	for typed, want := range map[string]*parleytest.Node{
		"erin": erin, "ERIN ✨": erin, "Eric": eric, "eri": nil, "zoe": zoe, "zo": zoe, "Z": zoe,
	} {
		c, err := alice.Messenger().Resolve(ctx, typed)
		switch {
		case want == nil && !errors.Is(err, parley.ErrAmbiguous):
			t.Errorf("%q: %s, %v; want ambiguous", typed, c.Name, err)
		case want == nil && !strings.Contains(err.Error(), `"Erin ✨"`) || want == nil && !strings.Contains(err.Error(), `"Eric"`):
			t.Errorf("%q: the error does not list who matches: %v", typed, err)
		case want != nil && (err != nil || c.PeerID != want.PeerID()):
			t.Errorf("%q: %s (%s), %v; want %s", typed, c.Name, c.PeerID, err, want.Name)
		}
	}
	if _, err := alice.Messenger().Resolve(ctx, "bob"); !errors.Is(err, parley.ErrUnknownContact) {
		t.Errorf("bob: %v, want unknown", err)
	}

	carol := parleytest.StartNode(t, "carol")
	if _, _, err := carol.Messenger().AddContact(ctx, alice.Messenger().Self().InviteLong, "alice"); err != nil {
		t.Fatal(err)
	}
	m, err := carol.Messenger().Send(ctx, "alice", "hi, it's Carol", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "carol's request arriving", func() bool { return carol.StatusOf("alice", m.ID) == parley.StatusDelivered })
	if _, err := alice.Messenger().Accept(ctx, "erin"); !errors.Is(err, parley.ErrUnknownContact) {
		t.Errorf("accepting a contact who sent no request: %v", err)
	}
	c, err := alice.Messenger().Accept(ctx, "carol")
	if err != nil || c.PeerID != carol.PeerID() || c.State != parley.ContactAccepted {
		t.Fatalf("accept carol: %+v, %v", c, err)
	}
}

// Adding a stranger's invite accepts their request as Accept does,
// read receipts included: what was read while it was a request stops
// showing "delivered" to its sender (found writing PROTOCOL.md from the
// code, issue 14).
func TestAddingARequestersInviteSendsHeldReceipts(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	if _, _, err := alice.Messenger().AddContact(ctx, bob.Messenger().Self().Invite, "bob"); err != nil {
		t.Fatal(err)
	}
	m, err := alice.Messenger().Send(ctx, "bob", "you don't know me yet", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })
	if _, err := bob.Messenger().Messages(ctx, alice.PeerID(), parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bob.Messenger().AddContact(ctx, alice.Messenger().Self().Invite, ""); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice seeing her message read", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusRead })
}
