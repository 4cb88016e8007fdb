package node_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// act does a to a message on n, failing the test on an error.
func act(t *testing.T, n *parleytest.Node, a parley.Action) parley.Message {
	t.Helper()
	m, err := n.Messenger().Act(context.Background(), a)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", n.Name, a.Kind, a.Message, err)
	}
	return m
}

// convoView is what a user sees of a conversation, one line a message:
// text, edited versions, deleted, reactions and quote; comparable across
// nodes.
func convoView(msgs []parley.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		line := fmt.Sprintf("%s %s %q deleted=%v", m.ID.String()[:8], m.From[len(m.From)-4:], m.Text, m.Deleted)
		if v := m.View; v != nil {
			for _, e := range v.Edits {
				line += fmt.Sprintf(" edit=%q", e.Text)
			}
			for _, e := range slices.Sorted(maps.Keys(v.Reactions)) {
				line += fmt.Sprintf(" %s=%d", e, len(v.Reactions[e]))
			}
			if q := v.Quote; q != nil {
				line += fmt.Sprintf(" quote=%+v", *q)
			}
		}
		out = append(out, line)
	}
	return out
}

func groupView(t *testing.T, n *parleytest.Node, g parley.ConversationID) []string {
	t.Helper()
	msgs, err := n.Messenger().GroupMessages(context.Background(), g.String(), parley.Page{}, false)
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	return convoView(msgs)
}

