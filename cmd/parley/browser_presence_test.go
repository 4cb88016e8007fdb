package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parley-im/parley/internal/parleytest"
)

// friends starts Alice and Bob, contacts of each other, and waits until
// their nodes are connected.
func friends(t *testing.T) (alice, bob *parleytest.Process) {
	alice, bob = parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	parleytest.Eventually(t, "Alice and Bob connected", func() bool {
		return onlineIn(t, alice, "Bob") && onlineIn(t, bob, "Alice")
	})
	return alice, bob
}

func onlineIn(t *testing.T, p *parleytest.Process, name string) bool {
	var cs []struct {
		Name   string `json:"name"`
		Online bool   `json:"online"`
	}
	if err := json.Unmarshal([]byte(p.CLI("contact", "list", "--json")), &cs); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c.Online
		}
	}
	return false
}

// captureNotifications replaces the browser's Notification API in tb's
// pages (before any of the page's own scripts run) with one that records
// what the app asks to show: headless Chromium shows none. Permission
// starts as "default" and turns "granted" when the app asks.
func captureNotifications(tb *parleytest.Tab) {
	const src = `(() => {
		window.__notes = [];
		class CapturedNotification {
			constructor(title, opts) { window.__notes.push({ title, body: opts?.body ?? '' }); }
			close() {}
			static requestPermission() { CapturedNotification.permission = 'granted'; return Promise.resolve('granted'); }
		}
		CapturedNotification.permission = 'default';
		window.Notification = CapturedNotification;
	})()`
	tb.Do("capture notifications", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	}))
}

type note struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

func notes(tb *parleytest.Tab) []note {
	raw := parleytest.Eval[string](tb, "read the notifications", `JSON.stringify(window.__notes ?? [])`)
	var ns []note
	if err := json.Unmarshal([]byte(raw), &ns); err != nil {
		panic(err)
	}
	return ns
}

// Alice types in her composer and Bob's open conversation says so (in a
// live region), until she clears it; his header says she is online, and
// once she is gone when she was last seen.
func TestBrowserTypingAndLastSeen(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := friends(t)
	at, bt := b.NewTab("alice", art), b.NewTab("bob", art)
	at.Navigate(alice.LoginURL())
	at.Click("link", "Bob")
	at.WaitRole("textbox", "Message")
	bt.Navigate(bob.LoginURL())
	bt.Click("link", "Alice")
	bt.WaitJS("Alice online in the header", `document.querySelector('.pane-head .sub')?.textContent === 'online'`)

	at.TypeIn("textbox", "Message", "Are you")
	bt.WaitText("Alice is typing…")
	if live := parleytest.Eval[string](bt, "read the typing region's aria-live",
		`[...document.querySelectorAll('[aria-live]')].find(e => e.textContent === 'Alice is typing…')?.getAttribute('aria-live') ?? ''`); live != "polite" {
		t.Fatalf("the typing line is in no polite live region (%q)", live)
	}
	bt.Shoot("typing")
	parleytest.Eval[bool](at, "clear the composer", `(() => {
		const ta = document.querySelector('#composer');
		ta.value = '';
		ta.dispatchEvent(new Event('input'));
		return true;
	})()`)
	bt.WaitJS("the typing line gone", `!document.body.innerText.includes('is typing')`)

	alice.Stop()
	bt.WaitJS("Alice's last seen in the header", `/^last seen (just now|\d+ min ago)$/.test(document.querySelector('.pane-head .sub')?.textContent)`)
	bt.Shoot("last-seen")
	// The CLI shows it too.
	var cs []struct {
		Name     string `json:"name"`
		LastSeen string `json:"last_seen"`
	}
	if err := json.Unmarshal([]byte(bob.CLI("contact", "list", "--json")), &cs); err != nil || len(cs) != 1 || cs[0].LastSeen == "" {
		t.Fatalf("bob's contact list --json: %+v, %v", cs, err)
	}
}

