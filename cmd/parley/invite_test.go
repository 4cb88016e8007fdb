package main

import (
	"strings"
	"testing"

	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// parley invite prints the short code (the QR code's text): a contact adds
// it, as printed or as a parley://invite/ link, and gets the card from the
// running inviter. --long prints the card-carrying code; --reset stops old
// short codes; an inviter who is not running is said to be unreachable,
// and nothing is added.
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

	// Alice stopped: her short code cannot be used, her long one can.
	long := strings.TrimSpace(alice.CLI("invite", "--long"))
	alice.Stop()
	out, exit := carol.Try("contact", "add", fresh)
	if exit == 0 || !strings.Contains(out, "not online or not reachable") || !strings.Contains(out, "long code") {
		t.Fatalf("adding a stopped inviter's short code: exit %d: %s", exit, out)
	}
	if out := carol.CLI("contact", "list"); strings.Contains(out, "alice") {
		t.Fatalf("an unreachable inviter was added:\n%s", out)
	}
	if out := carol.CLI("contact", "add", long); !strings.Contains(out, "alice") {
		t.Fatalf("adding a stopped inviter's long code: %s", out)
	}
}
