package main

import (
	"fmt"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// openActions opens the "Message actions" menu of the message with text.
func openActions(tb *parleytest.Tab, text string) {
	parleytest.Eval[bool](tb, "open the actions of "+text, fmt.Sprintf(`(() => {
		const li = [...document.querySelectorAll('.messages .msg')].find(li => li.querySelector('.text')?.textContent === %q);
		li.querySelector('button[aria-label="Message actions"]').click();
		return true;
	})()`, text))
	tb.WaitRole("menu", "Message actions")
}

// The "Message actions" menu in real Chromium: Bob reacts to, replies to,
// edits and deletes messages; Alice's CLI sees each, and an edit Alice
// makes from the CLI shows on Bob's page live.
func TestBrowserMessageActions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	var first parleytest.CLIMessage
	alice.CLIJSON(&first, "send", "Bob", "Lunch at noon?")
	parleytest.Eventually(t, "Bob holding it", func() bool { return len(bob.Messages("Alice")) == 1 })

	bt := b.NewTab("bob", art)
	bt.Navigate(bob.LoginURL())
	bt.Click("link", "Alice")
	bt.WaitMessage("Lunch at noon?")

	openActions(bt, "Lunch at noon?")
	bt.Click("menuitem", "React")
	bt.WaitRole("menu", "Reactions")
	bt.Click("menuitem", "👍")
	bt.WaitRole("button", "👍 1: you")

	openActions(bt, "Lunch at noon?")
	bt.Click("menuitem", "Reply")
	bt.WaitText("Replying to Alice: Lunch at noon?")
	bt.Send("Yes, at noon")
	bt.WaitMessage("Yes, at noon")
	bt.WaitRole("button", "Reply to Alice: Lunch at noon?")

	openActions(bt, "Yes, at noon")
	bt.Click("menuitem", "Edit")
	bt.WaitText("Editing your message")
	if got := bt.Value("textbox", "Message"); got != "Yes, at noon" {
		t.Fatalf("the composer holds %q to edit", got)
	}
	parleytest.Eval[bool](bt, "clear the composer", `(() => { document.querySelector('#composer').value = ''; return true; })()`)
	bt.Send("Yes, at one")
	bt.WaitMessage("Yes, at one")
	bt.WaitText("edited")
	bt.Shoot("message-actions")

	openActions(bt, "Yes, at one")
	bt.Click("menuitem", "Delete")
	bt.WaitRole("dialog", "Delete message")
	bt.Click("button", "Delete for everyone")
	bt.WaitText("This message was deleted")

	parleytest.Eventually(t, "Alice seeing the reaction, the reply edited and deleted", func() bool {
		ms := convoMessages(alice, "Bob")
		if len(ms) != 2 {
			return false
		}
		return len(ms[0].Reactions["👍"]) == 1 && ms[1].Deleted && ms[1].ReplyTo == first.ID
	})

	// An edit from Alice's CLI reaches Bob's open page as an update.
	alice.CLI("edit", "Bob", first.ID[:8], "Lunch at one?")
	bt.WaitMessage("Lunch at one?")
	if parleytest.Eval[bool](bt, "look for the old text", `[...document.querySelectorAll('.messages .msg .text')].some(e => e.textContent === 'Lunch at noon?')`) {
		t.Error("the old text is still shown as the message")
	}
	bt.Shoot("message-actions-after")
}
