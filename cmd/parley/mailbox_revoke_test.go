package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// TestMailboxRevokeCommands: parley mailbox revoke takes a contact's
// capability back (the contact list and mailbox list say so) and --undo
// gives it back; parley mailbox reset moves the mailbox to a new key; and
// parley messages says why a message to a contact who is offline is still
// queued.
func TestMailboxRevokeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts libp2p nodes")
	}
	community, alice, bob, dave := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	runInProcess(t, community, "--name", "community", "--relay-service")
	runInProcess(t, alice, "--name", "Alice")
	runInProcess(t, bob, "--name", "Bob")
	aliceSelf, bobSelf := jsonOf[client.SelfView](t, alice, "id"), jsonOf[client.SelfView](t, bob, "id")
	mb := jsonOf[client.SelfView](t, community, "id")
	for _, c := range [][2]string{{bobSelf.InviteLong, alice}, {aliceSelf.InviteLong, bob}, {parleytest.AddrlessInvite(t, dave, "Dave"), alice}} {
		if code, _, stderr := runCLI(t, "contact", "add", c[0], "--data", c[1]); code != 0 {
			t.Fatal(stderr)
		}
	}
	if code, _, stderr := runCLI(t, "mailbox", "add", mb.Addrs[0]+"/p2p/"+mb.PeerID, "--data", bob); code != 0 {
		t.Fatal(stderr)
	}

	code, stdout, stderr := runCLI(t, "mailbox", "revoke", "ali", "--data", bob)
	if code != 0 || stdout != "Alice may no longer deposit at your mailboxes; their messages wait to reach you directly\n" {
		t.Fatalf("mailbox revoke: exit %d, %q %q", code, stdout, stderr)
	}
	if list := jsonOf[[]client.MailboxView](t, bob, "mailbox", "list"); len(list) != 1 || !slices.Equal(list[0].Revoked, []string{aliceSelf.PeerID}) {
		t.Fatalf("mailbox list --json: %+v, want Alice revoked", list)
	}
	if code, stdout, _ := runCLI(t, "mailbox", "list", "--data", bob); code != 0 || !strings.Contains(stdout, "Revoked (may not deposit): "+aliceSelf.PeerID) {
		t.Fatalf("mailbox list: %q, want Alice listed revoked", stdout)
	}
	if cs := jsonOf[[]client.ContactView](t, bob, "contact", "list"); len(cs) != 1 || !cs[0].MailboxRevoked {
		t.Fatalf("contact list --json: %+v, want Alice marked revoked", cs)
	}
	if code, stdout, _ := runCLI(t, "mailbox", "revoke", "Alice", "--undo", "--data", bob); code != 0 || stdout != "Alice may deposit at your mailboxes again\n" {
		t.Fatalf("mailbox revoke --undo: exit %d, %q", code, stdout)
	}
	if cs := jsonOf[[]client.ContactView](t, bob, "contact", "list"); cs[0].MailboxRevoked {
		t.Fatal("contact list --json: Alice still revoked after the undo")
	}
	if code, _, stderr := runCLI(t, "mailbox", "revoke", "nobody", "--data", bob); code != exitError || !strings.Contains(stderr, "nobody") {
		t.Errorf("revoking an unknown contact: exit %d, %q", code, stderr)
	}

	if code, stdout, _ := runCLI(t, "mailbox", "reset", "--data", bob); code != 0 || stdout != "Mailbox "+mb.PeerID+": new deposit key (generation 1)\n" {
		t.Fatalf("mailbox reset: exit %d, %q", code, stdout)
	}
	if list := jsonOf[[]client.MailboxView](t, bob, "mailbox", "list"); list[0].Generation != 1 {
		t.Fatalf("mailbox list --json after the reset: %+v, want generation 1", list)
	}
	if code, _, stderr := runCLI(t, "mailbox", "reset", "12D3KooWnotamailbox", "--data", bob); code != exitError || strings.Count(stderr, "\n") != 1 {
		t.Errorf("resetting a mailbox not on the list: exit %d, %q", code, stderr)
	}

	// Dave has never run: Alice's message waits, and says why.
	if code, _, stderr := runCLI(t, "send", "Dave", "are you there?", "--data", alice); code != 0 {
		t.Fatal(stderr)
	}
	parleytest.Eventually(t, "the queued message's reason", func() bool {
		ms := jsonOf[[]client.MessageView](t, alice, "messages", "Dave")
		return len(ms) == 1 && ms[0].Reason == "recipient offline"
	})
	if code, stdout, _ := runCLI(t, "messages", "Dave", "--data", alice); code != 0 || !strings.Contains(stdout, "are you there?  [queued: recipient offline]") {
		t.Fatalf("messages: %q, want the reason beside the status", stdout)
	}
}
