package identity

import (
	"bytes"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

func TestCardRoundTrip(t *testing.T) {
	id := mustGenerate(t)
	want := testCard(t, id, "Ada Lovelace ✨")
	signed, err := id.SignCard(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCard(signed)
	if err != nil {
		t.Fatal(err)
	}
	if !cardsEqual(got, want) {
		t.Errorf("ParseCard = %+v, want %+v", got, want)
	}

	c := got.Contact()
	if c.PeerID != id.PeerID.String() || c.Name != want.Name || !bytes.Equal(c.HPKEKey, id.HPKEPublicKey()) {
		t.Errorf("Contact() = %+v", c)
	}
	if c.State != parley.ContactAccepted || !c.AddedAt.IsZero() {
		t.Errorf("Contact() state %q, added %v", c.State, c.AddedAt)
	}
	wantAddrs := []string{"/ip4/192.0.2.7/tcp/4001", "/ip6/2001:db8::1/udp/4001/quic-v1"}
	if strings.Join(c.Addrs, ",") != strings.Join(wantAddrs, ",") {
		t.Errorf("Contact().Addrs = %v, want %v", c.Addrs, wantAddrs)
	}
}

// A card's mailboxes travel as addresses ending in /p2p/ID and come back as
// they were signed, a mailbox known by peer ID alone included.
func TestCardMailboxesRoundTrip(t *testing.T) {
	id := mustGenerate(t)
	mb1, mb2 := mustGenerate(t).PeerID, mustGenerate(t).PeerID
	want := testCard(t, id, "Ada")
	want.Mailboxes = []CardMailbox{
		{PeerID: mb1, Addrs: []ma.Multiaddr{mustAddr(t, "/ip4/192.0.2.9/tcp/4001"), mustAddr(t, "/ip4/192.0.2.9/udp/4001/quic-v1")}},
		{PeerID: mb2},
	}
	signed, err := id.SignCard(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCard(signed)
	if err != nil {
		t.Fatal(err)
	}
	if !cardsEqual(got, want) {
		t.Fatalf("ParseCard = %+v, want %+v", got, want)
	}
	// On the wire: each address ends in the mailbox's /p2p/ID.
	var sc pb.SignedCard
	var m pb.Card
	if err := proto.Unmarshal(signed, &sc); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(sc.Card, &m); err != nil {
		t.Fatal(err)
	}
	wire := func(b []byte) string { a, _ := ma.NewMultiaddrBytes(b); return a.String() }
	if got := wire(m.Mailboxes[0].Addrs[1]); got != "/ip4/192.0.2.9/udp/4001/quic-v1/p2p/"+mb1.String() {
		t.Errorf("mailbox address on the wire: %s", got)
	}
	if len(m.Mailboxes[1].Addrs) != 1 || wire(m.Mailboxes[1].Addrs[0]) != "/p2p/"+mb2.String() {
		t.Errorf("an address-less mailbox on the wire: %v", m.Mailboxes[1].Addrs)
	}
	c := got.Contact()
	if len(c.Mailboxes) != 2 || c.Mailboxes[0].PeerID != mb1.String() || strings.Join(c.Mailboxes[0].Addrs, ",") != "/ip4/192.0.2.9/tcp/4001,/ip4/192.0.2.9/udp/4001/quic-v1" ||
		c.Mailboxes[1].PeerID != mb2.String() || len(c.Mailboxes[1].Addrs) != 0 {
		t.Errorf("Contact().Mailboxes = %+v", c.Mailboxes)
	}
}

// The largest card a node makes (MaxCardSize's comment) fits: a 64-byte
// name, 8 relayed addresses of its own, 4 mailboxes of 4 relayed addresses.
func TestCardLargestFits(t *testing.T) {
	id := mustGenerate(t)
	relay := mustGenerate(t).PeerID
	circuit := mustAddr(t, "/ip6/2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/udp/65535/quic-v1/p2p/"+relay.String()+"/p2p-circuit")
	c := Card{Name: strings.Repeat("n", MaxCardName)}
	for range 8 {
		c.Addrs = append(c.Addrs, circuit)
	}
	for range MaxCardMailboxes {
		mb := CardMailbox{PeerID: mustGenerate(t).PeerID}
		for range MaxCardMailboxAddrs {
			mb.Addrs = append(mb.Addrs, circuit)
		}
		c.Mailboxes = append(c.Mailboxes, mb)
	}
	signed, err := id.SignCard(c)
	if err != nil {
		t.Fatalf("the largest card a node makes: %v", err)
	}
	t.Logf("largest card: %d bytes; its invite: %d characters", len(signed), len(EncodeInvite(signed)))
	if _, err := ParseCard(signed); err != nil {
		t.Fatal(err)
	}
}

func TestSignCardDefaults(t *testing.T) {
	id := mustGenerate(t)
	signed, err := id.SignCard(Card{Name: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCard(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got.PeerID != id.PeerID || !bytes.Equal(got.HPKEKey, id.HPKEPublicKey()) || len(got.Addrs) != 0 {
		t.Errorf("SignCard did not fill in the identity's own keys: %+v", got)
	}
}

func TestSignCardRefuses(t *testing.T) {
	id := mustGenerate(t)
	other := mustGenerate(t)
	tooMany := make([]ma.Multiaddr, MaxCardAddrs+1)
	for i := range tooMany {
		tooMany[i] = mustAddr(t, "/ip4/192.0.2.1/tcp/1")
	}
	tests := []struct {
		name string
		card Card
	}{
		{"someone else's peer ID", Card{PeerID: other.PeerID}},
		{"long name", Card{Name: strings.Repeat("x", MaxCardName+1)}},
		{"newline in name", Card{Name: "alice\nbob"}},
		{"bidi override in name", Card{Name: "alice\u202e"}},
		{"bad HPKE key", Card{HPKEKey: []byte{1, 2, 3}}},
		{"too many addrs", Card{Addrs: tooMany}},
	}
	for _, tt := range tests {
		if _, err := id.SignCard(tt.card); err == nil {
			t.Errorf("%s: SignCard accepted it", tt.name)
		}
	}
	if _, err := id.SignCard(Card{Name: strings.Repeat("é", MaxCardName/2)}); err != nil {
		t.Errorf("a name of exactly %d bytes: %v", MaxCardName, err)
	}
}

func TestCardFlippedBitFails(t *testing.T) {
	id := mustGenerate(t)
	signed := mustSignCard(t, id, "carol")
	for i := range signed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(signed)
			bad[i] ^= bit
			if _, err := ParseCard(bad); !errors.Is(err, parley.ErrMalformed) && !errors.Is(err, parley.ErrBadSignature) {
				t.Fatalf("byte %d ^ %#x: ParseCard = %v, want ErrMalformed or ErrBadSignature", i, bit, err)
			}
		}
	}
}

// signRaw signs a hand-built card with any key, as a forger would.
func signRaw(t *testing.T, key crypto.PrivKey, m *pb.Card) []byte {
	t.Helper()
	cardBytes := mustMarshal(t, m)
	sig, err := key.Sign(cardSignedBytes(cardBytes))
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, &pb.SignedCard{Card: cardBytes, Signature: sig})
}

func TestCardForgedPeerID(t *testing.T) {
	victim := mustGenerate(t)
	mallory := mustGenerate(t)
	forged := signRaw(t, mallory.Key, &pb.Card{
		PeerId:  []byte(victim.PeerID),
		Name:    "victim",
		HpkeKey: mallory.HPKEPublicKey(), // so that messages "to the victim" reach mallory
	})
	if _, err := ParseCard(forged); !errors.Is(err, parley.ErrBadSignature) {
		t.Fatalf("card claiming another peer ID: %v, want ErrBadSignature", err)
	}
}

// A signed card whose name CheckName refuses is kept, under the peer ID's
// short form: the name is a label, the peer ID is who they are.
func TestCardUnfitNameReplaced(t *testing.T) {
	id := mustGenerate(t)
	for _, name := range []string{"a\x00b", "ali\u200bce", "alice\u202e", "\ufeff"} {
		signed := signRaw(t, id.Key, &pb.Card{PeerId: []byte(id.PeerID), Name: name, HpkeKey: id.HPKEPublicKey()})
		c, err := ParseCard(signed)
		if err != nil {
			t.Fatalf("ParseCard(name %+q) = %v", name, err)
		}
		if want := ShortPeerID(id.PeerID); c.Name != want || !strings.HasSuffix(id.PeerID.String(), strings.TrimPrefix(want, "…")) {
			t.Errorf("ParseCard(name %+q).Name = %+q, want %+q", name, c.Name, want)
		}
	}
}

func TestCardRejects(t *testing.T) {
	id := mustGenerate(t)
	good := &pb.Card{PeerId: []byte(id.PeerID), Name: "x", HpkeKey: id.HPKEPublicKey()}
	with := func(f func(m *pb.Card)) *pb.Card {
		m := &pb.Card{PeerId: good.PeerId, Name: good.Name, HpkeKey: good.HpkeKey}
		f(m)
		return m
	}

	// A secp256k1 identity is a valid libp2p peer but not a Parley one.
	secpKey, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secpID, err := peer.IDFromPrivateKey(secpKey)
	if err != nil {
		t.Fatal(err)
	}
	secpCard := signRaw(t, secpKey, with(func(m *pb.Card) { m.PeerId = []byte(secpID) }))

	tests := []struct {
		name   string
		signed []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a card")},
		{"oversized", bytes.Repeat([]byte{0}, MaxCardSize+1)},
		{"secp256k1 peer", secpCard},
		{"no peer ID", signRaw(t, id.Key, with(func(m *pb.Card) { m.PeerId = nil }))},
		{"hashed peer ID", signRaw(t, id.Key, with(func(m *pb.Card) {
			m.PeerId = append([]byte{0x12, 0x20}, bytes.Repeat([]byte{7}, 32)...)
		}))},
		{"long name", signRaw(t, id.Key, with(func(m *pb.Card) { m.Name = strings.Repeat("n", MaxCardName+1) }))},
		{"no HPKE key", signRaw(t, id.Key, with(func(m *pb.Card) { m.HpkeKey = nil }))},
		{"short HPKE key", signRaw(t, id.Key, with(func(m *pb.Card) { m.HpkeKey = m.HpkeKey[1:] }))},
		{"bad multiaddr", signRaw(t, id.Key, with(func(m *pb.Card) { m.Addrs = [][]byte{{0xff, 0xff}} }))},
		{"empty multiaddr", signRaw(t, id.Key, with(func(m *pb.Card) { m.Addrs = [][]byte{{}} }))},
		{"too many addrs", signRaw(t, id.Key, with(func(m *pb.Card) {
			for range MaxCardAddrs + 1 {
				m.Addrs = append(m.Addrs, mustAddr(t, "/ip4/192.0.2.1/tcp/1").Bytes())
			}
		}))},
	}
	mb := mustGenerate(t).PeerID
	p2p := func(p peer.ID, transport string) []byte {
		return mustAddr(t, transport+"/p2p/"+p.String()).Bytes()
	}
	mailboxes := func(ms ...*pb.Mailbox) []byte {
		return signRaw(t, id.Key, with(func(m *pb.Card) { m.Mailboxes = ms }))
	}
	tests = append(tests, []struct {
		name   string
		signed []byte
	}{
		{"mailbox without address", mailboxes(&pb.Mailbox{})},
		{"mailbox address without /p2p", mailboxes(&pb.Mailbox{Addrs: [][]byte{mustAddr(t, "/ip4/192.0.2.1/tcp/1").Bytes()}})},
		{"mailbox of two peers", mailboxes(&pb.Mailbox{Addrs: [][]byte{p2p(mb, "/ip4/192.0.2.1/tcp/1"), p2p(id.PeerID, "/ip4/192.0.2.1/tcp/2")}})},
		{"mailbox is the owner", mailboxes(&pb.Mailbox{Addrs: [][]byte{p2p(id.PeerID, "")}})},
		{"mailbox twice", mailboxes(&pb.Mailbox{Addrs: [][]byte{p2p(mb, "")}}, &pb.Mailbox{Addrs: [][]byte{p2p(mb, "/ip4/192.0.2.1/tcp/1")}})},
		{"mailbox bad multiaddr", mailboxes(&pb.Mailbox{Addrs: [][]byte{{0xff, 0xff}}})},
		{"mailbox empty multiaddr", mailboxes(&pb.Mailbox{Addrs: [][]byte{{}}})},
		{"mailbox secp256k1 peer", mailboxes(&pb.Mailbox{Addrs: [][]byte{p2p(secpID, "")}})},
		{"mailbox too many addrs", mailboxes(&pb.Mailbox{Addrs: slices.Repeat([][]byte{p2p(mb, "/ip4/192.0.2.1/tcp/1")}, MaxCardMailboxAddrs+1)})},
		{"too many mailboxes", func() []byte {
			var ms []*pb.Mailbox
			for range MaxCardMailboxes + 1 {
				ms = append(ms, &pb.Mailbox{Addrs: [][]byte{p2p(mustGenerate(t).PeerID, "")}})
			}
			return mailboxes(ms...)
		}()},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCard(tt.signed)
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("ParseCard = %v, want ErrMalformed", err)
			}
		})
	}

	unsigned := map[string][]byte{
		"no signature":    mustMarshal(t, &pb.SignedCard{Card: mustMarshal(t, good)}),
		"short signature": mustMarshal(t, &pb.SignedCard{Card: mustMarshal(t, good), Signature: []byte{1}}),
	}
	for name, signed := range unsigned {
		if _, err := ParseCard(signed); !errors.Is(err, parley.ErrBadSignature) {
			t.Errorf("%s: ParseCard = %v, want ErrBadSignature", name, err)
		}
	}
}