// TestGroupConvoConverges: in a group of three, edits, deletes (by the
// author and by an admin), reactions (set, withdrawn) and replies written
// while carol is away reach her in a random order, each envelope on its
// own (so deletes, edits and reactions often come before their targets),
// and she ends with the view alice and bob have; no member's store then
// holds the text of a message deleted for everyone, nor of its edit.
func TestGroupConvoConverges(t *testing.T) {
	ctx := context.Background()
	alice, bob, carol := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob"), parleytest.StartNode(t, "carol")
	parleytest.Befriend(t, alice, bob)
	parleytest.Befriend(t, alice, carol)
	g := parleytest.CreateGroup(t, "club", alice, bob, carol)
	m1 := alice.SendToGroup(g, "hello club")
	sameHistory(t, g, 1, alice, bob, carol)
	carol.Stop()

	gid := g.String()
	id := func(m parley.Message) string { return m.ID.String() }
	canary, canaryEdit, bobCanary := "canary-alice "+t.Name(), "canary-alice-edit "+t.Name(), "canary-bob "+t.Name()
	m4 := bob.SendToGroup(g, "bob first draft")
	m5 := alice.SendToGroup(g, canary)
	m6 := bob.SendToGroup(g, bobCanary)
	sameHistory(t, g, 4, alice, bob)
	act(t, bob, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: id(m4), Text: "bob second draft"})
	act(t, alice, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: id(m5), Text: canaryEdit})
	act(t, alice, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m4), Emoji: "👍"})
	act(t, bob, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m4), Emoji: "👍"})
	act(t, bob, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m4), Emoji: "❤️"})
	act(t, alice, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m1), Emoji: "🎉"})
	reply := act(t, bob, parley.Action{Kind: parley.ActionReply, Conversation: gid, Message: id(m4), Text: "and a reply"})
	act(t, bob, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: id(m4), Text: "bob final draft"})
	act(t, bob, parley.Action{Kind: parley.ActionReact, Conversation: gid, Message: id(m4), Emoji: "❤️", Remove: true})
	// Not allowed: bob edits alice's message, or deletes it (not an admin).
	if _, err := bob.Messenger().Act(ctx, parley.Action{Kind: parley.ActionEdit, Conversation: gid, Message: id(m1), Text: "mine"}); !errors.Is(err, parley.ErrNotAuthor) {
		t.Fatalf("bob editing alice's message: %v, want ErrNotAuthor", err)
	}
	if _, err := bob.Messenger().Act(ctx, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: gid, Message: id(m1)}); !errors.Is(err, parley.ErrNotAuthor) {
		t.Fatalf("bob deleting alice's message: %v, want ErrNotAuthor", err)
	}
	if reply.View == nil || reply.View.Quote == nil || reply.View.Quote.Text != "bob second draft" || reply.View.Quote.From != bob.PeerID() {
		t.Fatalf("the reply quotes %+v", reply.View)
	}
	// A forged edit of alice's message, sent past the node's own check:
	// alice refuses it (the topic rejects it), so only bob holds it.
	forged, err := bob.AnnotateGroupUnchecked(g, parley.Message{Kind: parley.KindEdit, Target: &m1.ID, Text: "forged"})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice holding every envelope of bob's but the forged edit", func() bool {
		ws, err := bob.OwnGroupWrites(g)
		if err != nil {
			return false
		}
		for _, w := range ws {
			if _, err := alice.StoredMessage(w.ID); err != nil && w.ID != forged.ID {
				return false
			}
		}
		envs, _ := alice.GroupEnvelopes(g)
		return len(envs) >= 16
	})
	// Every envelope so far, the ones about to be deleted included: what
	// carol will be handed.
	before, err := alice.GroupEnvelopes(g)
	if err != nil {
		t.Fatal(err)
	}
	act(t, alice, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: gid, Message: id(m5)})
	act(t, alice, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: gid, Message: id(m6)}) // as admin
	after, err := alice.GroupEnvelopes(g)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	parleytest.Eventually(t, "alice and bob seeing the same", func() bool {
		want = groupView(t, alice, g)
		return slices.Equal(want, groupView(t, bob, g))
	})
	if _, err := alice.StoredMessage(forged.ID); err == nil {
		t.Error("alice stored bob's forged edit of her message")
	}
	for _, w := range want {
		if strings.Contains(w, "forged") || strings.Contains(w, "canary") {
			t.Errorf("shown: %s", w)
		}
	}
	alice.Stop()
	bob.Stop()

	envs := slices.Concat(before, after)
	seed := uint64(time.Now().UnixNano())
	t.Logf("shuffle seed %d", seed)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
	carol.Start()
	for _, env := range envs {
		if _, _, err := carol.IngestGroup(g, [][]byte{env}); err != nil {
			t.Fatal(err)
		}
	}
	if got := groupView(t, carol, g); !slices.Equal(got, want) {
		t.Fatalf("carol sees (seed %d)\n%s\nalice saw\n%s", seed, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	alice.Start()
	bob.Start()
	for _, n := range []*parleytest.Node{alice, bob, carol} {
		parleytest.Eventually(t, n.Name+" seeing what all saw", func() bool { return slices.Equal(groupView(t, n, g), want) })
		for _, c := range []string{canary, canaryEdit, bobCanary} {
			parleytest.Eventually(t, fmt.Sprintf("%s holding no trace of %q", n.Name, c), func() bool {
				held, err := n.StoreHolds(c)
				return err == nil && !held
			})
		}
	}
}

// TestDMConvo: edits, a delete for everyone and reactions between two
// contacts, one of them offline for part of it, reach both; the earlier
// version stays viewable; an edit of the other's message is refused by
// the receiver; a reply quotes, and says when its target is gone.
func TestDMConvo(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	m, err := alice.Messenger().Send(ctx, "bob", "see you at 6\nbring cake", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "delivered", func() bool { return alice.StatusOf("bob", m.ID) == parley.StatusDelivered })
	act(t, bob, parley.Action{Kind: parley.ActionReact, Conversation: "alice", Message: m.ID.String()[:6], Emoji: "👍"})
	reply := act(t, bob, parley.Action{Kind: parley.ActionReply, Conversation: "alice", Message: m.ID.String(), Text: "yes!"})
	if q := reply.View.Quote; q == nil || q.Text != "see you at 6" || q.From != alice.PeerID() {
		t.Fatalf("reply quotes %+v", reply.View.Quote)
	}

	bob.Stop()
	canary := "canary-dm " + t.Name()
	act(t, alice, parley.Action{Kind: parley.ActionEdit, Conversation: "bob", Message: m.ID.String(), Text: "see you at 7"})
	c, err := alice.Messenger().Send(ctx, "bob", canary, parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	act(t, alice, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: "bob", Message: c.ID.String()})
	act(t, alice, parley.Action{Kind: parley.ActionReact, Conversation: "bob", Message: m.ID.String(), Emoji: "🎂"})
	bob.Start()

	for _, n := range []*parleytest.Node{alice, bob} {
		peer := "bob"
		if n == bob {
			peer = "alice"
		}
		parleytest.Eventually(t, n.Name+" seeing the edit and both reactions", func() bool {
			for _, msg := range n.Messages(peer) {
				if msg.ID == m.ID {
					return msg.Text == "see you at 7" && msg.Edited() && len(msg.View.Edits) == 2 &&
						msg.View.Edits[0].Text == "see you at 6\nbring cake" &&
						slices.Equal(msg.View.Reactions["👍"], []string{bob.PeerID()}) &&
						slices.Equal(msg.View.Reactions["🎂"], []string{alice.PeerID()})
				}
			}
			return false
		})
		for _, msg := range n.Messages(peer) {
			if strings.Contains(msg.Text, "canary") {
				t.Errorf("%s shows %q", n.Name, msg.Text)
			}
		}
		// The canary may have left alice's courier before she deleted it:
		// then bob purges it when the delete, queued after it, arrives.
		parleytest.Eventually(t, n.Name+" holding no trace of the deleted text", func() bool {
			held, err := n.StoreHolds(canary)
			return err == nil && !held
		})
	}

	// Bob cannot edit alice's message: his node says so, and a forged edit
	// sent past that check is refused by alice's.
	if _, err := bob.Messenger().Act(ctx, parley.Action{Kind: parley.ActionEdit, Conversation: "alice", Message: m.ID.String(), Text: "see you never"}); !errors.Is(err, parley.ErrNotAuthor) {
		t.Fatalf("bob editing alice's message: %v, want ErrNotAuthor", err)
	}
	forged, err := bob.SendAnnotationUnchecked(alice.PeerID(), parley.Message{Kind: parley.KindEdit, Target: &m.ID, Text: "see you never"})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "alice refusing the forged edit", func() bool {
		f, err := bob.StoredMessage(forged.ID)
		return err == nil && f.Status == parley.StatusFailed
	})
	if _, err := alice.StoredMessage(forged.ID); err == nil {
		t.Error("alice stored the forged edit")
	}

	// Deleted for me, alice's message goes from bob's side only, and his
	// reply now says it answers a message he does not have.
	act(t, bob, parley.Action{Kind: parley.ActionDelete, Conversation: "alice", Message: m.ID.String()})
	for _, msg := range bob.Messages("alice") {
		if msg.ID == m.ID {
			t.Fatal("a message deleted for me is still listed")
		}
		if msg.ID == reply.ID && (msg.View == nil || msg.View.Quote == nil || !msg.View.Quote.Missing) {
			t.Errorf("the reply quotes %+v after its target was deleted for me", msg.View)
		}
	}
	if !slices.ContainsFunc(alice.Messages("bob"), func(msg parley.Message) bool { return msg.ID == m.ID && !msg.Deleted }) {
		t.Error("bob's delete for me reached alice")
	}
	if _, err := bob.Messenger().Act(ctx, parley.Action{Kind: parley.ActionReact, Conversation: "alice", Message: reply.ID.String(), Emoji: strings.Repeat("👍", 20)}); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("a reaction of 20 emoji: %v, want ErrMalformed", err)
	}
}

