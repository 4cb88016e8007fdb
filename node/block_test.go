package node_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

func block(t *testing.T, n *parleytest.Node, who string) parley.BlockedPeer {
	t.Helper()
	b, err := n.Messenger().Block(context.Background(), who)
	if err != nil {
		t.Fatalf("%s blocking %s: %v", n.Name, who, err)
	}
	return b
}

func sendDM(t *testing.T, from *parleytest.Node, to, text string) parley.Message {
	t.Helper()
	m, err := from.Messenger().Send(context.Background(), to, text, parley.ClientID{})
	if err != nil {
		t.Fatalf("%s sending to %s: %v", from.Name, to, err)
	}
	return m
}

func holds(t *testing.T, n *parleytest.Node, needle string) bool {
	t.Helper()
	ok, err := n.StoreHolds(needle)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func conversation(t *testing.T, n *parleytest.Node, id parley.ConversationID) (parley.Conversation, bool) {
	t.Helper()
	convs, err := n.Messenger().Conversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.ID == id {
			return c, true
		}
	}
	return parley.Conversation{}, false
}

// TestBlockDropsMessagesUnblockRestores: a blocked contact's messages never
// reach the store, while the sender sees them delivered (never read), also
// across a restart of the blocker (the block is kept, the sending key
// forgotten); unblocking restores delivery of new messages, and what came
// while blocked stays dropped.
func TestBlockDropsMessagesUnblockRestores(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	before := sendDM(t, alice, "bob", "before the block")
	parleytest.Eventually(t, "delivered", func() bool { return alice.StatusOf("bob", before.ID) == parley.StatusDelivered })

	if b := block(t, bob, "alice"); b.PeerID != alice.PeerID() || b.Request || b.Name != "alice" {
		t.Fatalf("block = %+v", b)
	}
	canary := "canary-blocked " + t.Name()
	m := sendDM(t, alice, "bob", canary)
	parleytest.Eventually(t, "the dropped message acknowledged", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })
	if holds(t, bob, canary) {
		t.Fatal("bob's store holds a blocked contact's message")
	}
	if got := textList(bob.Messages("alice")); !slices.Equal(got, []string{"before the block"}) {
		t.Fatalf("bob sees %q", got)
	}
	conv := parley.DMConversationID(alice.PeerID(), bob.PeerID())
	if c, ok := conversation(t, bob, conv); !ok || !c.Blocked {
		t.Fatalf("bob's conversation with alice: %+v (listed %v), want blocked", c, ok)
	}
	if _, err := bob.Messenger().Send(ctx, "alice", "hi", parley.ClientID{}); !errors.Is(err, parley.ErrBlocked) {
		t.Fatalf("writing to a blocked contact: err = %v, want ErrBlocked", err)
	}
	// Viewing what came before the block sends alice no read receipt.
	if _, err := bob.Messenger().Messages(ctx, "alice", parley.Page{}, true); err != nil {
		t.Fatal(err)
	}

	bob.Restart()
	if list, err := bob.Messenger().BlockList(ctx); err != nil || len(list) != 1 || list[0].PeerID != alice.PeerID() {
		t.Fatalf("blocked after a restart: %+v, %v", list, err)
	}
	canary2 := "canary-blocked-after-restart " + t.Name()
	m2 := sendDM(t, alice, "bob", canary2)
	parleytest.Eventually(t, "the second dropped message acknowledged", func() bool { return alice.StatusOf("bob", m2.ID) == parley.StatusDelivered })
	if holds(t, bob, canary2) {
		t.Fatal("bob's store holds a blocked contact's message after a restart")
	}
	if st := alice.StatusOf("bob", before.ID); st != parley.StatusDelivered {
		t.Fatalf("alice's first message is %v: a blocked contact learnt it was read", st)
	}

	if _, err := bob.Messenger().Unblock(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	after := sendDM(t, alice, "bob", "after the unblock")
	parleytest.Eventually(t, "bob receiving a new message", func() bool {
		return slices.Contains(textList(bob.Messages("alice")), "after the unblock")
	})
	if got := textList(bob.Messages("alice")); !slices.Equal(got, []string{"before the block", "after the unblock"}) {
		t.Fatalf("bob sees %q after the unblock", got)
	}
	if holds(t, bob, canary) || holds(t, bob, canary2) {
		t.Fatal("what came while blocked reached the store after the unblock")
	}
	// Read receipts go again.
	if _, err := bob.Messenger().Messages(ctx, "alice", parley.Page{}, true); err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice seeing her message read", func() bool { return alice.StatusOf("bob", after.ID) == parley.StatusRead })
	sendDM(t, bob, "alice", "back")
	if _, err := bob.Messenger().Unblock(ctx, "alice"); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("unblocking someone not blocked: err = %v", err)
	}
}

