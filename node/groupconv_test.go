package node_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
	"github.com/parley-im/parley/node"
)

// receiptView is who got and read each message of a group as n sees it,
// one line a message; comparable across nodes (the times are the
// members' receipts' HLCs).
func receiptView(t *testing.T, n *parleytest.Node, g parley.ConversationID) []string {
	t.Helper()
	msgs, err := n.Messenger().GroupMessages(context.Background(), g.String(), parley.Page{}, false)
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	var out []string
	for _, m := range msgs {
		line := m.ID.String()[:8]
		if m.View != nil {
			for _, p := range slices.Sorted(maps.Keys(m.View.Receipts)) {
				r := m.View.Receipts[p]
				line += fmt.Sprintf(" %s:d=%d,r=%d", p[len(p)-4:], r.Delivered, r.Read)
			}
		}
		out = append(out, line)
	}
	return out
}

// readBy counts the members who read message id, as n sees it.
func readBy(t *testing.T, n *parleytest.Node, g parley.ConversationID, id parley.EnvelopeID) (read, delivered int) {
	t.Helper()
	msgs, err := n.Messenger().GroupMessages(context.Background(), g.String(), parley.Page{}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID != id || m.View == nil {
			continue
		}
		for _, r := range m.View.Receipts {
			if r.Read != 0 {
				read++
			}
			if r.Delivered != 0 {
				delivered++
			}
		}
	}
	return read, delivered
}

// markRead has n view the group, as a user opening it does.
func markRead(t *testing.T, n *parleytest.Node, g parley.ConversationID) {
	t.Helper()
	if _, err := n.Messenger().GroupMessages(context.Background(), g.String(), parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
}

// slowReceipts: the node sends no receipts in the test's time.
func slowReceipts(c *node.Config) { c.ReceiptDelay = time.Hour }

// Edits, a reaction, a delete for everyone and receipts reach a member who
// is never online with their author, through the members' mailboxes.
func TestGroupConvThroughMailboxes(t *testing.T) {
	m := mailboxNode(t, "M")
	alice := parleytest.StartNode(t, "Alice", fetchHourly)
	bob := parleytest.StartNode(t, "Bob", fetchHourly)
	parleytest.Befriend(t, alice, bob)
	addMailbox(t, alice, m)
	addMailbox(t, bob, m)
	awaitGrant(t, alice, bob, m)
	awaitGrant(t, bob, alice, m)
	g := parleytest.CreateGroup(t, "turns", alice, bob)
	awaitSettled(t, alice, bob)
	first := alice.SendToGroup(g, "first")
	second := alice.SendToGroup(g, "second")
	parleytest.Eventually(t, "Bob holding both", func() bool { return len(bob.GroupTexts(g)) == 2 })
	bob.Stop()

	gid := g.String()
	act(t, alice, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: first.ID.String(), Text: "first, edited"})
	act(t, alice, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: first.ID.String(), Emoji: "👍"})
	act(t, alice, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: gid, Message: second.ID.String()})
	// deposited: every write of from's of these kinds since since is at
	// a mailbox of to.
	deposited := func(from, to *parleytest.Node, since parley.HLC, kinds ...parley.Kind) func() bool {
		return func() bool {
			ws, err := from.OwnGroupWrites(g)
			if err != nil {
				return false
			}
			n := 0
			for _, w := range ws {
				if slices.Contains(kinds, w.Kind) && w.HLC > since {
					if !from.DepositedFor(g, w.ID, to.PeerID()) {
						return false
					}
					n++
				}
			}
			return n > 0
		}
	}
	parleytest.Eventually(t, "Alice's edit, reaction and delete at Bob's mailbox",
		deposited(alice, bob, second.HLC, parley.KindEdit, parley.KindReaction, parley.KindDelete))
	want := groupView(t, alice, g)
	alice.Stop()

	bob.Start()
	parleytest.Eventually(t, "Bob seeing the edit, the reaction and the delete", func() bool {
		return slices.Equal(groupView(t, bob, g), want)
	})
	if !strings.Contains(want[0], `"first, edited"`) || !strings.Contains(want[0], "👍=1") || !strings.Contains(want[1], "deleted=true") {
		t.Fatalf("Alice's view does not show what she did:\n%s", strings.Join(want, "\n"))
	}
	reading := parley.NewHLC(time.Now(), 0)
	markRead(t, bob, g)
	parleytest.Eventually(t, "Bob's read receipt at Alice's mailbox", func() bool {
		return readBy1(t, bob, g, first.ID) && deposited(bob, alice, reading, parley.KindGroupReceipt)()
	})
	bob.Stop()

	alice.Start()
	parleytest.Eventually(t, "Alice seeing Bob read her message", func() bool {
		read, _ := readBy(t, alice, g, first.ID)
		return read == 1
	})
	if alice.Messenger().Online(bob.PeerID()) {
		t.Fatal("Bob is online: the test let the members meet")
	}
}

