package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	idpb "github.com/parley-im/parley/identity/pb"
	"github.com/parley-im/parley/pb"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed files under testdata/fuzz")

// fuzzConv and fuzzNonce fix the outer fields of FuzzOpenEnvelope, so that
// its seeds are the same on every run.
var (
	fuzzConv  = parley.ConversationID(bytes.Repeat([]byte{0xc0}, 32))
	fuzzNonce = bytes.Repeat([]byte{0x0e}, chacha20poly1305.NonceSizeX)
)

// fuzzSealed is a valid plaintext for FuzzOpenEnvelope: a message from the
// fixed identity 1 under fixedSendKey.
func fuzzSealed(t testing.TB, body, card []byte) []byte {
	t.Helper()
	id := fixedIdentity(t, 1)
	sig, err := id.Key.Sign(SignedPayload(fuzzConv, fixedSendKey().ID, testHLC, body))
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, &pb.Sealed{Sender: []byte(id.PeerID), Hlc: uint64(testHLC), Body: body, Signature: sig, SenderCard: card})
}

// fuzzEnvelope seals plaintext under fixedSendKey, with fixed outer fields.
func fuzzEnvelope(plain []byte) *pb.Envelope {
	key := fixedSendKey()
	aead, err := chacha20poly1305.NewX(key.Key[:])
	if err != nil {
		panic(err)
	}
	return &pb.Envelope{
		ConversationId: fuzzConv[:],
		KeyId:          key.ID[:],
		Nonce:          fuzzNonce,
		Ciphertext:     aead.Seal(nil, fuzzNonce, plain, envelopeAAD(fuzzConv[:], key.ID[:])),
	}
}

type corpusSeed struct {
	fuzzer, name string
	value        any // string or []byte, as the fuzz function takes
	valid        bool
}

