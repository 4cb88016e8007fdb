package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parley-im/parley/internal/parleytest"
)

// The composer refuses a message over 32 KB with a warning; the warning
// goes when the text is deleted (it stayed after the composer was empty).
func TestBrowserTooLongWarningGoesWithTheText(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	alice.CLI("contact", "add", bob.Invite(), "--name", "Bob")
	at := b.NewTab("alice", art)
	at.Navigate(alice.LoginURL())
	at.Click("link", "Bob")
	at.WaitRole("heading", "Bob")

	const warning = "too long to send"
	at.Paste("textbox", "Message", strings.Repeat("long ", 8000))
	at.Click("button", "Send")
	at.WaitText(warning)
	composer := parleytest.ByRole("textbox", "Message")
	parleytest.Eval[bool](at, "select the text", `(() => { document.querySelector('#composer').select(); return true; })()`)
	at.Do("delete it", chromedp.SendKeys("composer", kb.Backspace, composer))
	at.WaitJS("the composer empty", `document.querySelector('#composer')?.value === ''`)
	at.WaitJS("the warning gone", fmt.Sprintf(`!document.body.innerText.includes(%q)`, warning))
}

// A send whose answer is lost (the connection drops after the node stored
// the message) shows "Not sent"; pressing Send again must not send the
// message twice: the page sends the same client ID again, and the node
// answers with the message it already holds. Checked in a DM and a group.
func TestBrowserResendAfterLostAnswerSendsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	alice.CLI("group", "create", "Walkers")
	parleytest.JoinGroup(t, alice, "Walkers", bob)

	at := b.NewTab("alice", art)
	at.Navigate(alice.LoginURL())

	// The next send's answer is dropped after the node has handled it, as
	// a connection lost on the way back would.
	loseNextAnswer := func() {
		parleytest.Eval[bool](at, "lose the next send's answer", `(() => {
			if (!window.realFetch) window.realFetch = window.fetch;
			window.loseAnswer = true;
			window.fetch = async (input, init) => {
				const resp = await window.realFetch(input, init);
				if (init?.method === 'POST' && String(input).includes('/messages') && window.loseAnswer) {
					window.loseAnswer = false;
					throw new TypeError('Failed to fetch');
				}
				return resp;
			};
			return true;
		})()`)
	}
	resend := func(text string) {
		loseNextAnswer()
		at.Paste("textbox", "Message", text)
		at.Click("button", "Send")
		at.WaitText("Not sent")
		at.Click("button", "Send")
		at.WaitJS("the composer empty again", `document.querySelector('#composer')?.value === ''`)
		at.WaitMessage(text)
	}
	onScreen := func(text string) int {
		return parleytest.Eval[int](at, "count "+text, fmt.Sprintf(
			`[...document.querySelectorAll('.messages .msg .text')].filter(e => e.textContent === %q).length`, text))
	}

	const dm = "sent once although I pressed Send twice"
	at.Click("link", "Bob")
	at.WaitRole("heading", "Bob")
	resend(dm)
	parleytest.Eventually(t, "Bob has the DM", func() bool {
		return parleytest.Count(bob.Messages("Alice"), dm) > 0
	})
	const group = "one walk, not two"
	at.Click("link", "Walkers")
	at.WaitRole("heading", "Walkers")
	resend(group)
	parleytest.Eventually(t, "Bob has the group message", func() bool {
		for _, text := range bob.GroupTexts("Walkers") {
			if text == group {
				return true
			}
		}
		return false
	})

	if n := parleytest.Count(alice.Messages("Bob"), dm); n != 1 {
		t.Errorf("Alice's node holds the DM %d times, want 1", n)
	}
	if n := parleytest.Count(bob.Messages("Alice"), dm); n != 1 {
		t.Errorf("Bob received the DM %d times, want 1", n)
	}
	n := 0
	for _, text := range bob.GroupTexts("Walkers") {
		if text == group {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Bob received the group message %d times, want 1", n)
	}
	if n := onScreen(group); n != 1 {
		at.Shoot("group-resend")
		t.Errorf("Alice's page shows the group message %d times, want 1", n)
	}
	at.Click("link", "Bob")
	at.WaitRole("heading", "Bob")
	at.WaitMessage(dm)
	if n := onScreen(dm); n != 1 {
		at.Shoot("dm-resend")
		t.Errorf("Alice's page shows the DM %d times, want 1", n)
	}
}
