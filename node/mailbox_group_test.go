package node_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// A group of three whose members take turns being online, never two at
// once, converges through their mailboxes (issue 13): each message
// reaches each member once, and its sender sees it "stored" while no
// member holds it.
func TestMailboxGroupTakingTurns(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	carol := parleytest.StartNode(t, "Carol", fetchHourly)
	people := []*parleytest.Node{alice, bob, carol}
	for i, a := range people {
		for _, b := range people[i+1:] {
			parleytest.Befriend(t, a, b)
		}
	}
	for _, p := range people {
		addMailbox(t, p, m)
	}
	for _, holder := range people {
		for _, from := range people {
			if holder != from {
				awaitGrant(t, holder, from, m)
			}
		}
	}
	g := parleytest.CreateGroup(t, "turns", alice, bob, carol)
	for i, a := range people {
		for _, b := range people[i+1:] {
			awaitSettled(t, a, b)
		}
	}

	bob.Stop()
	carol.Stop()
	fromAlice := alice.SendToGroup(g, "alice, alone")
	parleytest.Eventually(t, "Alice's message stored in the mailboxes", func() bool {
		return groupStatus(t, alice, g, fromAlice.ID) == parley.StatusStored
	})
	alice.Stop()

	bob.Start()
	parleytest.Eventually(t, "Bob reading Alice's message", func() bool {
		return slices.Equal(bob.GroupTexts(g), []string{"alice, alone"})
	})
	fromBob := bob.SendToGroup(g, "bob, alone")
	parleytest.Eventually(t, "Bob's message stored in the mailboxes", func() bool {
		return groupStatus(t, bob, g, fromBob.ID) == parley.StatusStored
	})
	bob.Stop()

	carol.Start()
	want := []string{"alice, alone", "bob, alone"}
	parleytest.Eventually(t, "Carol reading both", func() bool { return len(carol.GroupTexts(g)) >= 2 })
	if got := carol.GroupTexts(g); !slices.Equal(got, want) {
		t.Fatalf("Carol holds %q, want %q once each", got, want)
	}
	carol.Stop()

	alice.Start()
	parleytest.Eventually(t, "Alice reading Bob's", func() bool { return len(alice.GroupTexts(g)) >= 2 })
	if got := alice.GroupTexts(g); !slices.Equal(got, want) {
		t.Fatalf("Alice holds %q, want %q once each", got, want)
	}
	for _, p := range people {
		if p != alice && alice.Messenger().Online(p.PeerID()) {
			t.Fatalf("%s is online: the test let members meet", p.Name)
		}
	}
}

// groupStatus is the status of one of n's messages in group g.
func groupStatus(t *testing.T, n *parleytest.Node, g parley.ConversationID, id parley.EnvelopeID) parley.Status {
	t.Helper()
	msgs, err := n.Messenger().GroupMessages(context.Background(), g.String(), parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m.Status
		}
	}
	return -1
}

// A group message no mailbox took (the mailbox was down when it was
// written) is deposited when its writer starts again, so a member who is
// never online with the writer still gets it.
func TestMailboxGroupQueuedSendDepositedOnStart(t *testing.T) {
	port := freePort(t)
	m := mailboxNode(t, "M", parleytest.Listen("/ip4/127.0.0.1/tcp/"+port))
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, bob, m)
	awaitGrant(t, alice, bob, m)
	g := parleytest.CreateGroup(t, "pair", alice, bob)
	awaitSettled(t, alice, bob)

	bob.Stop()
	m.Stop()
	sent := alice.SendToGroup(g, "while the mailbox was down")
	if s := groupStatus(t, alice, g, sent.ID); s != parley.StatusQueued {
		t.Fatalf("Alice's message is %s with no member and no mailbox up, want queued", s)
	}
	alice.Stop()
	m.Start()
	alice.Start()
	parleytest.Eventually(t, "Alice's message stored once she starts again", func() bool {
		return groupStatus(t, alice, g, sent.ID) == parley.StatusStored
	})
	alice.Stop()
	bob.Start()
	parleytest.Eventually(t, "Bob reading it", func() bool {
		return slices.Equal(bob.GroupTexts(g), []string{"while the mailbox was down"})
	})
}

// freePort is a loopback TCP port free now, for a node that must come
// back on the same address.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
