package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parley-im/parley/gui/client"
	"github.com/parley-im/parley/internal/parleytest"
)

// TestMailboxGroupTakingTurns: the group test with real
// processes. A mailbox process M stays up throughout. Alice is a contact
// of Bob and of Carol; Bob and Carol are not each other's contacts (no DM
// grant passes between them). Each chooses M as its mailbox.
//
// Setup, the only time the three run at once: Alice creates the group
// and invites Bob and Carol, who accept (an invite needs the inviter's ops
// by sync, so both run with Alice once), and the test waits until every
// member holds both others' grants to the group (`group members --json`,
// "mailboxes"). Then strict turns, two rounds of Alice, Bob, Carol: only
// one member process runs at a time; on its turn a member waits until it
// holds every message written before (fetched from M), writes one with
// `parley group send`, waits until it is "stored" and stops. Last, Alice
// and Bob, each alone, fetch what came after their last turn. Every member
// ends with the six messages exactly once, in the order written.
func TestMailboxGroupTakingTurns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	mb := parleytest.StartProcess(t, "community", "--mailbox-service")
	alice, bob, carol := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob"), parleytest.StartProcess(t, "carol")
	members := []*parleytest.Process{alice, bob, carol}
	for _, p := range []*parleytest.Process{bob, carol} {
		alice.CLI("contact", "add", p.Invite(), "--name", p.Name)
		p.CLI("contact", "add", alice.Invite(), "--name", "alice")
	}
	var self client.SelfView
	mb.CLIJSON(&self, "id")
	for _, p := range members {
		p.CLI("mailbox", "add", self.Addrs[0]+"/p2p/"+self.PeerID)
	}
	alice.CLI("group", "create", "turns")
	alice.CLI("group", "invite", "turns", "bob")
	alice.CLI("group", "invite", "turns", "carol")
	for _, p := range []*parleytest.Process{bob, carol} {
		parleytest.Eventually(t, p.Name+" seeing the invite", func() bool { return p.InvitedTo("turns") })
		p.CLI("group", "accept", "turns")
	}
	for _, p := range members {
		parleytest.Eventually(t, p.Name+" holding every member's grant to the group", func() bool {
			var ms []client.GroupMemberView
			p.CLIJSON(&ms, "group", "members", "turns")
			return len(ms) == 3 && !slices.ContainsFunc(ms, func(m client.GroupMemberView) bool { return m.Mailboxes != 1 })
		})
	}
	for _, p := range members {
		p.Stop()
	}

	var want []string
	for round := range 2 {
		for _, p := range members {
			p.Start()
			written := slices.Clone(want)
			parleytest.Eventually(t, fmt.Sprintf("%s holding the %d messages written before its turn", p.Name, len(written)), func() bool {
				return len(p.GroupTexts("turns")) >= len(written)
			})
			if got := p.GroupTexts("turns"); !slices.Equal(got, written) {
				t.Fatalf("%s holds %q before its turn, want %q once each", p.Name, got, written)
			}
			text := fmt.Sprintf("%s, round %d", p.Name, round)
			p.CLI("group", "send", "turns", text)
			want = append(want, text)
			parleytest.Eventually(t, p.Name+"'s message stored in the mailbox", func() bool {
				return groupStatusOf(t, p, "turns", text) == "stored"
			})
			p.Stop()
		}
	}
	for _, p := range []*parleytest.Process{alice, bob} {
		p.Start()
		parleytest.Eventually(t, p.Name+" holding all six", func() bool { return len(p.GroupTexts("turns")) >= len(want) })
		p.Stop()
	}
	for _, p := range members {
		p.Start()
		if got := p.GroupTexts("turns"); !slices.Equal(got, want) {
			t.Errorf("%s holds %q, want %q once each", p.Name, got, want)
		}
		p.Stop()
	}
}

// groupStatusOf is the status of p's message text in group, as `parley
// group messages --json` shows it ("" if it is not there).
func groupStatusOf(t *testing.T, p *parleytest.Process, group, text string) string {
	t.Helper()
	var ms []parleytest.CLIMessage
	p.CLIJSON(&ms, "group", "messages", group)
	for _, m := range ms {
		if m.Text == text {
			return m.Status
		}
	}
	return ""
}
