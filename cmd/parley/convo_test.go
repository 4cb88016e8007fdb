package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// cliConvoMessage is what `parley messages --json` shows of edits,
// deletes, reactions and replies.
type cliConvoMessage struct {
	ID        string              `json:"id"`
	Text      string              `json:"text"`
	ReplyTo   string              `json:"reply_to"`
	Edited    bool                `json:"edited"`
	Deleted   bool                `json:"deleted"`
	Reactions map[string][]string `json:"reactions"`
	Edits     []struct {
		Text string `json:"text"`
	} `json:"edits"`
	Quote *struct {
		Missing bool   `json:"missing"`
		From    string `json:"from"`
		Text    string `json:"text"`
	} `json:"quote"`
}

func convoMessages(p *parleytest.Process, with string) []cliConvoMessage {
	var ms []cliConvoMessage
	p.CLIJSON(&ms, "messages", with, "--limit", "0")
	return ms
}

// TestConvoFromTheCLI: reply, edit, react and delete (for everyone, and for
// me) from the CLI, with --json, between two processes; scripts name the
// message by a prefix of its ID.
func TestConvoFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	var sent, gone parleytest.CLIMessage
	alice.CLIJSON(&sent, "send", "bob", "lunch at noon?")
	alice.CLIJSON(&gone, "send", "bob", "a typo I regret")
	parleytest.Eventually(t, "bob holding both", func() bool { return len(bob.Messages("alice")) == 2 })

	var reply cliConvoMessage
	bob.CLIJSON(&reply, "reply", "alice", sent.ID[:8], "yes, noon")
	if reply.ReplyTo != sent.ID || reply.Quote == nil || reply.Quote.Text != "lunch at noon?" || reply.Quote.From != alice.PeerID() {
		t.Fatalf("reply --json: %+v", reply)
	}
	var reacted cliConvoMessage
	bob.CLIJSON(&reacted, "react", "alice", sent.ID[:8], "👍")
	if !slices.Equal(reacted.Reactions["👍"], []string{bob.PeerID()}) {
		t.Fatalf("react --json: %+v", reacted)
	}
	var edited cliConvoMessage
	alice.CLIJSON(&edited, "edit", "bob", sent.ID[:8], "lunch at one?")
	if !edited.Edited || edited.Text != "lunch at one?" || len(edited.Edits) != 2 || edited.Edits[0].Text != "lunch at noon?" {
		t.Fatalf("edit --json: %+v", edited)
	}
	var deleted cliConvoMessage
	alice.CLIJSON(&deleted, "delete", "bob", gone.ID, "--for-everyone")
	if !deleted.Deleted || deleted.Text != "" {
		t.Fatalf("delete --json: %+v", deleted)
	}
	if out, code := bob.Try("edit", "alice", sent.ID[:8], "mine now"); code == 0 || !strings.Contains(out, "author") {
		t.Fatalf("bob editing alice's message: exit %d, %q", code, out)
	}
	if out, code := bob.Try("react", "alice", sent.ID[:8], strings.Repeat("👍", 30)); code == 0 {
		t.Fatalf("an oversized reaction: exit 0, %q", out)
	}

	parleytest.Eventually(t, "bob seeing the edit and the delete", func() bool {
		for _, m := range convoMessages(bob, "alice") {
			switch m.ID {
			case sent.ID:
				if !m.Edited || m.Text != "lunch at one?" || len(m.Reactions["👍"]) != 1 {
					return false
				}
			case gone.ID:
				if !m.Deleted || m.Text != "" {
					return false
				}
			}
		}
		return true
	})
	bob.CLI("react", "alice", sent.ID[:8], "👍", "--remove")
	parleytest.Eventually(t, "alice seeing the reaction withdrawn", func() bool {
		for _, m := range convoMessages(alice, "bob") {
			if m.ID == sent.ID {
				return m.Edited && len(m.Reactions) == 0
			}
		}
		return false
	})
	if out := bob.CLI("messages", "alice"); !strings.Contains(out, "lunch at one? (edited)") || !strings.Contains(out, "[deleted]") ||
		!strings.Contains(out, `[reply to alice: "lunch at one?"] yes, noon`) {
		t.Fatalf("messages:\n%s", out)
	}
	bob.CLI("delete", "alice", sent.ID[:8])
	if slices.ContainsFunc(convoMessages(bob, "alice"), func(m cliConvoMessage) bool { return m.ID == sent.ID }) {
		t.Fatal("a message deleted for me is still listed")
	}
}
