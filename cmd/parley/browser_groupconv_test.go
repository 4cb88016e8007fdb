package main

import (
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// Message info in real Chromium: Alice's group message, read by Bob from
// his CLI, shows "Read by 1 of 1" on her page, and its "Message info"
// dialog says who read it; a DM queued for Carol, who is offline, says
// why it waits. The "Send read receipts" switch turns them off.
func TestBrowserMessageInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob, carol := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob"), parleytest.StartProcess(t, "Carol")
	for _, p := range []*parleytest.Process{bob, carol} {
		alice.CLI("contact", "add", p.Invite(), "--name", p.Name)
		p.CLI("contact", "add", alice.Invite(), "--name", "Alice")
	}
	alice.CLI("group", "create", "Pair")
	parleytest.JoinGroup(t, alice, "Pair", bob)
	var asked parleytest.CLIMessage
	alice.CLIJSON(&asked, "group", "send", "Pair", "Did you read this?")
	parleytest.Eventually(t, "Bob reading it", func() bool {
		return strings.Contains(bob.CLI("group", "messages", "Pair"), "Did you read this?")
	})

	at := b.NewTab("alice", art)
	at.Navigate(alice.LoginURL())
	at.Click("link", "Pair")
	at.WaitMessage("Did you read this?")
	at.WaitText("Read by 1 of 1")
	openActions(at, "Did you read this?")
	at.Click("menuitem", "Message info")
	at.WaitRole("dialog", "Message info")
	at.WaitText("by 1 of 1")
	at.WaitJS("Bob listed as a recipient", `[...document.querySelectorAll('dialog .recipients h3')].some(e => e.textContent === 'Bob')`)
	at.Shoot("message-info-group")
	at.Click("button", "Close")

	// An edited message's info keeps its every version, the original first.
	alice.CLI("edit", "Pair", asked.ID[:8], "Did you read this one?")
	at.WaitMessage("Did you read this one?")
	openActions(at, "Did you read this one?")
	at.Click("menuitem", "Message info")
	at.WaitRole("dialog", "Message info")
	at.WaitRole("list", "Edit history")
	if got := parleytest.Eval[string](at, "read the edit history", `[...document.querySelectorAll('dialog .edit-history li .text')].map(e => e.textContent).join('|')`); got != "Did you read this?|Did you read this one?" {
		t.Fatalf("edit history %q, want the original, then the edit", got)
	}
	at.Shoot("message-info-edited")
	at.Click("button", "Close")

	carol.Stop()
	alice.CLI("send", "Carol", "Are you there?")
	// The list moves Carol to the top when the message lands: click only
	// after that, or the click can land where her row was.
	at.WaitText("You: Are you there?")
	at.Click("link", "Carol")
	at.WaitMessage("Are you there?")
	parleytest.Eventually(t, "a failed attempt to reach Carol", func() bool {
		out, code := alice.Try("info", "Carol", "--json", lastMessageID(t, alice, "Carol"))
		return code == 0 && strings.Contains(out, `"last_attempt"`)
	})
	openActions(at, "Are you there?")
	at.Click("menuitem", "Message info")
	at.WaitRole("dialog", "Message info")
	at.WaitText("Last attempt")
	at.WaitText("recipient offline")
	at.Shoot("message-info-queued")
	at.Click("button", "Close")

	at.Navigate(alice.GUIURL() + "#/settings")
	at.WaitRole("checkbox", "Send read receipts")
	at.Click("checkbox", "Send read receipts")
	at.WaitText("Saved: off")
	if out := alice.CLI("settings"); !strings.Contains(out, "off; they see only that your node got them") {
		t.Fatalf("settings after the switch:\n%s", out)
	}
}

// lastMessageID is the ID of the last message of p's conversation with.
func lastMessageID(t *testing.T, p *parleytest.Process, with string) string {
	ms := p.Messages(with)
	if len(ms) == 0 {
		t.Fatalf("%s holds no message with %s", p.Name, with)
	}
	return ms[len(ms)-1].ID
}

// A change to a message that comes while the conversation is being
// fetched is not lost: Bob's read receipt reaches Alice's page after her
// node answered the page's fetch and before the page has the answer, and
// her page still ends showing "Read by 1 of 1" (it once kept "Delivered
// to 1 of 1": the update found no message to change, then the older
// answer was drawn).
func TestBrowserKeepsAChangeThatCameWhileLoading(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	alice.CLI("group", "create", "Pair")
	parleytest.JoinGroup(t, alice, "Pair", bob)
	var asked parleytest.CLIMessage
	alice.CLIJSON(&asked, "group", "send", "Pair", "Did you read this?")
	receipt := func(read bool) bool {
		var ms []struct {
			ID       string `json:"id"`
			Receipts map[string]struct {
				DeliveredAt string `json:"delivered_at"`
				ReadAt      string `json:"read_at"`
			} `json:"receipts"`
		}
		alice.CLIJSON(&ms, "group", "messages", "Pair")
		for _, m := range ms {
			if r := m.Receipts[bob.PeerID()]; m.ID == asked.ID && r.DeliveredAt != "" && (!read || r.ReadAt != "") {
				return true
			}
		}
		return false
	}
	parleytest.Eventually(t, "Bob's node getting it", func() bool { return receipt(false) })

	at := b.NewTab("alice", art)
	// The page's fetch of the group's messages is held once its answer is
	// in, and the page counts the updates its event stream brings.
	at.OnNewDocument(`
		window.updatesWithRead = 0;
		window.WebSocket = class extends WebSocket {
			constructor(...args) {
				super(...args);
				this.addEventListener('message', (e) => {
					if (e.data.includes('"type":"update"') && e.data.includes('"read_at"')) window.updatesWithRead++;
				});
			}
		};
		window.messagesHeld = false;
		const release = new Promise((resolve) => { window.releaseMessages = resolve; });
		const fetch0 = window.fetch;
		window.fetch = async (...args) => {
			const resp = await fetch0(...args);
			if (String(args[0]).includes('/messages')) {
				window.messagesHeld = true;
				await release;
			}
			return resp;
		};`)
	at.Navigate(alice.LoginURL())
	at.Click("link", "Pair")
	at.WaitJS("the page's fetch answered and held", `window.messagesHeld`)
	bob.CLI("group", "messages", "Pair") // Bob reads it
	parleytest.Eventually(t, "Alice's node getting Bob's read receipt", func() bool { return receipt(true) })
	at.WaitJS("the update reaching the page", `window.updatesWithRead > 0`)
	parleytest.Eval[bool](at, "let the fetch through", `window.releaseMessages(), true`)
	at.WaitMessage("Did you read this?")
	at.WaitText("Read by 1 of 1")
}
