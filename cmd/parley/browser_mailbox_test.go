package main

import (
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley/internal/parleytest"
)

// Mailboxes in the GUI, against real nodes. Bob, in his Settings, fails
// to add an unreachable mailbox, then Carol's node, which holds no mail
// for others yet, and is told why each time. Carol, whose node is always
// on, turns on "Hold mail for others" in her Settings; Bob adds her node
// by its address, sees it listed, and removes it after confirming. Then
// Carol offers from her conversation with Bob to hold his mail; Bob sees
// the offer as a card, accepts it, and Carol's node is his mailbox again,
// the card saying so after a reload.
func TestBrowserMailboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes and a browser")
	}
	b := parleytest.StartBrowser(t)
	art := parleytest.NewArtifacts(t)
	carol, bob := parleytest.StartProcess(t, "Carol"), parleytest.StartProcess(t, "Bob")
	parleytest.Meet(carol, bob)
	c, bb := b.NewTab("carol", art), b.NewTab("bob", art)

	var self struct {
		PeerID string   `json:"peer_id"`
		Addrs  []string `json:"addrs"`
	}
	carol.CLIJSON(&self, "id")
	if len(self.Addrs) == 0 {
		t.Fatal("carol has no address")
	}
	carolAddr := self.Addrs[0] + "/p2p/" + self.PeerID
	const addError = `document.querySelector('form[aria-label="Add a mailbox"] [role=alert]')?.textContent`

	bb.Navigate(bob.LoginURL())
	bb.Click("link", "Settings")
	bb.WaitRole("heading", "Mailboxes")
	bb.WaitText("No mailbox yet")
	// Nobody listens there: the error says the mailbox is unreachable.
	bb.Paste("textbox", "Mailbox address or invite", "/ip4/127.0.0.1/tcp/9/p2p/"+strangerID(t))
	bb.Click("button", "Add mailbox")
	bb.WaitJS("the error shown", addError+`?.includes('is unreachable')`)
	// Carol's node is up, but holds no mail for others yet.
	parleytest.Eval[bool](bb, "clear the field", `(() => { document.querySelector('input[name=mailbox]').value = ''; return true; })()`)
	bb.Paste("textbox", "Mailbox address or invite", carolAddr)
	bb.Click("button", "Add mailbox")
	bb.WaitJS("the refusal shown", addError+`?.includes('does not hold mail for others')`)

	// Carol turns the service on: it starts at once.
	c.Navigate(carol.LoginURL())
	c.Click("link", "Settings")
	c.WaitJS("the switch loaded, off", `(() => {
		const c = document.querySelector('input[name=mailbox-service]');
		return c && !c.disabled && !c.checked;
	})()`)
	c.Click("checkbox", "Hold mail for others")
	c.WaitText("On: holding mail for 0 people.")
	if owners := mailboxOwners(t, carol); owners != 0 {
		t.Fatalf("carol's status: %d owners", owners)
	}
	c.Click("link", "Network")
	c.WaitText("on: holding mail for 0 people")
	c.Click("link", "Settings")

	// The same address, now that Carol's node serves mailboxes.
	bb.Click("button", "Add mailbox")
	listed := `document.querySelector('.mailboxes li.mailbox[data-peer="` + self.PeerID + `"]') !== null`
	bb.WaitJS("carol's node listed", listed)
	bb.WaitJS("the error gone", addError+` === ''`)
	bb.Shoot("settings-mailboxes")
	if owners := mailboxOwners(t, carol); owners != 1 {
		t.Fatalf("carol holds mail for %d owners, want bob", owners)
	}
	bb.Click("button", "Remove")
	bb.WaitRole("dialog", "Remove mailbox …"+self.PeerID[len(self.PeerID)-8:]+"?")
	bb.Do("confirm", chromedp.Click(chromedp.CSS(`dialog[open] button[value=yes]`)))
	bb.WaitText("No mailbox yet")
	if got := mailboxesOf(t, bob); len(got) != 0 {
		t.Fatalf("bob's mailboxes after removing: %v", got)
	}

	// Carol offers from the conversation; Bob accepts from his.
	c.Click("link", "Bob")
	c.Click("button", "Offer to hold their mail")
	c.WaitText("You offered to hold Bob's mail while they are offline.")
	c.WaitRole("img", "delivered") // the offer's tick follows it, as a message's does
	c.Shoot("mailbox-offer-sent")
	bb.Click("link", "Carol")
	bb.WaitText("Carol offers to hold your mail while you are offline.")
	bb.Shoot("mailbox-offer")
	// Bob's node holds no mail for others: he has nothing to offer.
	bb.WaitJS("no offer button on bob's side", `(() => {
		const o = document.querySelector('.offer-mail');
		return !o || getComputedStyle(o).display === 'none';
	})()`)
	bb.Click("button", "Accept")
	bb.WaitText("Accepted: Carol's node is one of your mailboxes.")
	if got := mailboxesOf(t, bob); len(got) != 1 || got[0] != self.PeerID {
		t.Fatalf("bob's mailboxes after accepting: %v, want carol's node", got)
	}
	bb.Navigate("about:blank")
	bb.Navigate(bob.GUIURL() + "#/")
	bb.Click("link", "Carol")
	bb.WaitText("Accepted: Carol's node is one of your mailboxes.")
	bb.WaitJS("no answer left to give", `!document.querySelector('.offer-card button')`)
}

// mailboxOwners is how many people p's mailbox service holds mail for.
func mailboxOwners(t *testing.T, p *parleytest.Process) int64 {
	t.Helper()
	var st struct {
		Mailbox *struct {
			Owners int64 `json:"owners"`
		} `json:"mailbox"`
	}
	if err := json.Unmarshal([]byte(p.CLI("status", "--json")), &st); err != nil || st.Mailbox == nil {
		t.Fatalf("status --json: %+v, %v; want the mailbox's load", st, err)
	}
	return st.Mailbox.Owners
}

// mailboxesOf is the peer IDs of p's mailboxes.
func mailboxesOf(t *testing.T, p *parleytest.Process) []string {
	t.Helper()
	var list []struct {
		PeerID string `json:"peer_id"`
	}
	p.CLIJSON(&list, "mailbox", "list")
	var out []string
	for _, m := range list {
		out = append(out, m.PeerID)
	}
	return out
}

// strangerID is the peer ID of a node that does not exist.
func strangerID(t *testing.T) string {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