// corpusSeeds are the seeds checked in under testdata/fuzz: deterministic,
// so TestFuzzCorpus can tell when they go stale.
func corpusSeeds(t testing.TB) []corpusSeed {
	id := fixedIdentity(t, 1)
	card := mustSignCard(t, id, "fuzz seed")
	code := EncodeInvite(card)
	withMailboxes := testCard(t, id, "fuzz seed")
	withMailboxes.Mailboxes = []CardMailbox{
		{PeerID: fixedIdentity(t, 2).PeerID, Addrs: []ma.Multiaddr{mustAddr(t, "/ip4/192.0.2.9/tcp/4001")}},
		{PeerID: fixedIdentity(t, 3).PeerID},
	}
	mailboxCard, err := id.SignCard(withMailboxes)
	if err != nil {
		t.Fatal(err)
	}
	cardUpdate := mustMarshal(t, &pb.Body{Kind: &pb.Body_CardUpdate{CardUpdate: &pb.CardUpdate{Card: mailboxCard}}})

	withEncap := fuzzEnvelope(fuzzSealed(t, textBody(t, "seed"), nil))
	withEncap.KeyEncap = bytes.Repeat([]byte{0xe1}, hpkeEncapSize)
	sum := sha256.Sum256(withEncap.KeyEncap)
	withEncap.KeyId = sum[:KeyIDSize]

	receipt := mustMarshal(t, &pb.Body{Kind: &pb.Body_Receipt{Receipt: &pb.Receipt{
		Kind: pb.Receipt_KIND_DELIVERED, EnvelopeIds: [][]byte{bytes.Repeat([]byte{7}, 32)},
	}}})
	groupOp := mustMarshal(t, &pb.Body{Kind: &pb.Body_GroupOp{GroupOp: &pb.GroupOp{
		Type: pb.GroupOp_TYPE_ADD, Member: []byte(id.PeerID), Role: pb.GroupOp_ROLE_MEMBER,
		MemberHpkeKey: id.HPKEPublicKey(), MemberName: "member",
	}}})
	groupKey := [32]byte(bytes.Repeat([]byte{9}, 32))
	groupKeyID := GroupKeyID(fuzzConv, groupKey)
	groupKeys := mustMarshal(t, &pb.Body{Kind: &pb.Body_GroupKeys{GroupKeys: &pb.GroupKeys{
		GroupId: fuzzConv[:], Name: "group", Invite: true, Members: [][]byte{[]byte(id.PeerID)},
		Keys: []*pb.GroupKey{{KeyId: groupKeyID[:], Key: groupKey[:], Hlc: 1}},
	}}})
	groupGrant := mustMarshal(t, &pb.Body{Kind: &pb.Body_GroupMailboxGrant{GroupMailboxGrant: &pb.GroupMailboxGrant{
		Mailboxes: []*pb.GrantedMailbox{{
			PeerId: []byte(fixedIdentity(t, 2).PeerID), Addrs: [][]byte{mustAddr(t, "/ip4/192.0.2.9/tcp/4001").Bytes()},
			Nonce: bytes.Repeat([]byte{1}, 16), Token: bytes.Repeat([]byte{2}, 32),
		}},
	}}})
	timer := mustMarshal(t, &pb.Body{Kind: &pb.Body_Timer{Timer: &pb.Timer{Seconds: 3600}}})
	timerTooShort := mustMarshal(t, &pb.Body{Kind: &pb.Body_Timer{Timer: &pb.Timer{Seconds: 10}}})
	expiring := mustMarshal(t, &pb.Body{Kind: &pb.Body_Text{Text: &pb.Text{Text: "gone in an hour", ExpireSeconds: 3600}}})
	short, err := EncodeShortInvite(id.Key.GetPublic(), testSecret(), nil)
	if err != nil {
		t.Fatal(err)
	}
	hinted, err := EncodeShortInvite(id.Key.GetPublic(), testSecret(), mustAddr(t, "/ip4/192.0.2.7/udp/4001/quic-v1"))
	if err != nil {
		t.Fatal(err)
	}
	link, err := EncodeLinkCode(fixedIdentity(t, 2).Key.GetPublic(), testSecret(), nil)
	if err != nil {
		t.Fatal(err)
	}
	hintedLink, err := EncodeLinkCode(fixedIdentity(t, 2).Key.GetPublic(), testSecret(), mustAddr(t, "/ip4/192.0.2.8/tcp/4001"))
	if err != nil {
		t.Fatal(err)
	}
	person := newPerson(t)
	oneDevice := mustSignList(t, person.keys0, person.laptop, DeviceList{Seq: 1, Devices: []Device{testDevice(person.laptop, "laptop")}})
	linkedList := person.list(2)
	linkedList.Revoked = []peer.ID{fixedIdentity(t, 3).PeerID}
	linked := mustSignList(t, person.keys, person.phone, linkedList)
	laptop, phone := linkedIdentities(t)
	keystore := func(id *Identity) []byte {
		b, err := encodeKeystore(id)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	linkedPhone := keystore(phone)
	return []corpusSeed{
		{"FuzzParseKeystore", "one-device", keystore(fixedIdentity(t, 1)), true},
		{"FuzzParseKeystore", "linked-laptop", keystore(laptop), true},
		{"FuzzParseKeystore", "linked-phone", linkedPhone, true},
		{"FuzzParseKeystore", "linked-phone-cut", linkedPhone[:len(linkedPhone)-8], false},
		{"FuzzParseDeviceList", "one-device", oneDevice, true},
		{"FuzzParseDeviceList", "linked", linked, true},
		{"FuzzParseDeviceList", "linked-cut", linked[:len(linked)-ed25519.SignatureSize-2], false},
		{"FuzzParseInvite", "short", short, true},
		{"FuzzParseInvite", "short-hint-link", "parley://invite/" + strings.ToLower(hinted[len(InvitePrefix):]), true},
		{"FuzzParseInvite", "short-cut", short[:len(short)-4], false},
		{"FuzzParseInvite", "long", code, true},
		{"FuzzParseInvite", "link-code", link, false},
		{"FuzzParseLinkCode", "link", link, true},
		{"FuzzParseLinkCode", "link-hint-lowercase", "parley://" + strings.ToLower(hintedLink[len(InvitePrefix):]), true},
		{"FuzzParseLinkCode", "link-cut", link[:len(link)-3], false},
		{"FuzzParseLinkCode", "short-invite", short, false},
		{"FuzzOpenEnvelope", "group-op", fuzzSealed(t, groupOp, nil), true},
		{"FuzzOpenEnvelope", "group-keys", fuzzSealed(t, groupKeys, nil), true},
		{"FuzzDecodeInvite", "valid", code, true},
		{"FuzzDecodeInvite", "truncated-lowercase", strings.ToLower(code[:len(code)-3]), false},
		{"FuzzParseCard", "valid", card, true},
		{"FuzzParseCard", "no-signature", card[:len(card)-ed25519.SignatureSize-2], false},
		{"FuzzParseCard", "mailboxes", mailboxCard, true},
		{"FuzzDecodeInvite", "mailboxes", EncodeInvite(mailboxCard), true},
		{"FuzzOpenEnvelope", "card-update", fuzzSealed(t, cardUpdate, nil), true},
		{"FuzzOpenEnvelope", "group-mailbox-grant", fuzzSealed(t, groupGrant, nil), true},
		{"FuzzParseEnvelope", "valid", mustMarshal(t, fuzzEnvelope([]byte("x"))), true},
		{"FuzzParseEnvelope", "valid-with-encap", mustMarshal(t, withEncap), true},
		{"FuzzOpenEnvelope", "text-with-card", fuzzSealed(t, textBody(t, "hello"), card), true},
		{"FuzzOpenEnvelope", "receipt", fuzzSealed(t, receipt, nil), true},
		{"FuzzOpenEnvelope", "timer", fuzzSealed(t, timer, nil), true},
		{"FuzzOpenEnvelope", "timer-too-short", fuzzSealed(t, timerTooShort, nil), false},
		{"FuzzOpenEnvelope", "text-expiring", fuzzSealed(t, expiring, nil), true},
	}
}

func corpusFile(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("go test fuzz v1\nstring(%q)\n", v)
	case []byte:
		return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", v)
	}
	panic("unsupported seed type")
}