// TestDeleteFileForEveryone: a file deleted for everyone by its sender
// leaves the recipient with no record of it (name, key) and no copy in
// the downloads folder; the sender's original stays.
func TestDeleteFileForEveryone(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	name := "canary-file-" + strings.ReplaceAll(t.Name(), "/", "-") + ".txt"
	path, _ := parleytest.RandomFile(t, t.TempDir(), name, 64<<10)
	sent, err := alice.Messenger().SendFile(ctx, "bob", path)
	if err != nil {
		t.Fatal(err)
	}
	got := bob.WaitComplete(sent.ID)
	var msgID parley.EnvelopeID
	for _, m := range alice.Messages("bob") {
		if m.FileID == sent.ID {
			msgID = m.ID
		}
	}
	act(t, alice, parley.Action{Kind: parley.ActionDelete, ForEveryone: true, Conversation: "bob", Message: msgID.String()})
	parleytest.Eventually(t, "bob's copy gone", func() bool {
		_, err := bob.Messenger().File(ctx, sent.ID)
		return errors.Is(err, parley.ErrNotFound)
	})
	if _, err := os.Stat(got.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bob's download is still there: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("alice's original: %v", err)
	}
	for _, n := range []*parleytest.Node{alice, bob} {
		if held, err := n.StoreHolds(name); err != nil || held {
			t.Errorf("%s's store holds the file's name (err %v)", n.Name, err)
		}
	}
}