// Messages arriving while Bob looks elsewhere count in the page title and
// raise notifications (after he turned them on with a click), with the
// text unless he turned previews off; none for the conversation on screen.
func TestBrowserNotificationsAndUnreadTitle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := friends(t)
	bt := b.NewTab("bob", art)
	captureNotifications(bt)
	bt.Navigate(bob.LoginURL())
	bt.WaitRole("button", "Turn on notifications")
	if got := parleytest.Eval[string](bt, "read the permission", `Notification.permission`); got != "default" {
		t.Fatalf("the page asked for permission before any click: %q", got)
	}
	bt.Shoot("notifications-offer")
	bt.Click("button", "Turn on notifications")
	bt.WaitJS("the offer gone", `!document.querySelector('.notify-banner') || document.querySelector('.notify-banner').hidden`)

	alice.CLI("send", "Bob", "Ping for you")
	bt.WaitJS("the unread count in the title", `document.title.startsWith('(1) Parley')`)
	bt.WaitJS("a notification", `window.__notes.length === 1`)
	if ns := notes(bt); ns[0] != (note{"Alice", "Ping for you"}) {
		t.Fatalf("notification %+v, want Alice: Ping for you", ns[0])
	}

	// Previews off: who wrote, not what.
	parleytest.Eval[bool](bt, "open the settings", `(() => { location.hash = '#/settings'; return true; })()`)
	bt.WaitRole("switch", "Show message previews")
	bt.WaitJS("the switches ready", `[...document.querySelectorAll('[role=switch]')].every(e => !e.disabled)`)
	bt.Click("switch", "Show message previews")
	bt.WaitText("Saved: off")
	alice.CLI("send", "Bob", "Secret plans")
	bt.WaitJS("two unread in the title", `document.title.startsWith('(2) Parley')`)
	bt.WaitJS("a second notification", `window.__notes.length === 2`)
	if ns := notes(bt); ns[1] != (note{"Alice", "New message"}) {
		t.Fatalf("notification without preview %+v, want Alice: New message", ns[1])
	}

	// The conversation on screen raises none, and reading it clears the title.
	bt.Click("link", "Alice")
	bt.WaitMessage("Secret plans")
	bt.WaitJS("no unread count in the title", `document.title.startsWith('Parley')`)
	alice.CLI("send", "Bob", "While you look")
	bt.WaitMessage("While you look")
	if ns := notes(bt); len(ns) != 2 {
		t.Fatalf("notifications for the conversation on screen: %+v", ns[2:])
	}

	// A muted conversation raises none either. Events come in order: once
	// the node holds the muted message, a notification for a later one,
	// from Carol, shows that none was raised for it.
	carol := parleytest.StartProcess(t, "Carol")
	parleytest.Meet(carol, bob)
	parleytest.Eval[bool](bt, "open the settings", `(() => { location.hash = '#/settings'; return true; })()`)
	bt.WaitJS("the switches ready", `[...document.querySelectorAll('[role=switch]')].every(e => !e.disabled)`)
	bt.Click("switch", "Show message previews")
	bt.WaitText("Saved: on")
	bob.CLI("mute", "Alice")
	bt.WaitJS("Alice shown muted", `!!document.querySelector('.conv-mark[title="Muted"]')`)
	alice.CLI("send", "Bob", "Quietly")
	parleytest.Eventually(t, "Bob holding the muted message", func() bool {
		return slices.ContainsFunc(bob.Messages("Alice"), func(m parleytest.CLIMessage) bool { return m.Text == "Quietly" })
	})
	carol.CLI("send", "Bob", "From Carol")
	bt.WaitJS("a notification for Carol's message", `window.__notes.some((n) => n.body === 'From Carol')`)
	if ns := notes(bt); slices.ContainsFunc(ns, func(n note) bool { return n.Body == "Quietly" }) {
		t.Fatalf("a notification for a muted conversation: %+v", ns)
	}
}

// An unsent draft survives a reload, in its own conversation only, and is
// gone once sent.
func TestBrowserDraftSurvivesReload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	_, bob := friends(t)
	carol := parleytest.StartProcess(t, "Carol")
	bob.CLI("contact", "add", carol.Invite(), "--name", "Carol")
	bt := b.NewTab("bob", art)
	bt.Navigate(bob.LoginURL())
	bt.Click("link", "Alice")
	bt.Paste("textbox", "Message", "Half a thought")
	reload := func() {
		parleytest.Eval[bool](bt, "reload", `(() => { location.reload(); return true; })()`)
		bt.WaitRole("textbox", "Message")
	}
	reload()
	bt.WaitJS("the draft back", `document.querySelector('#composer').value === 'Half a thought'`)
	bt.Click("link", "Carol")
	bt.WaitJS("Carol's composer empty", `location.hash.startsWith('#/chat/') && document.querySelector('.chat-name')?.textContent === 'Carol' && document.querySelector('#composer').value === ''`)
	bt.Click("link", "Alice")
	bt.WaitJS("Alice's draft again", `document.querySelector('#composer').value === 'Half a thought'`)
	parleytest.Eval[bool](bt, "send the draft", `(() => { document.querySelector('form.composer').requestSubmit(); return true; })()`)
	bt.WaitMessage("Half a thought")
	reload()
	bt.WaitMessage("Half a thought")
	if got := bt.Value("textbox", "Message"); got != "" {
		t.Fatalf("after sending, the reloaded composer holds %q", got)
	}
}