// readBy1: n holds its own read receipt for id.
func readBy1(t *testing.T, n *parleytest.Node, g parley.ConversationID, id parley.EnvelopeID) bool {
	read, _ := readBy(t, n, g, id)
	return read == 1
}

// TestGroupReceiptsReadByAll: in a group of three, both other members
// read alice's message: every member sees it read by 2 of 2, and alice's
// message info says who and when.
func TestGroupReceiptsReadByAll(t *testing.T) {
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "club", alice, bob, carol)
	msg := alice.SendToGroup(g, "read me")
	sameHistory(t, g, 1, alice, bob, carol)
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" seeing it delivered to 2", func() bool {
			_, d := readBy(t, n, g, msg.ID)
			return d == 2
		})
	}
	markRead(t, bob, g)
	markRead(t, carol, g)
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" seeing it read by 2 of 2", func() bool {
			r, _ := readBy(t, n, g, msg.ID)
			return r == 2
		})
	}
	info, err := alice.Messenger().MessageInfo(context.Background(), "club", msg.ID.String()[:8])
	if err != nil {
		t.Fatal(err)
	}
	if !info.Group || len(info.Recipients) != 2 {
		t.Fatalf("info: %+v", info)
	}
	for _, r := range info.Recipients {
		if r.PeerID != bob.PeerID() && r.PeerID != carol.PeerID() || r.Read == 0 || r.Delivered == 0 || r.Read < r.Delivered || r.Pending != nil || r.Name == "" {
			t.Fatalf("recipient %+v", r)
		}
		if r.Read.Time().Before(msg.SentAt()) {
			t.Fatalf("read at %v, before it was sent at %v", r.Read.Time(), msg.SentAt())
		}
	}
}

