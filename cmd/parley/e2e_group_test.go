package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

type jsonMember struct {
	PeerID string `json:"peer_id"`
	Role   string `json:"role"`
	Self   bool   `json:"self"`
}

// The "done when", from the CLI: three users create a group and
// chat, one is removed, the others keep chatting, and a fourth joins later
// and reads the history.
func TestGroupsFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob, carol := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob"), parleytest.StartProcess(t, "carol")
	for _, p := range []*parleytest.Process{bob, carol} {
		alice.CLI("contact", "add", p.Invite(), "--name", p.Name)
		p.CLI("contact", "add", alice.Invite(), "--name", "alice")
	}
	var created parleytest.CLIGroup
	// Shared history: dave, added last, reads what came before him.
	alice.CLIJSON(&created, "group", "create", "friends", "--history", "shared")
	if created.Name != "friends" || len(created.ID) != 64 {
		t.Fatalf("group create --json: %+v", created)
	}
	alice.CLI("group", "invite", "friends", "bob")
	alice.CLI("group", "invite", created.ID, "carol")
	for _, p := range []*parleytest.Process{bob, carol} {
		parleytest.Eventually(t, p.Name+" seeing the invite", func() bool { return p.InvitedTo("friends") })
		p.CLI("group", "accept", "friends")
	}
	var first parleytest.CLIMessage
	alice.CLIJSON(&first, "group", "send", "friends", "hello everyone")
	if first.Text != "hello everyone" || len(first.ID) != 64 || first.Status != "queued" && first.Status != "sent" {
		t.Fatalf("group send --json: %+v", first)
	}
	if out := bob.CLI("group", "send", "friends", "hi from bob"); !strings.HasPrefix(out, "queued for the group: message ") && !strings.HasPrefix(out, "sent for the group: message ") {
		t.Fatalf("group send printed %q", out)
	}
	carol.CLI("group", "send", "friends", "hi from carol")
	for _, p := range []*parleytest.Process{alice, bob, carol} {
		parleytest.Eventually(t, p.Name+" holding the three messages", func() bool { return len(p.GroupTexts("friends")) == 3 })
	}
	want := alice.GroupTexts("friends")
	for _, p := range []*parleytest.Process{bob, carol} {
		if got := p.GroupTexts("friends"); !slices.Equal(got, want) {
			t.Fatalf("%s holds %q, alice %q", p.Name, got, want)
		}
	}

	alice.CLI("group", "rename", "friends", "old friends")
	alice.CLI("group", "role", "old friends", "bob", "admin")
	parleytest.Eventually(t, "bob seeing the new name and his new role", func() bool {
		var ms []jsonMember
		bob.CLIJSON(&ms, "group", "members", "old friends")
		return slices.ContainsFunc(ms, func(m jsonMember) bool { return m.Self && m.Role == "admin" })
	})
	bob.CLI("group", "rename", "old friends", "friends")
	parleytest.Eventually(t, "alice seeing bob's rename", func() bool {
		var gs []parleytest.CLIGroup
		alice.CLIJSON(&gs, "group", "list")
		return len(gs) == 1 && gs[0].Name == "friends"
	})
	alice.CLI("group", "remove", "friends", "carol")
	parleytest.Eventually(t, "bob seeing two members", func() bool {
		var ms []struct {
			PeerID string `json:"peer_id"`
		}
		bob.CLIJSON(&ms, "group", "members", "friends")
		return len(ms) == 2
	})
	alice.CLI("group", "send", "friends", "carol has left us")
	parleytest.Eventually(t, "bob reading it", func() bool { return len(bob.GroupTexts("friends")) == 4 })
	if out, code := carol.Try("group", "send", "friends", "am I still in?"); code == 0 {
		t.Fatalf("a removed member could send: %s", out)
	}

	dave := parleytest.StartProcess(t, "dave")
	parleytest.Meet(alice, dave)
	parleytest.JoinGroup(t, alice, "friends", dave)
	// By ID: until dave holds every op, the name his ops give may still be
	// "old friends" (bob's rename back needs bob's promotion first).
	parleytest.Eventually(t, "dave reading the history", func() bool { return len(dave.GroupTexts(created.ID)) == 4 })
	if out := alice.CLI("group", "history", "friends", "hidden"); out != "friends: members read what is written while they are members\n" {
		t.Fatalf("group history printed %q", out)
	}
	if out, code := alice.Try("group", "history", "friends", "sometimes"); code != 2 {
		t.Fatalf("group history with a bad setting: exit %d, %q", code, out)
	}
	if got := carol.GroupTexts("friends"); len(got) != 3 {
		t.Fatalf("carol holds %q after her removal", got)
	}
	var groups []parleytest.CLIGroup
	carol.CLIJSON(&groups, "group", "list")
	if len(groups) != 1 || groups[0].State != "removed" {
		t.Fatalf("carol's groups: %+v", groups)
	}
}