// TestBlockedStrangerDropped: blocking a stranger's request takes it out
// of the requests and drops what it sends next; a peer blocked by peer ID
// before it ever wrote leaves no request behind.
func TestBlockedStrangerDropped(t *testing.T) {
	ctx := context.Background()
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	for _, n := range []*parleytest.Node{alice, carol} {
		if _, _, err := n.Messenger().AddContact(ctx, bob.Messenger().Self().InviteLong, "bob"); err != nil {
			t.Fatal(err)
		}
	}
	first := sendDM(t, alice, "bob", "hello from a stranger")
	parleytest.Eventually(t, "delivered", func() bool { return alice.StatusOf("bob", first.ID) == parley.StatusDelivered })
	if b := block(t, bob, "alice"); !b.Request {
		t.Fatalf("blocking a request: %+v, want Request", b)
	}
	if reqs, err := bob.Messenger().Requests(ctx); err != nil || len(reqs) != 0 {
		t.Fatalf("requests after blocking the only one: %+v, %v", reqs, err)
	}
	if _, ok := conversation(t, bob, parley.DMConversationID(alice.PeerID(), bob.PeerID())); ok {
		t.Fatal("a blocked request is still listed among conversations")
	}
	canary := "canary-stranger " + t.Name()
	m := sendDM(t, alice, "bob", canary)
	parleytest.Eventually(t, "acknowledged", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })
	if holds(t, bob, canary) {
		t.Fatal("bob's store holds a blocked stranger's message")
	}

	// carol, by peer ID, before she writes.
	if b := block(t, bob, carol.PeerID()); !b.Request || b.Name != "" {
		t.Fatalf("blocking an unknown peer: %+v", b)
	}
	canary = "canary-unknown " + t.Name()
	m = sendDM(t, carol, "bob", canary)
	parleytest.Eventually(t, "acknowledged", func() bool { return carol.StatusOf("bob", m.ID) == parley.StatusDelivered })
	if holds(t, bob, canary) {
		t.Fatal("bob's store holds a message of a peer blocked before it wrote")
	}
	if _, err := bob.Messenger().Resolve(ctx, carol.PeerID()); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("a blocked peer's message made a request: %v", err)
	}
	if list, _ := bob.Messenger().BlockList(ctx); len(list) != 2 {
		t.Fatalf("blocked list: %+v", list)
	}
	if _, err := bob.Messenger().Block(ctx, bob.PeerID()); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("blocking oneself: err = %v", err)
	}
}