// With "send read receipts" off, bob reads alice's DM and group message:
// alice learns they were delivered, never read; bob's own view is read.
func TestReadReceiptsOff(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	g := parleytest.CreateGroup(t, "pair", alice, bob)
	set, err := bob.Messenger().SetReadReceipts(ctx, false)
	if err != nil || set.ReadReceipts {
		t.Fatalf("setting read receipts off: %+v, %v", set, err)
	}
	dm, err := alice.Messenger().Send(ctx, bob.PeerID(), "a DM", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	gm := alice.SendToGroup(g, "a group message")
	sameHistory(t, g, 1, alice, bob)
	parleytest.Eventually(t, "the DM delivered", func() bool { return alice.StatusOf(bob.PeerID(), dm.ID) == parley.StatusDelivered })
	if _, err := bob.Messenger().Messages(ctx, alice.PeerID(), parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	markRead(t, bob, g)
	if s := bob.StatusOf(alice.PeerID(), dm.ID); s != parley.StatusRead {
		t.Fatalf("bob's own DM is %s, want read", s)
	}
	// What bob sends after reading comes after any receipt it would have
	// sent: a DM on the same outbox, and a group receipt for a later
	// message in the same or a later batch.
	after, err := bob.Messenger().Send(ctx, alice.PeerID(), "after reading", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	later := alice.SendToGroup(g, "later")
	parleytest.Eventually(t, "alice holding bob's DM sent after reading", func() bool {
		_, err := alice.StoredMessage(after.ID)
		return err == nil
	})
	parleytest.Eventually(t, "bob's receipt for the later group message", func() bool {
		_, d := readBy(t, alice, g, later.ID)
		return d == 1
	})
	parleytest.Eventually(t, "alice holding all bob's receipts", func() bool {
		ws, _ := bob.OwnGroupWrites(g)
		for _, w := range ws {
			if _, err := alice.StoredMessage(w.ID); err != nil {
				return false
			}
		}
		return true
	})
	if s := alice.StatusOf(bob.PeerID(), dm.ID); s != parley.StatusDelivered {
		t.Fatalf("alice's DM is %s, want delivered (bob's read receipts are off)", s)
	}
	if r, d := readBy(t, alice, g, gm.ID); r != 0 || d != 1 {
		t.Fatalf("alice's group message: read by %d, delivered to %d; want 0 and 1", r, d)
	}
	if s := bob.Messenger().Settings(ctx); s.ReadReceipts {
		t.Fatal("the setting reads on")
	}
	bob.Restart()
	if s := bob.Messenger().Settings(ctx); s.ReadReceipts {
		t.Fatal("the setting is on again after a restart")
	}
}

// Message info for a DM queued for an offline contact says why: offline
// since when, the last attempt, its path and error, the next retry and
// the reason the store keeps.
func TestMessageInfoQueuedDM(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	delivered, err := alice.Messenger().Send(ctx, bob.PeerID(), "while online", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered", func() bool { return alice.StatusOf(bob.PeerID(), delivered.ID) == parley.StatusDelivered })
	// The time is noted as the status moves, just after.
	var info parley.MessageInfo
	parleytest.Eventually(t, "the delivery's time in the message's info", func() bool {
		info, err = alice.Messenger().MessageInfo(ctx, bob.PeerID(), delivered.ID.String())
		return err == nil && info.Recipients[0].Delivered != 0
	})
	if r := info.Recipients[0]; r.PeerID != bob.PeerID() || r.Pending != nil || r.Delivered.Time().Before(delivered.SentAt()) {
		t.Fatalf("a delivered DM's recipient: %+v", r)
	}

	bob.Stop()
	sent, err := alice.Messenger().Send(ctx, bob.PeerID(), "while offline", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	var p *parley.Delivery
	parleytest.Eventually(t, "a failed attempt in the message's info", func() bool {
		info, err = alice.Messenger().MessageInfo(ctx, "bob", sent.ID.String()[:10])
		if err != nil {
			t.Fatal(err)
		}
		p = info.Recipients[0].Pending
		return p != nil && !p.LastAttempt.IsZero() && info.Message.Reason != ""
	})
	r := info.Recipients[0]
	switch {
	case info.Group || r.PeerID != bob.PeerID() || r.Delivered != 0:
		t.Fatalf("recipient %+v", r)
	case p.Online || p.OfflineSince.IsZero() || p.OfflineSince.After(p.LastAttempt):
		t.Fatalf("online %v, offline since %v, last attempt %v", p.Online, p.OfflineSince, p.LastAttempt)
	case p.Path != "direct" || p.LastError == "" || !p.NextRetry.After(p.LastAttempt):
		t.Fatalf("path %q, error %q, next retry %v after %v", p.Path, p.LastError, p.NextRetry, p.LastAttempt)
	case info.Message.Reason != "recipient offline":
		t.Fatalf("reason %q", info.Message.Reason)
	}
	bob.Start()
	parleytest.Eventually(t, "delivered once bob is back", func() bool {
		info, err := alice.Messenger().MessageInfo(ctx, "bob", sent.ID.String())
		return err == nil && info.Recipients[0].Pending == nil && info.Recipients[0].Delivered != 0
	})
}

// partitionOf cuts nodes (with their gates) into two sides that cannot
// reach each other, until heal.
func cutOff(t *testing.T, nodes []*parleytest.Node, gates []*partition, side []*parleytest.Node) {
	t.Helper()
	in := func(n *parleytest.Node) bool { return slices.Contains(side, n) }
	for i, n := range nodes {
		ids := make(map[peer.ID]bool)
		for _, o := range nodes {
			if in(o) != in(n) {
				ids[o.Host().ID()] = true
			}
		}
		gates[i].set(ids)
		for id := range ids {
			_ = n.Host().Network().ClosePeer(id)
		}
	}
}

// TestGroupConvPartitionConverges: three members split 2/1 edit, delete,
// react and read on both sides; once healed, all three see the same
// messages, edits, reactions and receipts ("read by 2 of 2" everywhere).
// A fourth member, away throughout, is handed every envelope in a random
// order, one at a time, and ends with the same view.
func TestGroupConvPartitionConverges(t *testing.T) {
	gates := make([]*partition, 3)
	var nodes []*parleytest.Node
	for i, name := range []string{"alice", "bob", "carol"} {
		gates[i] = &partition{}
		nodes = append(nodes, parleytest.StartNode(t, name, parleytest.Gater(gates[i])))
	}
	alice, bob, carol := nodes[0], nodes[1], nodes[2]
	dave := parleytest.StartNode(t, "dave", slowReceipts)
	for _, n := range []*parleytest.Node{bob, carol, dave} {
		parleytest.Befriend(t, alice, n)
	}
	parleytest.Befriend(t, bob, carol)
	g := parleytest.CreateGroup(t, "split", alice, bob, carol, dave)
	gid := g.String()
	id := func(m parley.Message) string { return m.ID.String() }
	dave.Stop() // before any message: so it owes no receipts
	m1 := alice.SendToGroup(g, "from alice")
	m2 := bob.SendToGroup(g, "from bob")
	m3 := carol.SendToGroup(g, "from carol")
	sameHistory(t, g, 3, alice, bob, carol)
	// Every envelope so far, m3 included (its envelope goes with its
	// delete): what dave will be handed, with what follows.
	before, err := alice.GroupEnvelopes(g)
	if err != nil {
		t.Fatal(err)
	}

	cutOff(t, nodes, gates, []*parleytest.Node{carol})
	act(t, alice, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: id(m1), Text: "from alice, edited"})
	act(t, bob, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m1), Emoji: "👍"})
	act(t, alice, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: gid, Message: id(m3)}) // as admin
	act(t, carol, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m1), Emoji: "👍"})
	act(t, carol, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m2), Emoji: "❤️"})
	act(t, carol, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: id(m3), Text: "from carol, edited"})
	act(t, bob, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m2), Emoji: "🎉"})
	act(t, bob, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m2), Emoji: "🎉", Remove: true})
	for _, n := range nodes {
		markRead(t, n, g)
	}

	for _, gt := range gates {
		gt.set(nil)
	}
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			parleytest.Connect(t, a, b)
		}
	}
	var want, wantReceipts []string
	parleytest.Eventually(t, "the three seeing the same, each message read by the other two", func() bool {
		want, wantReceipts = groupView(t, alice, g), receiptView(t, alice, g)
		for _, n := range nodes[1:] {
			if !slices.Equal(groupView(t, n, g), want) || !slices.Equal(receiptView(t, n, g), wantReceipts) {
				return false
			}
		}
		for _, m := range []parley.Message{m1, m2} {
			if r, _ := readBy(t, alice, g, m.ID); r != 2 {
				return false
			}
		}
		return true
	})
	// Members who send in the same millisecond without having seen each
	// other's messages are concurrent: their order is the HLC's, not the
	// order of the calls, so look the lines up by message.
	line := func(m parley.Message) string {
		for _, l := range want {
			if strings.HasPrefix(l, m.ID.String()[:8]) {
				return l
			}
		}
		return ""
	}
	l1, l2, l3 := line(m1), line(m2), line(m3)
	if !strings.Contains(l1, `"from alice, edited"`) || !strings.Contains(l1, "👍=2") ||
		!strings.Contains(l2, "❤️=1") || strings.Contains(l2, "🎉") || !strings.Contains(l3, "deleted=true") {
		t.Fatalf("the view misses what the members did:\n%s", strings.Join(want, "\n"))
	}

	// What alice holds, and her views of exactly that (a late envelope
	// between the two takes another round).
	var after [][]byte
	parleytest.Eventually(t, "alice's envelopes and views taken together", func() bool {
		a1, err := alice.GroupEnvelopes(g)
		if err != nil {
			t.Fatal(err)
		}
		want, wantReceipts = groupView(t, alice, g), receiptView(t, alice, g)
		after, err = alice.GroupEnvelopes(g)
		return err == nil && len(after) == len(a1)
	})
	envs := slices.Concat(before, after)
	for _, n := range nodes {
		n.Stop()
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("shuffle seed %d", seed)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
	dave.Start()
	for _, env := range envs {
		if _, _, err := dave.IngestGroup(g, [][]byte{env}); err != nil {
			t.Fatal(err)
		}
	}
	if got := groupView(t, dave, g); !slices.Equal(got, want) {
		t.Fatalf("dave sees (seed %d)\n%s\nthe others saw\n%s", seed, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := receiptView(t, dave, g); !slices.Equal(got, wantReceipts) {
		t.Fatalf("dave sees receipts (seed %d)\n%s\nthe others saw\n%s", seed, strings.Join(got, "\n"), strings.Join(wantReceipts, "\n"))
	}
}

// Receipts that arrive on the topic (stored in batches behind messages,
// pubsub/receipt_lane.go) are on the author's disk once shown: alice sees
// "read by 1 of 1" and "delivered to 2 of 2", and still does after a
// restart with the members gone, when nothing could bring them again.
func TestGroupReceiptsShownAfterRestart(t *testing.T) {
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "club", alice, bob, carol)
	msg := alice.SendToGroup(g, "read me")
	sameHistory(t, g, 1, alice, bob, carol)
	markRead(t, bob, g)
	parleytest.Eventually(t, "alice seeing it read by bob and delivered to both", func() bool {
		r, d := readBy(t, alice, g, msg.ID)
		return r == 1 && d == 2
	})
	bob.Stop()
	carol.Stop()
	alice.Restart()
	if r, d := readBy(t, alice, g, msg.ID); r != 1 || d != 2 {
		t.Fatalf("after a restart alice sees her message read by %d and delivered to %d, want 1 and 2", r, d)
	}
}
