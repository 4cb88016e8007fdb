package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pb"
)

func mustGenerate(t testing.TB) *Identity {
	t.Helper()
	id, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fixedIdentity is deterministic, so fuzz seeds built from it stay valid.
func fixedIdentity(t testing.TB, n byte) *Identity {
	t.Helper()
	sk, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	hk, err := hpke.MLKEM768X25519().NewPrivateKey(bytes.Repeat([]byte{^n}, 32))
	if err != nil {
		t.Fatal(err)
	}
	id, err := newIdentity(sk, hk, bytes.Repeat([]byte{n + 1}, StoreKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fixedSendKey is a deterministic key for the fuzz harness of OpenEnvelope.
func fixedSendKey() *SendKey {
	k := &SendKey{}
	for i := range k.ID {
		k.ID[i] = byte(i)
	}
	for i := range k.Key {
		k.Key[i] = byte(0x80 + i)
	}
	return k
}

func mustAddr(t testing.TB, s string) ma.Multiaddr {
	t.Helper()
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func textBody(t testing.TB, s string) []byte {
	t.Helper()
	return mustMarshal(t, &pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: s}}})
}

func testCard(t testing.TB, id *Identity, name string) Card {
	t.Helper()
	return Card{
		PeerID:  id.PeerID,
		Name:    name,
		HPKEKey: id.HPKEPublicKey(),
		Addrs: []ma.Multiaddr{
			mustAddr(t, "/ip4/192.0.2.7/tcp/4001"),
			mustAddr(t, "/ip6/2001:db8::1/udp/4001/quic-v1"),
		},
	}
}

func mustSignCard(t testing.TB, id *Identity, name string) []byte {
	t.Helper()
	signed, err := id.SignCard(testCard(t, id, name))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

var testHLC = parley.NewHLC(time.UnixMilli(1_700_000_000_000), 3)

func cardsEqual(a, b Card) bool {
	if a.PeerID != b.PeerID || a.Name != b.Name || !bytes.Equal(a.HPKEKey, b.HPKEKey) || !addrsEqual(a.Addrs, b.Addrs) || len(a.Mailboxes) != len(b.Mailboxes) {
		return false
	}
	for i := range a.Mailboxes {
		if a.Mailboxes[i].PeerID != b.Mailboxes[i].PeerID || !addrsEqual(a.Mailboxes[i].Addrs, b.Mailboxes[i].Addrs) {
			return false
		}
	}
	return true
}

func addrsEqual(a, b []ma.Multiaddr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
