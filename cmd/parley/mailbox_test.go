package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// runInProcess runs "parley run" on dir with args in this process until
// the test ends, and returns once it is up.
func runInProcess(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out, errOut := &parleytest.SyncBuffer{}, &parleytest.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, append([]string{"run", "--data", dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"}, args...), out, errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("run did not stop")
		}
	})
	parleytest.Eventually(t, "parley run to start", func() bool {
		select {
		case code := <-done:
			t.Fatalf("run exited %d: %s", code, errOut.String())
		default:
		}
		return strings.Contains(out.String(), "Peer ID: ")
	})
}

// jsonOf runs a command with --json on dir and decodes what it prints.
func jsonOf[T any](t *testing.T, dir string, args ...string) T {
	t.Helper()
	code, stdout, stderr := runCLI(t, append(args, "--json", "--data", dir)...)
	var v T
	if code != 0 {
		t.Fatalf("%q: exit %d: %s", args, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("%q: %v: %s", args, err, stdout)
	}
	return v
}

// TestMailboxCommands: a node run with --relay-service serves mailboxes
// (and says so in its status), one run without does not; parley mailbox
// add registers with the first, refuses the second with the reason, and
// list and remove show and change the choice.
func TestMailboxCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts libp2p nodes")
	}
	community, bob := t.TempDir(), t.TempDir()
	runInProcess(t, community, "--name", "community", "--relay-service")
	runInProcess(t, bob, "--name", "bob")

	if st := jsonOf[client.NetworkStatusView](t, community, "status"); !st.MailboxService || st.Mailbox == nil {
		t.Fatalf("a node run with --relay-service: mailbox service %v, load %v; want on", st.MailboxService, st.Mailbox)
	}
	if st := jsonOf[client.NetworkStatusView](t, bob, "status"); st.MailboxService {
		t.Fatal("a node run without --relay-service or --mailbox-service serves mailboxes")
	}
	self := jsonOf[client.SelfView](t, community, "id")
	bobSelf := jsonOf[client.SelfView](t, bob, "id")

	code, _, stderr := runCLI(t, "mailbox", "add", bobSelf.Addrs[0]+"/p2p/"+bobSelf.PeerID, "--data", community)
	if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "mailbox unavailable") {
		t.Errorf("adding a node that serves no mailbox: exit %d, %q; want one line saying the mailbox is unavailable", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "mailbox", "add", self.Addrs[0]+"/p2p/"+self.PeerID, "--data", bob)
	if code != 0 || stdout != "Added mailbox "+self.PeerID+"\n" {
		t.Fatalf("mailbox add: exit %d, %q %q", code, stdout, stderr)
	}
	if list := jsonOf[[]client.MailboxView](t, bob, "mailbox", "list"); len(list) != 1 || list[0].PeerID != self.PeerID {
		t.Fatalf("mailbox list --json: %+v, want the community's node", list)
	}
	if st := jsonOf[client.NetworkStatusView](t, community, "status"); st.Mailbox == nil || st.Mailbox.Owners != 1 {
		t.Fatalf("the community's mailbox after bob registered: %+v, want 1 owner", st.Mailbox)
	}
	if code, stdout, _ = runCLI(t, "mailbox", "remove", self.PeerID, "--data", bob); code != 0 {
		t.Fatalf("mailbox remove: exit %d %q", code, stdout)
	}
	if code, stdout, _ = runCLI(t, "mailbox", "list", "--data", bob); code != 0 || !strings.HasPrefix(stdout, "No mailboxes yet.") {
		t.Fatalf("mailbox list after remove: exit %d, %q", code, stdout)
	}
}

// TestMailboxOfferCommands: a node run with --relay-service holds mail for
// others by its flag, which the setting cannot undo for that run; it
// offers to hold a contact's mail (parley mailbox offer), and the contact
// sees the offer in the conversation and accepts it (parley mailbox
// accept), registering with it.
func TestMailboxOfferCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts libp2p nodes")
	}
	carol, bob := t.TempDir(), t.TempDir()
	runInProcess(t, carol, "--name", "Carol", "--relay-service")
	runInProcess(t, bob, "--name", "Bob")
	carolSelf, bobSelf := jsonOf[client.SelfView](t, carol, "id"), jsonOf[client.SelfView](t, bob, "id")
	if code, _, stderr := runCLI(t, "contact", "add", bobSelf.Invite, "--data", carol); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runCLI(t, "contact", "add", carolSelf.Invite, "--data", bob); code != 0 {
		t.Fatal(stderr)
	}

	code, _, stderr := runCLI(t, "settings", "--mailbox-service", "off", "--data", carol)
	if code != exitError || !strings.Contains(stderr, "--mailbox-service") {
		t.Errorf("turning off a service set by a flag: exit %d, %q", code, stderr)
	}
	if set := jsonOf[client.SettingsView](t, carol, "settings"); !set.MailboxService || !set.MailboxServiceAtStart {
		t.Fatalf("carol's settings: %+v, want on, set at start", set)
	}
	code, _, stderr = runCLI(t, "mailbox", "offer", "Carol", "--data", bob)
	if code != exitError || !strings.Contains(stderr, "mailbox service is off") {
		t.Errorf("offering from a node that holds no mail: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "mailbox", "offer", "Bob", "--data", carol); code != 0 || !strings.HasPrefix(stdout, "Offered to hold Bob's mail") {
		t.Fatalf("mailbox offer: exit %d, %q %q", code, stdout, stderr)
	}
	var offer client.MessageView
	parleytest.Eventually(t, "bob to receive the offer", func() bool {
		for _, m := range jsonOf[[]client.MessageView](t, bob, "messages", "Carol") {
			if m.MailboxOffer != nil {
				offer = m
				return true
			}
		}
		return false
	})
	if offer.MailboxOffer.State != "open" || offer.MailboxOffer.PeerID != carolSelf.PeerID {
		t.Fatalf("the offer: %+v", offer.MailboxOffer)
	}
	if code, stdout, _ := runCLI(t, "messages", "Carol", "--data", bob); code != 0 || !strings.Contains(stdout, "parley mailbox accept "+offer.ID.String()) {
		t.Errorf("messages show the offer as %q", stdout)
	}
	if code, stdout, stderr := runCLI(t, "mailbox", "accept", offer.ID.String(), "--data", bob); code != 0 || stdout != "Added mailbox "+carolSelf.PeerID+"\n" {
		t.Fatalf("mailbox accept: exit %d, %q %q", code, stdout, stderr)
	}
	if list := jsonOf[[]client.MailboxView](t, bob, "mailbox", "list"); len(list) != 1 || list[0].PeerID != carolSelf.PeerID {
		t.Fatalf("bob's mailboxes: %+v, want carol's node", list)
	}
}
