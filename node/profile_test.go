package node_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// A new name shows on Self, on the invite, and survives a restart; a bad
// one changes nothing.
func TestSetName(t *testing.T) {
	n := parleytest.StartNode(t, "alice")
	self, err := n.Messenger().SetName(context.Background(), "  Alice Liddell ")
	if err != nil || self.Name != "Alice Liddell" || self.DataDir != n.Dir {
		t.Fatalf("SetName: %+v, %v", self, err)
	}
	card, _, err := identity.DecodeInvite(n.Messenger().Self().InviteLong)
	if err != nil || card.Name != "Alice Liddell" {
		t.Fatalf("invite card: %+v, %v", card, err)
	}
	for _, bad := range []string{"", "   ", "line\nbreak", "Ali\u200bce", "\u2066Alice\u2069"} {
		if _, err := n.Messenger().SetName(context.Background(), bad); !errors.Is(err, parley.ErrMalformed) {
			t.Errorf("SetName(%q): %v, want ErrMalformed", bad, err)
		}
	}
	n.Name = "" // start without a --name: the stored one stays
	n.Restart()
	if got := n.Messenger().Self().Name; got != "Alice Liddell" {
		t.Fatalf("after a restart the name is %q", got)
	}
}

// Adding a contact whose name looks like an existing contact's (or ours)
// adds them, with a warning that names the one they look like.
func TestContactNameLooksAlike(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	mallory, carol := parleytest.StartNode(t, "mallory"), parleytest.StartNode(t, "carol")
	if _, err := mallory.Messenger().SetName(ctx, "Bob"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		who      *parleytest.Node
		name     string // "" takes the name on their invite
		lookLike string // "" for no warning
	}{
		{carol, "", ""},
		{mallory, "", `your contact "bob"`},     // "Bob", from the invite
		{mallory, "ＢＯＢ", `your contact "bob"`},  // fullwidth
		{mallory, "bob ", `your contact "bob"`}, // trimmed
		{mallory, "ALICE", "your own name"},     // like ours
		{mallory, "bobby", ""},                  // only alike, not the same
		{carol, "carol", ""},                    // adding again is no look-alike of itself
	}
	for _, tt := range tests {
		c, warning, err := alice.Messenger().AddContact(ctx, tt.who.Messenger().Self().InviteLong, tt.name)
		if err != nil || c.PeerID != tt.who.PeerID() {
			t.Fatalf("AddContact(%s, %q) = %+v, %v", tt.who.Name, tt.name, c, err)
		}
		if tt.lookLike == "" && warning != "" || !strings.Contains(warning, tt.lookLike) {
			t.Errorf("AddContact(%s, %q) warning = %q, want one about %s", tt.who.Name, tt.name, warning, tt.lookLike)
		}
		if tt.lookLike != "" && strings.Contains(tt.lookLike, "contact") && !strings.Contains(warning, bob.PeerID()) {
			t.Errorf("warning %q does not name bob's peer ID", warning)
		}
	}
}

// The auto-accept limit is a setting that survives a restart.
func TestAutoAcceptSetting(t *testing.T) {
	n := parleytest.StartNode(t, "alice")
	if s := n.Messenger().Settings(context.Background()); s.AutoAcceptBytes != 25<<20 || s.Downloads != filepath.Join(n.Dir, "downloads") {
		t.Fatalf("default settings: %+v", s)
	}
	if _, err := n.Messenger().SetAutoAccept(context.Background(), -5); !errors.Is(err, parley.ErrMalformed) {
		t.Fatalf("a negative limit: %v", err)
	}
	if s, err := n.Messenger().SetAutoAccept(context.Background(), 1<<30); err != nil || s.AutoAcceptBytes != 1<<30 {
		t.Fatalf("SetAutoAccept: %+v, %v", s, err)
	}
	n.Restart()
	if s := n.Messenger().Settings(context.Background()); s.AutoAcceptBytes != 1<<30 {
		t.Fatalf("after a restart: %+v", s)
	}
	if s, _ := n.Messenger().SetAutoAccept(context.Background(), 0); s.AutoAcceptBytes != -1 {
		t.Fatalf("0 should mean never: %+v", s)
	}
}
