package node_test

import (
	"bytes"
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	idpb "github.com/parley-im/parley/identity/pb"
	"github.com/parley-im/parley/internal/parleytest"
)

// The safety number covers the identity keys only; it vouches for a
// contact's HPKE key because that key is taken only from a card the
// identity key signed, once (PROTOCOL.md §3.2). So a card update, even one
// properly signed by the contact, never swaps the HPKE key bob verified:
// his record keeps the key, the mark, and no "keys changed".
func TestCardUpdateKeepsVerifiedKey(t *testing.T) {
	ctx := context.Background()
	alice, bob := parleytest.StartNode(t, "alice"), parleytest.StartNode(t, "bob")
	parleytest.Befriend(t, alice, bob)
	if _, err := bob.Messenger().SetVerified(ctx, alice.PeerID(), true); err != nil {
		t.Fatal(err)
	}
	verifiedKey := hpkeKeyOf(t, alice)
	other, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	card, err := proto.Marshal(&idpb.Card{PeerId: []byte(alice.Host().ID()), Name: "Alicia", HpkeKey: other.HPKEPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := alice.Host().Peerstore().PrivKey(alice.Host().ID()).Sign(append([]byte("parley/card/v1\x00"), card...))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := proto.Marshal(&idpb.SignedCard{Card: card, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := identity.ParseCard(signed); err != nil {
		t.Fatalf("the update is not a valid card of alice's: %v", err)
	}
	if err := alice.SendCardUpdate(bob.PeerID(), signed); err != nil {
		t.Fatal(err)
	}
	// The update applied (her new name shows) ...
	parleytest.Eventually(t, "bob applying alice's card", func() bool { return contactName(t, bob, alice.PeerID()) == "Alicia" })
	// ... but not its key.
	c, err := bob.Messenger().Resolve(ctx, alice.PeerID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.HPKEKey, verifiedKey) || !c.Verified || c.KeysChanged || c.State != parley.ContactAccepted {
		t.Fatalf("after a signed card with another HPKE key: key kept %v, verified %v, keys changed %v",
			bytes.Equal(c.HPKEKey, verifiedKey), c.Verified, c.KeysChanged)
	}
}
