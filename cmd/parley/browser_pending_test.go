package main

import (
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// Bob, in the GUI, adds the short code of Alice, whose Parley is not
// running: the add screen says she is pending, the sidebar lists her
// under "Pending contacts" with the note and a Cancel button, which
// removes her. Added again, she stays pending over Bob's restart and
// becomes a conversation once her node runs, without Bob doing anything.
func TestBrowserPendingContact(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	code := alice.Invite()
	alice.Stop()

	bb := b.NewTab("bob", art)
	bb.Navigate(bob.LoginURL() + "#/add")
	bb.Paste("textbox", "Invite code", code)
	bb.Paste("textbox", "Name (optional)", "Ally")
	bb.Click("button", "Add contact")
	bb.WaitText("Ally is pending")
	bb.WaitText("Parley will add them once their node is reachable")
	bb.WaitRole("button", "Cancel adding Ally")
	bb.WaitJS("listed under Pending contacts", `[...document.querySelectorAll('.pending-item')].some(e =>
		e.innerText.includes('Ally') && e.innerText.includes('pending: Parley will add them once their node is reachable'))`)
	bb.Shoot("pending-contact")
	bb.Click("button", "Cancel adding Ally")
	bb.WaitJS("the pending contact gone", `!document.querySelector('.pending-item')`)

	bb.Paste("textbox", "Invite code", code)
	bb.Paste("textbox", "Name (optional)", "Alice")
	bb.Click("button", "Add contact")
	bb.WaitRole("button", "Cancel adding Alice")

	bob.Stop()
	bob.Start()
	bb.Navigate(bob.LoginURL())
	bb.WaitRole("button", "Cancel adding Alice")
	alice.Start()
	bb.WaitRole("link", "Alice")
	bb.WaitJS("no pending contact left", `!document.querySelector('.pending-item')`)
}
