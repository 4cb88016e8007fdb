package main

import (
	"fmt"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// Message search in real Chromium: Bob types the start of a word in
// "Search messages"; the result names the conversation and the author
// and marks the word; choosing it opens the conversation scrolled back
// to the message (older than the first page), highlighted.
func TestBrowserSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	const needle = "The password is Zanzibar, remember it"
	alice.CLI("send", "Bob", needle)
	const after = 55 // more than the GUI's first page (50)
	for i := range after {
		alice.CLI("send", "Bob", fmt.Sprintf("filler message %d", i))
	}
	parleytest.Eventually(t, "Bob holding them all", func() bool { return len(bob.Messages("Alice")) == after+1 })

	bt := b.NewTab("bob", art)
	bt.Navigate(bob.LoginURL())
	bt.WaitRole("link", "Alice")
	bt.TypeIn("searchbox", "Search messages", "zanz")
	result := "Alice, Alice: " + needle
	bt.WaitRole("link", result)
	bt.WaitJS("the word marked", `[...document.querySelectorAll('.found-snippet mark')].some(m => m.textContent === 'Zanzibar')`)
	bt.Shoot("search-results")

	bt.Click("link", result)
	bt.WaitJS("the message shown, highlighted, in view", fmt.Sprintf(`(() => {
		const li = document.querySelector('.messages li.found-message');
		if (!li || li.querySelector('.text')?.textContent !== %q) return false;
		const r = li.getBoundingClientRect(), s = document.querySelector('.scroller').getBoundingClientRect();
		return r.top >= s.top && r.bottom <= s.bottom;
	})()`, needle))
	bt.Shoot("search-opened")

	bt.TypeIn("searchbox", "Search messages", "xyz")
	bt.WaitText("No messages found.")
}
