package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// On a phone-sized screen, the invite screen shows the short code and its
// QR code whole, small enough to scan (version 5 at most); the long code
// waits under a disclosure; "Make a new code" changes the code and the QR
// code. Bob, also on a phone, follows a web+parley: link of the new code,
// adds Alice and writes.
func TestBrowserShortInviteOnPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	a, bb := b.NewTab("alice", art), b.NewTab("bob", art)
	const phoneW, phoneH = 390, 844
	a.Do("phone-sized", chromedp.EmulateViewport(phoneW, phoneH))
	bb.Do("phone-sized", chromedp.EmulateViewport(phoneW, phoneH))

	a.Navigate(alice.LoginURL() + "#/invite")
	a.WaitRole("textbox", "Your invite code")
	a.WaitJS("the QR code drawn", `document.querySelector('.qr img')?.complete && document.querySelector('.qr img').naturalWidth > 0`)
	old := a.Value("textbox", "Your invite code")
	if old != alice.Invite() || len(old) > identity.MaxShortInviteLen {
		t.Fatalf("the invite shown (%d characters) is not alice's short code", len(old))
	}
	// The QR code is on screen whole and wide enough to scan.
	width := parleytest.Eval[float64](a, "measure the QR code", `(() => {
		const r = document.querySelector('.qr img').getBoundingClientRect();
		return r.left >= 0 && r.right <= window.innerWidth ? r.width : -r.width;
	})()`)
	if width < 200 {
		t.Fatalf("the QR code is %.0f px wide (negative: cut off) on a %d px screen", width, phoneW)
	}
	modules := parleytest.Eval[float64](a, "read the QR code's size", `fetch('/api/v1/self/qr.svg').then(r => r.text()).then(t => {
		const vb = new DOMParser().parseFromString(t, 'image/svg+xml').documentElement.getAttribute('viewBox');
		return Number(vb.split(' ')[2]);
	})`)
	if modules > 37+8 {
		t.Fatalf("the QR code is %v modules with its border, over version 5", modules)
	}
	if open := parleytest.Eval[bool](a, "the long code's disclosure", `document.querySelector('details.long-invite').open`); open {
		t.Error("the long code is shown open")
	}
	a.Shoot("invite-phone")

	a.Click("button", "Make a new code")
	a.WaitJS("a new code shown", `document.querySelector('#my-invite').value !== `+jsString(old))
	fresh := a.Value("textbox", "Your invite code")
	if fresh != alice.Invite() {
		t.Fatalf("the new code shown is not alice's current one")
	}
	a.WaitJS("the new QR code drawn", `document.querySelector('.qr img').src.includes('?v=') && document.querySelector('.qr img').complete`)

	// Bob follows a web+parley: link (as his browser hands one over once
	// Parley is registered for it): the form comes filled in.
	bb.Navigate(bob.LoginURL() + "#/add/" + url.PathEscape("web+parley:"+strings.TrimPrefix(fresh, "parley:")))
	bb.WaitRole("button", "Open web+parley: invite links here")
	if got := bb.Value("textbox", "Invite code"); got != "web+parley:"+strings.TrimPrefix(fresh, "parley:") {
		t.Fatalf("the linked code filled in %q", got)
	}
	bb.Click("button", "Add contact")
	bb.WaitText("Alice was added")
	bb.Click("link", "Write to Alice")
	bb.Send("Scanned your QR code")
	bb.WaitMessage("Scanned your QR code")
	parleytest.Eventually(t, "alice has bob's message", func() bool { return strings.Contains(alice.CLI("requests"), "Bob") })
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
