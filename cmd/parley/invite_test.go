package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// parley invite prints the short code (the QR code's text): a contact adds
// it, as printed or as a parley://invite/ link, and gets the card from the
// running inviter. --long prints the card-carrying code; --reset stops old
// short codes; the code of an inviter who is not running is kept as a
// pending contact, added once they run.
func TestContactAddShortCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	alice, bob, carol := parleytest.StartProcess(t, "alice"), parleytest.StartProcess(t, "bob"), parleytest.StartProcess(t, "carol")
	code := strings.TrimSpace(alice.CLI("invite"))
	if len(code) > identity.MaxShortInviteLen || !strings.HasPrefix(code, "parley:") {
		t.Fatalf("parley invite printed %q (%d characters)", code, len(code))
	}
	if long := strings.TrimSpace(alice.CLI("invite", "--long")); len(long) < 1000 || !strings.HasPrefix(long, "parley:") {
		t.Fatalf("parley invite --long printed %d characters", len(long))
	}
	if out := alice.CLI("id", "--long"); !strings.Contains(out, "Long invite:") || !strings.Contains(out, code) {
		t.Fatalf("parley id --long:\n%s", out)
	}

	link := "parley://invite/" + strings.ToLower(strings.TrimPrefix(code, "parley:"))
	if out := bob.CLI("contact", "add", link); !strings.Contains(out, "alice") {
		t.Fatalf("adding alice by her link: %s", out)
	}
	bob.CLI("send", "alice", "scanned your QR")
	parleytest.Eventually(t, "alice has bob's message", func() bool {
		return strings.Contains(alice.CLI("requests"), "bob")
	})

	// A new code: the old one is refused, and nothing is added.
	// The output is stdout and stderr: the code, then the note.
	out := alice.CLI("invite", "--reset")
	fresh, note, _ := strings.Cut(out, "\n")
	if fresh == code || !strings.HasPrefix(fresh, "parley:") || !strings.Contains(note, "earlier short codes no longer") {
		t.Fatalf("parley invite --reset printed %q", out)
	}
	if out, exit := carol.Try("contact", "add", code); exit == 0 || !strings.Contains(out, "refused") {
		t.Fatalf("adding by the old code: exit %d: %s", exit, out)
	}
	if out := carol.CLI("contact", "list"); strings.Contains(out, "alice") {
		t.Fatalf("a refused code added alice:\n%s", out)
	}

	// Alice stopped: her short code is kept as a pending contact (exit 0),
	// listed as such, and cancelled by remove-pending.
	alicePeer := alice.PeerID()
	alice.Stop()
	out, exit := carol.Try("contact", "add", fresh)
	if exit != 0 || !strings.Contains(out, "pending: Parley will add them once their node is reachable") {
		t.Fatalf("adding a stopped inviter's short code: exit %d: %s", exit, out)
	}
	if out := carol.CLI("contact", "add", fresh, "--name", "Ally"); !strings.Contains(out, "Ally") || !strings.Contains(out, "pending") {
		t.Fatalf("adding it again with a name: %s", out)
	}
	out = carol.CLI("contact", "list")
	if !strings.Contains(out, "PENDING") || !strings.Contains(out, "Ally") || strings.Count(out, alicePeer) != 1 ||
		!strings.Contains(out, "pending: Parley will add them") {
		t.Fatalf("carol's contact list with alice pending:\n%s", out)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(carol.CLI("contact", "list", "--json")), &listed); err != nil || len(listed) != 1 ||
		listed[0]["state"] != "pending" || listed[0]["peer_id"] != alicePeer || listed[0]["name"] != "Ally" {
		t.Fatalf("contact list --json: %v %v", listed, err)
	}
	if out := carol.CLI("contact", "remove-pending", "Ally"); !strings.Contains(out, "Cancelled") {
		t.Fatalf("remove-pending: %s", out)
	}
	if out := carol.CLI("contact", "list"); strings.Contains(out, alicePeer) {
		t.Fatalf("a cancelled pending contact is listed:\n%s", out)
	}

	// Kept again, over carol's restart, and added once alice runs,
	// without carol doing anything.
	carol.CLI("contact", "add", fresh)
	carol.Stop()
	carol.Start()
	alice.Start()
	parleytest.Eventually(t, "carol has alice as a contact", func() bool {
		out := carol.CLI("contact", "list")
		return strings.Contains(out, "alice") && !strings.Contains(out, "PENDING")
	})
	carol.CLI("send", "alice", "hello from afar")
	parleytest.Eventually(t, "alice has carol's message", func() bool {
		return strings.Contains(alice.CLI("requests"), "carol")
	})
	if out := carol.CLI("contact", "list"); strings.Count(out, alicePeer) != 1 {
		t.Fatalf("alice listed other than once:\n%s", out)
	}
}
