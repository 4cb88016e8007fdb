package main

import (
	"strings"
	"testing"

	"github.com/parley-im/parley/internal/parleytest"
)

// cliConversation is what `parley conversations --json` shows of a
// conversation's state.
type cliConversation struct {
	Peer       string `json:"peer"`
	Muted      bool   `json:"muted"`
	MutedUntil string `json:"muted_until"`
	Archived   bool   `json:"archived"`
	PinnedAt   string `json:"pinned_at"`
	Blocked    bool   `json:"blocked"`
}

// TestBlockFromTheCLI: block, blocked, unblock, mute, archive and pin from
// the CLI with --json; a blocked contact's message is acknowledged on the
// sender's side and never shown; the states survive a restart.
func TestBlockFromTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob")
	parleytest.Meet(alice, bob)
	alice.CLI("send", "bob", "hello")
	parleytest.Eventually(t, "bob holding it", func() bool { return len(bob.Messages("alice")) == 1 })

	var blocked struct {
		PeerID  string `json:"peer_id"`
		Name    string `json:"name"`
		Request bool   `json:"request"`
	}
	bob.CLIJSON(&blocked, "block", "alice", "--json")
	if blocked.PeerID != alice.PeerID() || blocked.Name != "alice" || blocked.Request {
		t.Fatalf("block --json: %+v", blocked)
	}
	if out := bob.CLI("blocked"); !strings.Contains(out, alice.PeerID()) {
		t.Fatalf("blocked: %q", out)
	}
	alice.CLI("send", "bob", "are you there?")
	parleytest.Eventually(t, "alice seeing it delivered", func() bool { return alice.StatusOf("bob", "are you there?") == "delivered" })
	if got := bob.Messages("alice"); len(got) != 1 {
		t.Fatalf("bob sees %d messages, want the one from before the block", len(got))
	}
	if out, code := bob.Try("send", "alice", "hi"); code == 0 || !strings.Contains(out, "blocked") {
		t.Fatalf("writing to a blocked contact: exit %d, %q", code, out)
	}

	bob.CLI("mute", "alice", "--for", "2h")
	bob.CLI("archive", "alice")
	bob.CLI("pin", "alice")
	bob.Stop()
	bob.Start()
	var convs []cliConversation
	bob.CLIJSON(&convs, "conversations", "--json")
	if len(convs) != 1 || !convs[0].Muted || convs[0].MutedUntil == "" || !convs[0].Archived || convs[0].PinnedAt == "" || !convs[0].Blocked {
		t.Fatalf("conversations --json after a restart: %+v", convs)
	}
	if out := bob.CLI("conversations"); !strings.Contains(out, "blocked, pinned, muted until") {
		t.Fatalf("conversations: %q", out)
	}
	bob.CLI("unblock", "alice")
	bob.CLI("mute", "alice", "--off")
	bob.CLI("pin", "alice", "--off")
	alice.CLI("send", "bob", "after the unblock")
	parleytest.Eventually(t, "bob receiving it", func() bool { return len(bob.Messages("alice")) == 2 })
	convs = nil // absent fields would keep the earlier values
	bob.CLIJSON(&convs, "conversations", "--json")
	if len(convs) != 1 || convs[0].Muted || convs[0].Archived || convs[0].PinnedAt != "" || convs[0].Blocked {
		t.Fatalf("a new message, unmuted: un-archived, and the rest off: %+v", convs)
	}
	if out, code := bob.Try("unblock", "alice"); code == 0 {
		t.Fatalf("unblocking someone not blocked: exit 0, %q", out)
	}
}
