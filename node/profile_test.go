package node_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
)

// A new name shows on Self, on the invite, and survives a restart; a bad
// one changes nothing.
func TestSetName(t *testing.T) {
	n := startNode(t, "alice")
	self, err := n.m.SetName(context.Background(), "  Alice Liddell ")
	if err != nil || self.Name != "Alice Liddell" || self.DataDir != n.dir {
		t.Fatalf("SetName: %+v, %v", self, err)
	}
	card, _, err := identity.DecodeInvite(n.m.Self().Invite)
	if err != nil || card.Name != "Alice Liddell" {
		t.Fatalf("invite card: %+v, %v", card, err)
	}
	for _, bad := range []string{"", "   ", "line\nbreak"} {
		if _, err := n.m.SetName(context.Background(), bad); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("SetName(%q): %v, want ErrMalformed", bad, err)
		}
	}
	n.name = "" // start without a --name: the stored one stays
	n.restart()
	if got := n.m.Self().Name; got != "Alice Liddell" {
		t.Fatalf("after a restart the name is %q", got)
	}
}