// TestBlockedGroupMemberHidden: a blocked member's group messages are
// stored and synced, so that a member who was away catches up on them from
// the blocker alone, but the blocker is shown none of them and counts none
// unread.
func TestBlockedGroupMemberHidden(t *testing.T) {
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "club", alice, bob, carol)
	block(t, bob, carol.PeerID())
	hello := alice.SendToGroup(g, "from alice")
	for _, n := range []*parleytest.Node{bob, carol} {
		parleytest.Eventually(t, n.Name+" receiving alice's", func() bool { return len(n.GroupTexts(g)) == 1 })
	}
	// carol's reaction to it: stored by bob, not shown to him.
	act(t, carol, parley.Action{Kind: parley.ActionReact, Conversation: g.String(), Message: hello.ID.String(), Emoji: "👍"})
	parleytest.Eventually(t, "alice seeing carol's reaction", func() bool {
		return slices.Equal(groupView(t, alice, g), []string{hello.ID.String()[:8] + " " + alice.PeerID()[len(alice.PeerID())-4:] + ` "from alice" deleted=false 👍=1`})
	})
	parleytest.Eventually(t, "bob holding carol's reaction", func() bool {
		held, err := bob.GroupEnvelopes(g)
		want, werr := alice.GroupEnvelopes(g)
		return err == nil && werr == nil && len(held) == len(want)
	})
	if v := groupView(t, bob, g); len(v) != 1 || strings.Contains(v[0], "👍") {
		t.Fatalf("bob sees a blocked member's reaction: %q", v)
	}

	alice.Stop()
	canary := "canary-group " + t.Name()
	m := carol.SendToGroup(g, canary)
	parleytest.Eventually(t, "bob holding carol's message", func() bool {
		envs, err := bob.GroupEnvelopes(g)
		return err == nil && slices.ContainsFunc(envs, func(e []byte) bool { return parley.NewEnvelopeID(e) == m.ID })
	})
	carol.Stop()
	if got := bob.GroupTexts(g); !slices.Equal(got, []string{"from alice"}) {
		t.Fatalf("bob sees %q, want only alice's", got)
	}
	if c, ok := conversation(t, bob, g); !ok || c.Unread != 1 {
		t.Fatalf("bob's group: %+v (listed %v), want 1 unread", c, ok)
	}
	// Nor does search find it; alice's text, stored beside it, it finds.
	for word, want := range map[string]int{"canary": 0, "alice": 1} {
		res, err := bob.Messenger().Search(context.Background(), word, "", 0)
		if err != nil || len(res.Results) != want {
			t.Fatalf("bob searching %q: %+v (err %v), want %d results", word, res.Results, err, want)
		}
	}
	// alice catches up from bob, carol being away: bob serves what he hides.
	alice.Start()
	parleytest.EventuallyWithin(t, time.Minute, "alice catching up on carol's message from bob", func() bool {
		return slices.Contains(alice.GroupTexts(g), canary)
	})
	// Receipts are stored in rounds (the receipt lane), so the two hold
	// the same envelopes once the last round has synced, not at once.
	parleytest.EventuallyWithin(t, time.Minute, "alice and bob holding the same envelopes", func() bool {
		want, err1 := alice.GroupEnvelopes(g)
		got, err2 := bob.GroupEnvelopes(g)
		return err1 == nil && err2 == nil && len(got) == len(want)
	})
}