// TestFuzzCorpus keeps the checked-in seeds current: the valid ones must
// still be accepted, or the fuzzers would start from nothing but noise.
func TestFuzzCorpus(t *testing.T) {
	for _, s := range corpusSeeds(t) {
		path := filepath.Join("testdata", "fuzz", s.fuzzer, s.name)
		want := corpusFile(s.value)
		if *updateCorpus {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s is missing or stale (%v): run go test ./identity/ -run TestFuzzCorpus -args -update-corpus", path, err)
		}

		var err error
		switch s.fuzzer {
		case "FuzzDecodeInvite":
			_, _, err = DecodeInvite(s.value.(string))
		case "FuzzParseInvite":
			_, err = ParseInvite(s.value.(string))
		case "FuzzParseLinkCode":
			_, err = ParseLinkCode(s.value.(string))
		case "FuzzParseCard":
			_, err = ParseCard(s.value.([]byte))
		case "FuzzParseEnvelope":
			_, err = ParseEnvelope(s.value.([]byte))
		case "FuzzOpenEnvelope":
			_, err = OpenEnvelope(fuzzEnvelope(s.value.([]byte)), fixedSendKey())
		case "FuzzParseDeviceList":
			_, err = ParseDeviceList(s.value.([]byte))
		case "FuzzParseKeystore":
			_, err = ParseKeystore(s.value.([]byte), KeystoreOptions{})
		}
		if s.valid != (err == nil) {
			t.Errorf("%s/%s: valid %v, got %v", s.fuzzer, s.name, s.valid, err)
		}
	}
}

func addSeeds(f *testing.F, fuzzer string) {
	for _, s := range corpusSeeds(f) {
		if s.fuzzer == fuzzer {
			f.Add(s.value)
		}
	}
}

