package main

import (
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// Disappearing messages in real Chromium: Bob sets a timer with the
// conversation header's "Disappearing messages" control and sees the event;
// Alice's CLI sees the timer, and her message then shows on Bob's page as
// one that will disappear; Alice turns it to a day from the CLI and Bob's
// page shows that event live, with the control's new state.
func TestBrowserDisappearingMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	alice.CLI("send", "Bob", "Before the timer")
	parleytest.Eventually(t, "Bob holding it", func() bool { return len(bob.Messages("Alice")) == 1 })

	bt := b.NewTab("bob", art)
	bt.Navigate(bob.LoginURL())
	bt.Click("link", "Alice")
	bt.WaitMessage("Before the timer")

	bt.Click("button", "Disappearing messages: off")
	bt.WaitRole("dialog", "Disappearing messages")
	bt.Shoot("timer-dialog")
	bt.Click("radio", "1 hour")
	bt.Click("button", "Save")
	bt.WaitText("You set disappearing messages to 1 hour")
	bt.WaitRole("button", "Disappearing messages: 1 hour")
	bt.Shoot("timer-set")

	parleytest.Eventually(t, "Alice's CLI seeing the timer", func() bool {
		var tm struct {
			Seconds uint32 `json:"seconds"`
		}
		alice.CLIJSON(&tm, "timer", "Bob")
		return tm.Seconds == 3600
	})
	alice.CLI("send", "Bob", "This will disappear")
	bt.WaitMessage("This will disappear")
	bt.WaitJS("the message marked as disappearing", `(() => {
		const li = [...document.querySelectorAll('.messages .msg')].find(li => li.querySelector('.text')?.textContent === 'This will disappear');
		return !!li?.querySelector('[role="img"][aria-label^="Disappears "]');
	})()`)

	alice.CLI("timer", "Bob", "1d")
	bt.WaitText("Alice set disappearing messages to 1 day")
	bt.WaitRole("button", "Disappearing messages: 1 day")
	bt.Shoot("timer-event")
}