// TestConversationStateSurvivesRestart: mute (for a while or until undone),
// archive and pin are kept across a restart; pinned conversations come
// first, the latest pinned on top, at most parley.MaxPinned.
func TestConversationStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	for _, n := range []*parleytest.Node{bob, carol} {
		m := sendDM(t, n, "alice", "hi from "+n.Name)
		parleytest.Eventually(t, "delivered", func() bool { return n.StatusOf("alice", m.ID) == parley.StatusDelivered })
	}
	on, off := true, false
	set := func(conv string, ch parley.ConversationChange) parley.Conversation {
		t.Helper()
		c, err := alice.Messenger().SetConversationState(ctx, conv, ch)
		if err != nil {
			t.Fatalf("%s: %+v: %v", conv, ch, err)
		}
		return c
	}
	if c := set("bob", parley.ConversationChange{Mute: &on}); !c.Muted || !c.MutedUntil.IsZero() {
		t.Fatalf("muted: %+v", c)
	}
	if c := set("carol", parley.ConversationChange{Mute: &on, MuteFor: time.Hour}); !c.Muted || time.Until(c.MutedUntil) < 59*time.Minute {
		t.Fatalf("muted for an hour: %+v", c)
	}
	set("bob", parley.ConversationChange{Archive: &on})
	set("bob", parley.ConversationChange{Pin: &on})
	set("carol", parley.ConversationChange{Pin: &on})
	if _, err := alice.Messenger().SetConversationState(ctx, "bob", parley.ConversationChange{Mute: &on, MuteFor: -time.Second}); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("a negative mute: err = %v", err)
	}

	alice.Restart()
	convs, err := alice.Messenger().Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 2 || convs[0].Peer != carol.PeerID() || convs[1].Peer != bob.PeerID() {
		t.Fatalf("conversations after a restart: %+v, want carol (pinned last) then bob", convs)
	}
	b, c := convs[1], convs[0]
	if !b.Muted || !b.Archived || b.PinnedAt.IsZero() || !c.Muted || c.MutedUntil.IsZero() || c.Archived || c.PinnedAt.IsZero() {
		t.Fatalf("after a restart: bob %+v, carol %+v", b, c)
	}
	// A muted archived conversation stays archived on a new message.
	m := sendDM(t, bob, "alice", "while archived and muted")
	parleytest.Eventually(t, "delivered", func() bool { return bob.StatusOf("alice", m.ID) == parley.StatusDelivered })
	if b, _ := conversation(t, alice, b.ID); !b.Archived || b.Unread != 2 {
		t.Fatalf("a muted archived conversation after a new message: %+v", b)
	}
	set("bob", parley.ConversationChange{Mute: &off, Pin: &off})

	// At most parley.MaxPinned: groups of alice's alone.
	for i := range parley.MaxPinned - 1 {
		grp, err := alice.Messenger().CreateGroup(ctx, "g"+strings.Repeat("x", i))
		if err != nil {
			t.Fatal(err)
		}
		set(grp.ID.String(), parley.ConversationChange{Pin: &on})
	}
	if _, err := alice.Messenger().SetConversationState(ctx, "bob", parley.ConversationChange{Pin: &on}); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("pinning one more than %d: err = %v", parley.MaxPinned, err)
	}
	set("carol", parley.ConversationChange{Pin: &on}) // pinned already: no change
}

// TestNewMessageUnarchives: a new message un-archives a conversation that
// is not muted, as WhatsApp did.
func TestNewMessageUnarchives(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	m := sendDM(t, bob, "alice", "first")
	parleytest.Eventually(t, "delivered", func() bool { return bob.StatusOf("alice", m.ID) == parley.StatusDelivered })
	on := true
	c, err := alice.Messenger().SetConversationState(ctx, "bob", parley.ConversationChange{Archive: &on})
	if err != nil || !c.Archived {
		t.Fatalf("archiving: %+v, %v", c, err)
	}
	events := alice.Messenger().Subscribe(t.Context())
	// Our own message does not un-archive it.
	sendDM(t, alice, "bob", "mine")
	if c, _ := conversation(t, alice, c.ID); !c.Archived {
		t.Fatal("our own message un-archived the conversation")
	}
	sendDM(t, bob, "alice", "second")
	parleytest.Eventually(t, "un-archived", func() bool {
		c, _ := conversation(t, alice, c.ID)
		return !c.Archived
	})
	announced := false
	parleytest.Eventually(t, "an event saying so", func() bool {
		for !announced {
			select {
			case e := <-events:
				announced = e.Type == parley.EventConversation && e.Conversation == c.ID
			default:
				return false
			}
		}
		return true
	})
}

// Blocked is what the presence part asks.
func TestNodeBlocked(t *testing.T) {
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	id, err := peer.Decode(bob.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if alice.Blocked(id) {
		t.Fatal("blocked before blocking")
	}
	block(t, alice, "bob")
	if !alice.Blocked(id) {
		t.Fatal("not blocked after blocking")
	}
}

// TestBlockedMembersDeletePurges: a blocked member's delete for everyone
// of their own (hidden) message still purges it from the blocker's store,
// as from every member's.
func TestBlockedMembersDeletePurges(t *testing.T) {
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "club", alice, bob, carol)
	block(t, bob, carol.PeerID())
	canary := "canary-deleted " + t.Name()
	m := carol.SendToGroup(g, canary)
	parleytest.Eventually(t, "bob holding carol's message", func() bool { return holds(t, bob, canary) })
	act(t, carol, parley.Action{Kind: parley.ActionDelete, Conversation: g.String(), Message: m.ID.String(), ForEveryone: true})
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" purging the deleted message", func() bool { return !holds(t, n, canary) })
	}
}
