package node_test

import (
	"context"
	"errors"
	"testing"

	parley "github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/parleytest"
)

// TestVerifyContact: a contact marked verified stays so until their key
// changes; an invite carrying another key for the same peer ID clears the
// mark and says the keys changed, until the user verifies again.
func TestVerifyContact(t *testing.T) {
	ctx := context.Background()
	alice := parleytest.StartNode(t, "alice")
	m := alice.Messenger()
	vera, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	other, err := identity.Generate() // only for a second HPKE key
	if err != nil {
		t.Fatal(err)
	}
	invite := func(hpkeKey []byte) string {
		t.Helper()
		card, err := vera.SignCard(identity.Card{PeerID: vera.PeerID, Name: "Vera", HPKEKey: hpkeKey})
		if err != nil {
			t.Fatal(err)
		}
		return identity.EncodeInvite(card)
	}
	if _, err := m.SetVerified(ctx, "vera", true); !errors.Is(err, parley.ErrUnknownContact) {
		t.Fatalf("verifying an unknown contact: err = %v, want ErrUnknownContact", err)
	}
	if _, _, err := m.AddContact(ctx, invite(nil), ""); err != nil {
		t.Fatal(err)
	}
	state := func(step string, wantVerified, wantChanged bool) {
		t.Helper()
		c, err := m.Resolve(ctx, "vera")
		if err != nil {
			t.Fatal(err)
		}
		if c.Verified != wantVerified || c.KeysChanged != wantChanged {
			t.Fatalf("%s: verified=%v keys_changed=%v, want %v %v", step, c.Verified, c.KeysChanged, wantVerified, wantChanged)
		}
	}
	state("added", false, false)

	c, err := m.SetVerified(ctx, "vera", true)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Verified || c.PeerID != vera.PeerID.String() {
		t.Fatalf("SetVerified returned %+v", c)
	}
	state("verified", true, false)

	// The same invite again (same key) keeps the mark.
	if _, _, err := m.AddContact(ctx, invite(nil), ""); err != nil {
		t.Fatal(err)
	}
	state("same invite again", true, false)

	// Another key for the same peer ID.
	if _, _, err := m.AddContact(ctx, invite(other.HPKEPublicKey()), ""); err != nil {
		t.Fatal(err)
	}
	state("key changed", false, true)
	alice.Restart()
	m = alice.Messenger()
	state("key changed, after a restart", false, true)

	if _, err := m.SetVerified(ctx, "vera", true); err != nil {
		t.Fatal(err)
	}
	state("verified again", true, false)
	if _, err := m.SetVerified(ctx, "vera", false); err != nil {
		t.Fatal(err)
	}
	state("undone", false, false)
}
