package node_test

import (
	"context"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/parleytest"
)

// found runs a search on n and returns the texts found, newest first.
func found(t *testing.T, n *parleytest.Node, query, conv string) []string {
	t.Helper()
	res, err := n.Messenger().Search(context.Background(), query, conv, 0)
	if err != nil {
		t.Fatalf("%s: search %q: %v", n.Name, query, err)
	}
	var out []string
	for _, r := range res.Results {
		out = append(out, r.Message.Text)
	}
	return out
}

// TestSearchAcrossConversations: what bob receives by DM and in a group is
// found by its words, in one conversation or all; an edit changes what is
// found (the latest text only), and a delete for everyone or for me
// removes it from the results; the snippet highlights the words.
func TestSearchAcrossConversations(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	g := parleytest.CreateGroup(t, "club", alice, bob)

	dm, err := alice.Messenger().Send(ctx, "bob", "The Café opens at nine", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	grp := alice.SendToGroup(g, "the café by the harbour")
	other, err := alice.Messenger().Send(ctx, "bob", "nothing to see here", parley.ClientID{})
	if err != nil {
		t.Fatal(err)
	}
	parleytest.Eventually(t, "bob finds both cafés", func() bool { return len(found(t, bob, "cafe", "")) == 2 })
	if got := found(t, bob, "café", ""); len(got) != 2 || got[0] != grp.Text || got[1] != dm.Text {
		t.Errorf("search café = %q, want the group's then the DM", got)
	}
	if got := found(t, bob, "caf", "alice"); len(got) != 1 || got[0] != dm.Text {
		t.Errorf("search caf in alice's DM = %q", got)
	}
	if got := found(t, bob, "harb", g.String()); len(got) != 1 || got[0] != grp.Text {
		t.Errorf("search harb in the group = %q", got)
	}
	res, err := bob.Messenger().Search(ctx, "opens nine", "", 0)
	if err != nil || len(res.Results) != 1 {
		t.Fatalf("search opens nine = %+v, %v", res, err)
	}
	r := res.Results[0]
	snip := []rune(r.Snippet)
	if len(r.Highlights) != 2 || string(snip[r.Highlights[0][0]:r.Highlights[0][1]]) != "opens" ||
		string(snip[r.Highlights[1][0]:r.Highlights[1][1]]) != "nine" || r.Message.From != alice.PeerID() {
		t.Errorf("result %+v", r)
	}

	// An edit: the new words find it, the old ones no more.
	act(t, alice, parley.Action{Kind: parley.ActionEdit, Conversation: "bob", Message: dm.ID.String(), Text: "The bakery opens at nine"})
	parleytest.Eventually(t, "bob finds the edited text", func() bool { return len(found(t, bob, "bakery", "")) == 1 })
	if got := found(t, bob, "cafe", ""); len(got) != 1 || got[0] != grp.Text {
		t.Errorf("after the edit, search cafe = %q, want the group's only", got)
	}

	// Deleted for everyone by alice, for me by bob: gone from the results.
	act(t, alice, parley.Action{Kind: parley.ActionDelete, Conversation: "bob", Message: dm.ID.String(), ForEveryone: true})
	parleytest.Eventually(t, "the deleted message is no longer found", func() bool { return len(found(t, bob, "bakery", "")) == 0 })
	act(t, bob, parley.Action{Kind: parley.ActionDelete, Conversation: g.String(), Message: grp.ID.String()})
	if got := found(t, bob, "harbour", ""); len(got) != 0 {
		t.Errorf("after deleting for me, search harbour = %q", got)
	}
	if got := found(t, bob, "nothing", ""); len(got) != 1 || got[0] != other.Text {
		t.Errorf("search nothing = %q", got)
	}
	for _, w := range []string{"bakery", "harbour"} {
		if held, err := bob.StoreHolds(w); err != nil || held {
			t.Errorf("bob's store holds %q: %v, %v", w, held, err)
		}
	}
	if _, err := bob.Messenger().Search(ctx, "  !? ", "", 0); err == nil {
		t.Error("a query with no word was taken")
	}
}
