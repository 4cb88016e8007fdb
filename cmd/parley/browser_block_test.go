package main

import (
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// bobConversation is Bob's one conversation as `parley conversations
// --json` lists it.
func onlyConversation(t *testing.T, p *parleytest.Process) cliConversation {
	t.Helper()
	var convs []cliConversation
	p.CLIJSON(&convs, "conversations", "--json")
	if len(convs) != 1 {
		t.Fatalf("%d conversations, want 1: %+v", len(convs), convs)
	}
	return convs[0]
}

// Block, mute, archive and pin in real Chromium, from a conversation's
// "Conversation options" menu: the sidebar moves an archived conversation
// to its "Archived" section; blocking asks first, then nothing Alice sends
// shows and the composer gives way to a notice; unblocking lets new
// messages through.
func TestBrowserBlockMuteArchivePin(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	alice.CLI("send", "Bob", "Hello Bob")
	parleytest.Eventually(t, "Bob holding it", func() bool { return len(bob.Messages("Alice")) == 1 })

	bt := b.NewTab("bob", art)
	bt.Navigate(bob.LoginURL())
	bt.Click("link", "Alice")
	bt.WaitMessage("Hello Bob")

	option := func(item string) {
		t.Helper()
		bt.Click("button", "Conversation options")
		bt.WaitRole("menu", "Conversation options")
		bt.Click("menuitem", item)
	}
	option("Pin")
	parleytest.Eventually(t, "pinned", func() bool { return onlyConversation(t, bob).PinnedAt != "" })
	option("Mute notifications")
	parleytest.Eventually(t, "muted", func() bool { return onlyConversation(t, bob).Muted })
	bt.WaitJS("the sidebar saying pinned and muted", `document.querySelector('a.conv[aria-label="Alice"]') &&
		document.getElementById(document.querySelector('a.conv[aria-label="Alice"]').getAttribute('aria-describedby'))?.textContent.includes('pinned. muted')`)
	bt.Shoot("pinned-muted")

	option("Archive")
	bt.WaitRole("button", "Archived (1)")
	bt.WaitJS("Alice out of the main list", `!document.querySelector('a.conv[aria-label="Alice"]')`)
	bt.Click("button", "Archived (1)")
	bt.WaitRole("link", "Alice")
	bt.Shoot("archived")
	option("Unarchive")
	bt.WaitJS("no Archived section", `!document.querySelector('.archived-toggle')`)

	option("Block")
	bt.WaitRole("dialog", "Block Alice?")
	bt.Click("button", "Block")
	bt.WaitText("You blocked this contact")
	if c := onlyConversation(t, bob); !c.Blocked {
		t.Fatalf("blocked from the GUI, the CLI lists %+v", c)
	}
	bt.Shoot("blocked")
	alice.CLI("send", "Bob", "Are you there?")
	parleytest.Eventually(t, "Alice seeing it delivered", func() bool { return alice.StatusOf("Bob", "Are you there?") == "delivered" })
	if parleytest.Eval[bool](bt, "look for the blocked message", `document.body.innerText.includes('Are you there?')`) {
		t.Fatal("Bob's page shows a blocked contact's message")
	}

	option("Unblock")
	bt.WaitRole("dialog", "Unblock Alice?")
	bt.Click("button", "Unblock")
	bt.WaitRole("textbox", "Message")
	alice.CLI("send", "Bob", "Back again")
	bt.WaitMessage("Back again")

	// Settings lists whom you blocked, and unblocks them there too.
	option("Block")
	bt.Click("button", "Block")
	bt.WaitText("You blocked this contact")
	bt.Click("link", "Settings")
	bt.WaitRole("heading", "Blocked")
	bt.WaitRole("button", "Unblock Alice")
	parleytest.Eval[bool](bt, "scroll to the Blocked section", `(document.getElementById('set-blocked').scrollIntoView(), true)`)
	bt.Shoot("settings-blocked")
	bt.Click("button", "Unblock Alice")
	bt.WaitRole("dialog", "Unblock Alice?")
	bt.Click("button", "Unblock")
	bt.WaitText("Nobody is blocked.")
	var list []struct{}
	bob.CLIJSON(&list, "blocked", "--json")
	if len(list) != 0 {
		t.Fatalf("blocked after unblocking in Settings: %d", len(list))
	}
	if parleytest.Eval[bool](bt, "look for the blocked message", `document.body.innerText.includes('Are you there?')`) {
		t.Fatal("a message dropped while blocked showed after the unblock")
	}
}
