package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// TestMailboxNeverOnlineTogether: the test with real processes.
// A mailbox node stays up; Alice and Bob choose it; Bob is offline while
// Alice sends three messages with parley send and a 1 MiB photo with
// parley file send, and parley messages shows them stored; Alice stops;
// Bob starts and has each once, the photo complete and byte for byte the
// one sent (parley file get prints where it is); Bob stops; Alice starts
// and sees each delivered (read, even: parley messages on Bob's side
// marks them read), from receipts that came through her mailbox, Bob
// being offline.
func TestMailboxNeverOnlineTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	mb := parleytest.StartProcess(t, "community", "--mailbox-service")
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	var self client.SelfView
	mb.CLIJSON(&self, "id")
	mbAddr := self.Addrs[0] + "/p2p/" + self.PeerID
	// Each tells the other of the mailbox in a grant queued before the
	// text that follows: once the text is there, so is the grant.
	bob.CLI("mailbox", "add", mbAddr)
	bob.CLI("send", "alice", "my mailbox is set")
	alice.CLI("mailbox", "add", mbAddr)
	alice.CLI("send", "bob", "mine too")
	parleytest.Eventually(t, "each holding the other's grant", func() bool {
		return parleytest.Count(alice.Messages("bob"), "my mailbox is set") == 1 &&
			parleytest.Count(bob.Messages("alice"), "mine too") == 1
	})

	bob.Stop()
	texts := []string{"while you sleep 0", "while you sleep 1", "while you sleep 2"}
	for _, text := range texts {
		alice.CLI("send", "bob", text)
	}
	photo, photoSum := parleytest.RandomFile(t, t.TempDir(), "photo.jpg", 1<<20)
	photoID := alice.Offer("bob", photo)
	parleytest.Eventually(t, "alice's messages stored in bob's mailbox", func() bool {
		for _, text := range append(texts, "photo.jpg") {
			if alice.StatusOf("bob", text) != "stored" {
				return false
			}
		}
		return true
	})
	if out := alice.CLI("messages", "bob"); strings.Count(out, "stored") != len(texts)+1 {
		t.Fatalf("parley messages shows %d stored, want %d:\n%s", strings.Count(out, "stored"), len(texts)+1, out)
	}
	alice.Stop()

	bob.Start()
	parleytest.Eventually(t, "bob holding alice's messages", func() bool {
		got := bob.Messages("alice")
		for _, text := range append(texts, "photo.jpg") {
			if parleytest.Count(got, text) == 0 {
				return false
			}
		}
		return true
	})
	got := bob.Messages("alice")
	for _, text := range texts {
		if n := parleytest.Count(got, text); n != 1 {
			t.Errorf("bob holds %q %d times, want once", text, n)
		}
	}
	if len(got) != 6 {
		t.Errorf("bob holds %d messages, want 6: %+v", len(got), got)
	}
	// The photo came whole from the mailbox, Alice being offline: parley
	// file get finds it complete and prints where it is.
	parleytest.Eventually(t, "bob's photo complete", func() bool {
		f, ok := bob.File(photoID)
		return ok && f.State == "complete"
	})
	if path := strings.TrimSpace(bob.CLI("file", "get", photoID)); parleytest.FileHash(t, path) != photoSum {
		t.Fatalf("bob's photo at %s differs from the one sent", path)
	}
	if n := parleytest.Count(bob.Messages("alice"), "photo.jpg"); n != 1 {
		t.Errorf("bob shows the photo %d times, want once", n)
	}
	if fs := bob.Files(); len(fs) != 1 {
		t.Errorf("bob's files: %+v, want the photo once", fs)
	}
	parleytest.Eventually(t, "bob's receipts deposited at alice's mailbox", func() bool {
		var st client.NetworkStatusView
		mb.CLIJSON(&st, "status")
		return st.Mailbox != nil && st.Mailbox.Envelopes > 0
	})
	bob.Stop() // deposits whatever receipt is left before it exits

	alice.Start()
	parleytest.Eventually(t, "alice seeing her messages delivered", func() bool {
		for _, text := range append(texts, "photo.jpg") {
			if s := alice.StatusOf("bob", text); s != "delivered" && s != "read" {
				return false
			}
		}
		return true
	})
	t.Logf("alice's conversation with bob:\n%s", alice.CLI("messages", "bob"))
}

// TestBrowserStoredTick: a message Alice writes in the web app to Bob,
// who is offline, shows its own tick, "stored in a mailbox", once it is
// in Bob's mailbox, and "delivered" once Bob is back.
func TestBrowserStoredTick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	mb := parleytest.StartProcess(t, "community", "--mailbox-service")
	alice, bob := parleytest.StartProcess(t, "Alice"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(alice, bob)
	var self client.SelfView
	mb.CLIJSON(&self, "id")
	bob.CLI("mailbox", "add", self.Addrs[0]+"/p2p/"+self.PeerID)
	bob.CLI("send", "Alice", "my mailbox is set") // after the grant, in Bob's outbox
	parleytest.Eventually(t, "alice holding bob's grant", func() bool {
		return parleytest.Count(alice.Messages("Bob"), "my mailbox is set") == 1
	})
	bob.Stop()

	a := b.NewTab("alice", art)
	a.Navigate(alice.LoginURL())
	a.Click("link", "Bob")
	const text = "for when you are back"
	a.Send(text)
	a.WaitMessage(text)
	a.WaitRole("img", "stored in a mailbox")
	if tick := a.TickOf(text); tick != "stored in a mailbox" {
		t.Fatalf("the message shows %q, want \"stored in a mailbox\"", tick)
	}
	a.Shoot("stored")

	bob.Start()
	a.WaitJS("the tick delivered (or read)", fmt.Sprintf(`(() => {
		const li = [...document.querySelectorAll('.messages .msg.out')].find(li => li.querySelector('.text').textContent === %q);
		const l = li?.querySelector('[role=img]')?.getAttribute('aria-label');
		return l === 'delivered' || l === 'read';
	})()`, text))
}