func FuzzDecodeInvite(f *testing.F) {
	addSeeds(f, "FuzzDecodeInvite")
	f.Add("")
	f.Add("parley:")
	f.Add("PARLEY:AE")
	f.Add(" parley:aeaqaaa \n")
	f.Fuzz(func(t *testing.T, code string) {
		card, signed, err := DecodeInvite(code)
		if err != nil {
			if !errors.Is(err, parley.ErrInvalidInvite) {
				t.Fatalf("error %v does not wrap ErrInvalidInvite", err)
			}
			return
		}
		again, signed2, err := DecodeInvite(EncodeInvite(signed))
		if err != nil {
			t.Fatalf("re-encoded invite does not decode: %v", err)
		}
		if !cardsEqual(card, again) || !bytes.Equal(signed, signed2) {
			t.Fatalf("re-encoded invite decodes to %+v, want %+v", again, card)
		}
	})
}

// FuzzParseLinkCode: whatever parses is a link code of an Ed25519 peer
// that no invite reader takes, and it re-encodes (when its hint fits) to a
// code that parses the same.
func FuzzParseLinkCode(f *testing.F) {
	addSeeds(f, "FuzzParseLinkCode")
	f.Add("")
	f.Add("parley:")
	f.Add("PARLEY:AM")
	f.Fuzz(func(t *testing.T, code string) {
		lc, err := ParseLinkCode(code)
		if err != nil {
			if !errors.Is(err, parley.ErrInvalidLinkCode) {
				t.Fatalf("error %v does not wrap ErrInvalidLinkCode", err)
			}
			return
		}
		if _, err := ParseInvite(code); err == nil {
			t.Fatalf("%q reads as a link code and as an invite", code)
		}
		key, err := ed25519PublicKey(lc.PeerID)
		if err != nil || len(lc.Secret) != LinkSecretSize {
			t.Fatalf("accepted peer %v (%v), a %d-byte secret", lc.PeerID, err, len(lc.Secret))
		}
		if lc.Hint != nil {
			if _, err := lc.Hint.ValueForProtocol(ma.P_P2P); err == nil {
				t.Fatalf("accepted a hint naming a peer: %v", lc.Hint)
			}
		}
		if !LinkCodeFits(lc.Hint) {
			return
		}
		pub, err := crypto.UnmarshalEd25519PublicKey(key)
		if err != nil {
			t.Fatal(err)
		}
		again, err := EncodeLinkCode(pub, lc.Secret, lc.Hint)
		if err != nil {
			t.Fatal(err)
		}
		lc2, err := ParseLinkCode(again)
		if err != nil || lc2.PeerID != lc.PeerID || !bytes.Equal(lc2.Secret, lc.Secret) || (lc2.Hint == nil) != (lc.Hint == nil) || lc.Hint != nil && !lc2.Hint.Equal(lc.Hint) {
			t.Fatalf("re-encoded %q parses to %+v, %v", again, lc2, err)
		}
	})
}

func FuzzParseCard(f *testing.F) {
	addSeeds(f, "FuzzParseCard")
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, signed []byte) {
		card, err := ParseCard(signed)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) && !errors.Is(err, parley.ErrBadSignature) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if len(card.Name) > MaxCardName || !utf8.ValidString(card.Name) || len(card.Addrs) > MaxCardAddrs || len(card.HPKEKey) != hpkePublicKeySize {
			t.Fatalf("accepted a card over its limits: %+v", card)
		}
		if len(card.Mailboxes) > MaxCardMailboxes {
			t.Fatalf("accepted a card with %d mailboxes", len(card.Mailboxes))
		}
		for _, mb := range card.Mailboxes {
			if len(mb.Addrs) > MaxCardMailboxAddrs || mb.PeerID == card.PeerID {
				t.Fatalf("accepted a card with mailbox %+v", mb)
			}
			if _, err := ed25519PublicKey(mb.PeerID); err != nil {
				t.Fatalf("accepted a mailbox with peer ID %v: %v", mb.PeerID, err)
			}
		}
		if _, err := ed25519PublicKey(card.PeerID); err != nil {
			t.Fatalf("accepted a card with peer ID %v: %v", card.PeerID, err)
		}
		_ = card.Contact()
	})
}

