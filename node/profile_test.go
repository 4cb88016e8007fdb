package node_test

import (
	"context"
	"errors"
	"path/filepath"
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

// The auto-accept limit is a setting that survives a restart.
func TestAutoAcceptSetting(t *testing.T) {
	n := startNode(t, "alice")
	if s := n.m.Settings(context.Background()); s.AutoAcceptBytes != 25<<20 || s.Downloads != filepath.Join(n.dir, "downloads") {
		t.Fatalf("default settings: %+v", s)
	}
	if _, err := n.m.SetAutoAccept(context.Background(), -5); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("a negative limit: %v", err)
	}
	if s, err := n.m.SetAutoAccept(context.Background(), 1<<30); err != nil || s.AutoAcceptBytes != 1<<30 {
		t.Fatalf("SetAutoAccept: %+v, %v", s, err)
	}
	n.restart()
	if s := n.m.Settings(context.Background()); s.AutoAcceptBytes != 1<<30 {
		t.Fatalf("after a restart: %+v", s)
	}
	if s, _ := n.m.SetAutoAccept(context.Background(), 0); s.AutoAcceptBytes != -1 {
		t.Fatalf("0 should mean never: %+v", s)
	}
}