func FuzzParseEnvelope(f *testing.F) {
	addSeeds(f, "FuzzParseEnvelope")
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x20})
	f.Fuzz(func(t *testing.T, encoded []byte) {
		env, err := ParseEnvelope(encoded)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Accepted means canonical: the bytes, and so the ID, are unique.
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
		if err != nil || !bytes.Equal(again, encoded) {
			t.Fatalf("accepted a non-canonical envelope")
		}
		// Opening must fail cleanly, not panic.
		if _, err := OpenEnvelope(env, fixedSendKey()); err != nil && !errors.Is(err, parley.ErrMalformed) && !errors.Is(err, parley.ErrBadSignature) {
			t.Fatalf("OpenEnvelope error %v wraps no sentinel", err)
		}
	})
}

// FuzzOpenEnvelope fuzzes the plaintext inside the ciphertext: the harness
// encrypts it under a fixed key, since fuzzing ciphertext alone would never
// get past the AEAD.
func FuzzOpenEnvelope(f *testing.F) {
	addSeeds(f, "FuzzOpenEnvelope")
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, plain []byte) {
		opened, err := OpenEnvelope(fuzzEnvelope(plain), fixedSendKey())
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) && !errors.Is(err, parley.ErrBadSignature) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if opened.Body == nil || opened.Body.Kind == nil {
			t.Fatal("opened a body of no kind")
		}
		pub, err := ed25519PublicKey(opened.Sender)
		if err != nil {
			t.Fatalf("opened with sender %v: %v", opened.Sender, err)
		}
		var s pb.Sealed
		if err := proto.Unmarshal(plain, &s); err != nil || !ed25519.Verify(pub, SignedPayload(fuzzConv, fixedSendKey().ID, opened.HLC, opened.BodyBytes), s.Signature) {
			t.Fatal("opened an envelope whose signature does not verify")
		}
	})
}

// FuzzParseDeviceList: whatever parses holds to every rule, and its
// signatures verify again along the keys it returned.
func FuzzParseDeviceList(f *testing.F) {
	addSeeds(f, "FuzzParseDeviceList")
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, signed []byte) {
		l, err := ParseDeviceList(signed)
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		checkParsedDeviceList(t, signed, l)
		again, err := ParseDeviceList(signed)
		if err != nil || !devicesEqual(again.Devices, l.Devices) || !slices.Equal(again.Revoked, l.Revoked) {
			t.Fatalf("parsed again: %v", err)
		}
		if err := l.Accepts(l); !errors.Is(err, ErrStaleDeviceList) {
			t.Fatalf("a list accepts itself: %v", err)
		}
	})
}

// checkParsedDeviceList checks a list ParseDeviceList accepted against the
// rules, apart from the code that enforces them.
func checkParsedDeviceList(t *testing.T, signed []byte, l DeviceList) {
	t.Helper()
	if len(signed) > MaxDeviceListSize || l.Seq == 0 || len(l.Devices) == 0 || len(l.Devices) > MaxDevices ||
		len(l.Revoked) > MaxRevokedDevices || len(l.Keys) == 0 || len(l.Keys) > MaxSuccessions+1 {
		t.Fatalf("accepted a list over its limits: %d bytes, seq %d, %d devices, %d revoked, %d keys", len(signed), l.Seq, len(l.Devices), len(l.Revoked), len(l.Keys))
	}
	first, err := ed25519PublicKey(l.Person)
	if err != nil || !first.Equal(l.Keys[0]) {
		t.Fatalf("accepted person %v (%v), key 0 %x", l.Person, err, l.Keys[0])
	}
	ids := make(map[peer.ID]bool)
	for _, d := range l.Devices {
		if _, err := ed25519PublicKey(d.PeerID); err != nil || ids[d.PeerID] {
			t.Fatalf("accepted device %v (%v), or twice", d.PeerID, err)
		}
		ids[d.PeerID] = true
		if checkHPKEKey(d.HPKEKey) != nil || CheckName(d.Name) != nil || (!d.LinkedAt.IsZero() && d.LinkedAt.UnixMilli() <= 0) {
			t.Fatalf("accepted device %+v", d)
		}
	}
	if !ids[l.Author] {
		t.Fatalf("accepted author %v, not a device", l.Author)
	}
	for _, r := range l.Revoked {
		if _, err := ed25519PublicKey(r); err != nil || ids[r] {
			t.Fatalf("accepted revoked %v (%v), or listed", r, err)
		}
		ids[r] = true
	}

	var sl idpb.SignedDeviceList
	var m idpb.DeviceList
	if err := proto.Unmarshal(signed, &sl); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(sl.List, &m); err != nil {
		t.Fatal(err)
	}
	if len(sl.Chain) != len(l.Keys)-1 || m.KeyIndex != uint32(len(sl.Chain)) {
		t.Fatalf("accepted key index %d with %d links and %d keys", m.KeyIndex, len(sl.Chain), len(l.Keys))
	}
	for i, link := range sl.Chain {
		var s idpb.Succession
		if err := proto.Unmarshal(link.Succession, &s); err != nil {
			t.Fatal(err)
		}
		msg := append([]byte("parley/succession/v1\x00"), link.Succession...)
		if s.Index != uint32(i+1) || !bytes.Equal(s.PersonId, []byte(l.Person)) ||
			!ed25519.Verify(l.Keys[i], msg, link.PrevSig) || !ed25519.Verify(l.Keys[i+1], msg, link.NextSig) {
			t.Fatalf("accepted succession %d that does not verify", i+1)
		}
	}
	msg := append([]byte("parley/devices/v1\x00"), sl.List...)
	author, _ := ed25519PublicKey(l.Author)
	if !ed25519.Verify(l.Keys[len(l.Keys)-1], msg, sl.PersonSig) || !ed25519.Verify(author, msg, sl.AuthorSig) {
		t.Fatal("accepted a list whose signatures do not verify")
	}
}

// FuzzParseKeystore: a plaintext keystore that parses holds together (its
// person keys verify, its device list is its person's and lists this
// device), and writing it again loses nothing.
func FuzzParseKeystore(f *testing.F) {
	addSeeds(f, "FuzzParseKeystore")
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := ParseKeystore(data, KeystoreOptions{})
		if err != nil {
			if !errors.Is(err, parley.ErrMalformed) && !errors.Is(err, parley.ErrWrongPassphrase) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		keys, err := RestorePersonKeys(id.Person.Person(), id.Person.Key(), id.Person.Successions())
		if err != nil || keys.Index() != id.Person.Index() {
			t.Fatalf("accepted person keys that do not restore: %v", err)
		}
		l, err := id.Devices()
		if err != nil || l.Person != id.Person.Person() || !slices.ContainsFunc(l.Devices, func(d Device) bool { return d.PeerID == id.PeerID }) {
			t.Fatalf("accepted a device list %+v (%v) without this device or of another person", l, err)
		}
		if CheckName(id.DeviceName) != nil {
			t.Fatalf("accepted device name %q", id.DeviceName)
		}
		again, err := encodeKeystore(id)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseKeystore(again, KeystoreOptions{})
		if err != nil {
			t.Fatalf("written again, it does not parse: %v", err)
		}
		if back.PeerID != id.PeerID || !bytes.Equal(back.StoreKey, id.StoreKey) || back.Person.Person() != id.Person.Person() ||
			!back.Person.Key().Equals(id.Person.Key()) || !slices.EqualFunc(back.Person.Successions(), id.Person.Successions(), bytes.Equal) ||
			!bytes.Equal(back.DeviceList, id.DeviceList) || back.DeviceName != id.DeviceName {
			t.Fatal("written again, it reads back differently")
		}
	})
}
