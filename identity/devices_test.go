package identity

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

// fixedKey is a deterministic Ed25519 key: chains built from it are the
// same on every run (fuzz seeds).
func fixedKey(t testing.TB, n byte) crypto.PrivKey {
	t.Helper()
	sk, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

var testLinkedAt = time.UnixMilli(1_700_000_000_000)

func testDevice(id *Identity, name string) Device {
	return Device{PeerID: id.PeerID, HPKEKey: id.HPKEPublicKey(), Name: name, LinkedAt: testLinkedAt}
}

// person is a person of two devices, as linking leaves it: the laptop's key
// is person key 0; linking the phone made person key 1 (keys).
type person struct {
	laptop, phone *Identity
	keys0, keys   *PersonKeys
}

func newPerson(t testing.TB) person {
	t.Helper()
	p := person{laptop: fixedIdentity(t, 1), phone: fixedIdentity(t, 2)}
	var err error
	if p.keys0, err = NewPersonKeys(p.laptop.Key); err != nil {
		t.Fatal(err)
	}
	if p.keys, err = p.keys0.succeed(fixedKey(t, 101)); err != nil {
		t.Fatal(err)
	}
	return p
}

// list is the person's list of both devices, written by the laptop.
func (p person) list(seq uint64) DeviceList {
	return DeviceList{Seq: seq, Devices: []Device{testDevice(p.laptop, "laptop"), testDevice(p.phone, "phone")}}
}

func mustSignList(t testing.TB, keys *PersonKeys, author *Identity, l DeviceList) []byte {
	t.Helper()
	signed, err := SignDeviceList(keys, author.Key, l)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func mustParseList(t testing.TB, signed []byte) DeviceList {
	t.Helper()
	l, err := ParseDeviceList(signed)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// rawLink is a succession as a forger would make it: any index, any keys,
// signed by whoever.
func rawLink(t testing.TB, person peer.ID, index uint32, prev, next, prevSigner, nextSigner crypto.PrivKey) *pb.SignedSuccession {
	t.Helper()
	raw := func(k crypto.PrivKey) []byte {
		b, err := k.GetPublic().Raw()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	s := mustMarshal(t, &pb.Succession{PersonId: []byte(person), Index: index, PrevKey: raw(prev), NextKey: raw(next)})
	sign := func(k crypto.PrivKey) []byte {
		sig, err := k.Sign(successionSignedBytes(s))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	return &pb.SignedSuccession{Succession: s, PrevSig: sign(prevSigner), NextSig: sign(nextSigner)}
}

// signListRaw signs a hand-built list as a forger would: any chain, any
// person key, any author key.
func signListRaw(t testing.TB, m *pb.DeviceList, chain []*pb.SignedSuccession, personKey, authorKey crypto.PrivKey) []byte {
	t.Helper()
	list := mustMarshal(t, m)
	sign := func(k crypto.PrivKey) []byte {
		sig, err := k.Sign(deviceListSignedBytes(list))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	return mustMarshal(t, &pb.SignedDeviceList{List: list, Chain: chain, PersonSig: sign(personKey), AuthorSig: sign(authorKey)})
}

func pbDevice(id *Identity, name string) *pb.Device {
	return &pb.Device{PeerId: []byte(id.PeerID), HpkeKey: id.HPKEPublicKey(), Name: name, LinkedAtMs: testLinkedAt.UnixMilli()}
}

func devicesEqual(a, b []Device) bool {
	return slices.EqualFunc(a, b, func(x, y Device) bool {
		return x.PeerID == y.PeerID && bytes.Equal(x.HPKEKey, y.HPKEKey) && x.Name == y.Name && x.LinkedAt.Equal(y.LinkedAt)
	})
}

func pubKey(t testing.TB, k crypto.PrivKey) ed25519.PublicKey {
	t.Helper()
	raw, err := k.GetPublic().Raw()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestDeviceListRoundTrip(t *testing.T) {
	p := newPerson(t)
	gone := fixedIdentity(t, 3).PeerID
	want := p.list(2)
	want.Revoked = []peer.ID{gone}
	want.Devices[1].LinkedAt = time.Time{} // unknown: travels as 0
	got := mustParseList(t, mustSignList(t, p.keys, p.phone, want))

	if got.Person != p.laptop.PeerID || got.Seq != 2 || got.Author != p.phone.PeerID {
		t.Errorf("person %s seq %d author %s", got.Person, got.Seq, got.Author)
	}
	if !devicesEqual(got.Devices, want.Devices) {
		t.Errorf("devices = %+v, want %+v", got.Devices, want.Devices)
	}
	if !slices.Equal(got.Revoked, want.Revoked) {
		t.Errorf("revoked = %v, want %v", got.Revoked, want.Revoked)
	}
	if len(got.Keys) != 2 || !got.Keys[0].Equal(pubKey(t, p.laptop.Key)) || !got.Keys[1].Equal(pubKey(t, p.keys.Key())) {
		t.Errorf("keys = %x", got.Keys)
	}

	// A person of one device may sign a list with its first key, its own
	// device key.
	one := mustParseList(t, mustSignList(t, p.keys0, p.laptop, DeviceList{Seq: 1, Devices: []Device{testDevice(p.laptop, "")}}))
	if one.Person != p.laptop.PeerID || len(one.Keys) != 1 || one.Author != p.laptop.PeerID {
		t.Errorf("one-device list: %+v", one)
	}
}

func TestSuccessionRotate(t *testing.T) {
	laptop := mustGenerate(t)
	keys0, err := NewPersonKeys(laptop.Key)
	if err != nil {
		t.Fatal(err)
	}
	keys1, err := keys0.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	keys2, err := keys1.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if keys0.Index() != 0 || keys1.Index() != 1 || keys2.Index() != 2 {
		t.Fatalf("indexes %d %d %d: Rotate must leave its receiver as it was", keys0.Index(), keys1.Index(), keys2.Index())
	}
	if keys2.Person() != laptop.PeerID || keys2.Key().Equals(keys1.Key()) || keys1.Key().Equals(laptop.Key) {
		t.Fatal("rotation kept the person ID or reused a key")
	}

	// Signing with the newest key: the chain leads a contact to it.
	l := mustParseList(t, mustSignList(t, keys2, laptop, DeviceList{Seq: 1, Devices: []Device{testDevice(laptop, "laptop")}}))
	if len(l.Keys) != 3 || !l.Keys[2].Equal(pubKey(t, keys2.Key())) || !l.Keys[1].Equal(pubKey(t, keys1.Key())) {
		t.Fatalf("chain of the list: %x", l.Keys)
	}

	// What the keystore or linking will carry restores the same keys.
	back, err := RestorePersonKeys(keys2.Person(), keys2.Key(), keys2.Successions())
	if err != nil {
		t.Fatal(err)
	}
	if back.Index() != 2 || back.Person() != laptop.PeerID {
		t.Fatalf("restored index %d person %s", back.Index(), back.Person())
	}
	if _, err := RestorePersonKeys(keys2.Person(), keys1.Key(), keys2.Successions()); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("restored with an older key: %v", err)
	}
	if _, err := RestorePersonKeys(mustGenerate(t).PeerID, keys2.Key(), keys2.Successions()); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("restored for another person: %v", err)
	}
	bad := keys2.Successions()
	bad[1] = bytes.Clone(bad[1])
	bad[1][len(bad[1])-1] ^= 1 // the last byte of next_sig
	if _, err := RestorePersonKeys(keys2.Person(), keys2.Key(), bad); !errors.Is(err, parley.ErrBadSignature) {
		t.Errorf("restored a chain with a bad signature: %v", err)
	}
}

func TestSuccessionRefuses(t *testing.T) {
	p := newPerson(t)
	if _, err := p.keys.succeed(p.laptop.Key); err == nil {
		t.Error("a succession back to a key already in the chain was made")
	}
	if _, err := NewPersonKeys(nil); err == nil {
		t.Error("NewPersonKeys(nil) succeeded")
	}
	k := p.keys0
	for range MaxSuccessions {
		var err error
		if k, err = k.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := k.Rotate(); err == nil {
		t.Errorf("rotated past %d successions", MaxSuccessions)
	}
}

// After a rotation the old person key signs nothing a contact takes: with
// the chain, the list must be signed by the key the chain reaches; without
// it, the list parses (it is as valid as it was before the rotation) but a
// contact who has seen the new key refuses it.
func TestDeviceListOldKeyAfterRotation(t *testing.T) {
	p := newPerson(t)
	known := mustParseList(t, mustSignList(t, p.keys, p.laptop, p.list(2)))
	m := &pb.DeviceList{
		PersonId: []byte(p.laptop.PeerID), KeyIndex: 1, Seq: 3, Author: []byte(p.laptop.PeerID),
		Devices: []*pb.Device{pbDevice(p.laptop, "laptop"), pbDevice(p.phone, "phone")},
	}
	chain := p.keys.chain

	signed := signListRaw(t, m, chain, p.laptop.Key, p.laptop.Key)
	if _, err := ParseDeviceList(signed); !errors.Is(err, parley.ErrBadSignature) || !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("key 1 named, key 0 signed: %v", err)
	}
	m.KeyIndex = 0
	if _, err := ParseDeviceList(signListRaw(t, m, chain, p.laptop.Key, p.laptop.Key)); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("key 0 named with a chain that reaches key 1: %v", err)
	}
	stale := mustParseList(t, signListRaw(t, m, nil, p.laptop.Key, p.laptop.Key))
	if err := known.Accepts(stale); err == nil || errors.Is(err, ErrDeviceFork) {
		t.Errorf("a list by the succeeded key 0, seq 3 over 2: Accepts = %v, want a refusal that is not a fork", err)
	}
}

func TestDeviceListRefused(t *testing.T) {
	p := newPerson(t)
	other := fixedIdentity(t, 3)
	key2 := fixedKey(t, 102)
	base := func() *pb.DeviceList {
		return &pb.DeviceList{
			PersonId: []byte(p.laptop.PeerID), KeyIndex: 1, Seq: 2, Author: []byte(p.laptop.PeerID),
			Devices: []*pb.Device{pbDevice(p.laptop, "laptop"), pbDevice(p.phone, "phone")},
		}
	}
	person := p.laptop.PeerID
	link1 := p.keys.chain[0]
	link2 := rawLink(t, person, 2, p.keys.Key(), key2, p.keys.Key(), key2)

	tests := []struct {
		name     string
		edit     func(m *pb.DeviceList)
		chain    []*pb.SignedSuccession
		personBy crypto.PrivKey // nil: the person key at the chain's end
		authorBy crypto.PrivKey // nil: the laptop's
		badSig   bool           // also wraps ErrBadSignature
	}{
		{name: "forged person_sig", personBy: other.Key, badSig: true},
		{name: "person_sig by the author", personBy: p.laptop.Key, badSig: true},
		{name: "forged author_sig", authorBy: other.Key, badSig: true},
		{name: "author_sig by the person key", authorBy: p.keys.Key(), badSig: true},
		{name: "author not listed", edit: func(m *pb.DeviceList) { m.Author = []byte(other.PeerID) }, authorBy: other.Key},
		{name: "no author", edit: func(m *pb.DeviceList) { m.Author = nil }},
		{name: "duplicate devices", edit: func(m *pb.DeviceList) { m.Devices = append(m.Devices, pbDevice(p.phone, "again")) }},
		{name: "device also revoked", edit: func(m *pb.DeviceList) { m.Revoked = [][]byte{[]byte(p.phone.PeerID)} }},
		{name: "revoked twice", edit: func(m *pb.DeviceList) { m.Revoked = [][]byte{[]byte(other.PeerID), []byte(other.PeerID)} }},
		{name: "revoked not a peer ID", edit: func(m *pb.DeviceList) { m.Revoked = [][]byte{{1, 2, 3}} }},
		{name: "too many devices", edit: func(m *pb.DeviceList) {
			for n := byte(10); len(m.Devices) <= MaxDevices; n++ {
				m.Devices = append(m.Devices, pbDevice(fixedIdentity(t, n), ""))
			}
		}},
		{name: "no devices", edit: func(m *pb.DeviceList) { m.Devices, m.Author = nil, nil }},
		{name: "bad HPKE key", edit: func(m *pb.DeviceList) { m.Devices[1].HpkeKey = m.Devices[1].HpkeKey[1:] }},
		{name: "long device name", edit: func(m *pb.DeviceList) { m.Devices[1].Name = strings.Repeat("x", MaxCardName+1) }},
		{name: "linked before 1970", edit: func(m *pb.DeviceList) { m.Devices[1].LinkedAtMs = -1 }},
		{name: "seq 0", edit: func(m *pb.DeviceList) { m.Seq = 0 }},
		{name: "person not a peer ID", edit: func(m *pb.DeviceList) { m.PersonId = []byte("alice") }},
		{name: "key index past the chain", edit: func(m *pb.DeviceList) { m.KeyIndex = 2 }},
		{name: "chain out of order", edit: func(m *pb.DeviceList) { m.KeyIndex = 2 }, chain: []*pb.SignedSuccession{link2, link1}, personBy: key2},
		{name: "chain skips an index", edit: func(m *pb.DeviceList) { m.KeyIndex = 1 },
			chain: []*pb.SignedSuccession{rawLink(t, person, 2, p.laptop.Key, key2, p.laptop.Key, key2)}, personBy: key2},
		{name: "chain link with prev_sig wrong", edit: func(m *pb.DeviceList) { m.KeyIndex = 2 },
			chain: []*pb.SignedSuccession{link1, rawLink(t, person, 2, p.keys.Key(), key2, other.Key, key2)}, personBy: key2, badSig: true},
		{name: "chain link with next_sig wrong", edit: func(m *pb.DeviceList) { m.KeyIndex = 2 },
			chain: []*pb.SignedSuccession{link1, rawLink(t, person, 2, p.keys.Key(), key2, p.keys.Key(), other.Key)}, personBy: key2, badSig: true},
		{name: "chain link from a key not reached", edit: func(m *pb.DeviceList) { m.KeyIndex = 2 },
			chain: []*pb.SignedSuccession{link1, rawLink(t, person, 2, other.Key, key2, other.Key, key2)}, personBy: key2},
		{name: "chain link for another person", edit: func(m *pb.DeviceList) { m.KeyIndex = 2 },
			chain: []*pb.SignedSuccession{link1, rawLink(t, other.PeerID, 2, p.keys.Key(), key2, p.keys.Key(), key2)}, personBy: key2},
		{name: "chain back to key 0", edit: func(m *pb.DeviceList) { m.KeyIndex = 2 },
			chain: []*pb.SignedSuccession{link1, rawLink(t, person, 2, p.keys.Key(), p.laptop.Key, p.keys.Key(), p.laptop.Key)}, personBy: p.laptop.Key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			chain := []*pb.SignedSuccession{link1}
			personBy, authorBy := p.keys.Key(), p.laptop.Key
			if tt.edit != nil {
				tt.edit(m)
			}
			if tt.chain != nil {
				chain = tt.chain
			}
			if tt.personBy != nil {
				personBy = tt.personBy
			}
			if tt.authorBy != nil {
				authorBy = tt.authorBy
			}
			_, err := ParseDeviceList(signListRaw(t, m, chain, personBy, authorBy))
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("ParseDeviceList = %v, want ErrMalformed", err)
			}
			if tt.badSig != errors.Is(err, parley.ErrBadSignature) {
				t.Errorf("ParseDeviceList = %v: wraps ErrBadSignature %v, want %v", err, !tt.badSig, tt.badSig)
			}
		})
	}

	// Limits on the encoded size and on the chain's length come before
	// anything is verified.
	if _, err := ParseDeviceList(make([]byte, MaxDeviceListSize+1)); !errors.Is(err, parley.ErrMalformed) {
		t.Errorf("a list over %d bytes: %v", MaxDeviceListSize, err)
	}
	long := slices.Repeat([]*pb.SignedSuccession{link1}, MaxSuccessions+1)
	m := base()
	m.KeyIndex = uint32(len(long))
	if _, err := ParseDeviceList(signListRaw(t, m, long, p.keys.Key(), p.laptop.Key)); !errors.Is(err, parley.ErrMalformed) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("a chain of %d links: %v", len(long), err)
	}
}

func TestSignDeviceListRefuses(t *testing.T) {
	p := newPerson(t)
	other := fixedIdentity(t, 3)
	tooMany := p.list(1)
	for n := byte(10); len(tooMany.Devices) <= MaxDevices; n++ {
		tooMany.Devices = append(tooMany.Devices, testDevice(fixedIdentity(t, n), ""))
	}
	withName := func(name string) DeviceList {
		l := p.list(1)
		l.Devices[1].Name = name
		return l
	}
	tests := []struct {
		name   string
		author *Identity
		list   DeviceList
	}{
		{"another person", p.laptop, DeviceList{Person: other.PeerID, Seq: 1, Devices: p.list(1).Devices}},
		{"another author", p.laptop, DeviceList{Author: p.phone.PeerID, Seq: 1, Devices: p.list(1).Devices}},
		{"author not listed", other, p.list(1)},
		{"newline in a name", p.laptop, withName("pho\nne")},
		{"too many devices", p.laptop, tooMany},
		{"seq 0", p.laptop, p.list(0)},
	}
	for _, tt := range tests {
		if _, err := SignDeviceList(p.keys, tt.author.Key, tt.list); err == nil {
			t.Errorf("%s: SignDeviceList accepted it", tt.name)
		}
	}
}

// A device name that CheckName refuses is shown as the device's short peer
// ID, as a card's name is.
func TestDeviceListUnfitName(t *testing.T) {
	p := newPerson(t)
	m := &pb.DeviceList{
		PersonId: []byte(p.laptop.PeerID), KeyIndex: 1, Seq: 2, Author: []byte(p.laptop.PeerID),
		Devices: []*pb.Device{pbDevice(p.laptop, "laptop"), pbDevice(p.phone, "pho\u202ene")},
	}
	l := mustParseList(t, signListRaw(t, m, p.keys.chain, p.keys.Key(), p.laptop.Key))
	if got := l.Devices[1].Name; got != ShortPeerID(p.phone.PeerID) {
		t.Errorf("name shown as %q", got)
	}
}

// A full list fits MaxDeviceListSize: eight devices with 64-byte names,
// a chain of 16 successions (the first link, then 15 revocations, each with
// its revoked device). Each further revocation adds about 290 bytes; the
// log says how many more would fit.
func TestDeviceListLargestFits(t *testing.T) {
	p := newPerson(t)
	l := DeviceList{Seq: 1}
	for n := byte(1); len(l.Devices) < MaxDevices; n++ {
		l.Devices = append(l.Devices, testDevice(fixedIdentity(t, n), strings.Repeat("n", MaxCardName)))
	}
	revoke := func(keys *PersonKeys, n byte) *PersonKeys {
		t.Helper()
		next, err := keys.succeed(fixedKey(t, 150+n))
		if err != nil {
			t.Fatal(err)
		}
		l.Revoked = append(l.Revoked, fixedIdentity(t, 200+n).PeerID)
		return next
	}
	keys := p.keys
	n := byte(0)
	for ; keys.Index() < 16; n++ {
		keys = revoke(keys, n)
	}
	signed := mustSignList(t, keys, p.laptop, l)
	size := len(signed)
	for ; ; n++ {
		keys = revoke(keys, n)
		if _, err := SignDeviceList(keys, p.laptop.Key, l); err != nil {
			break
		}
	}
	t.Logf("8 devices, 16 successions, 15 revoked: %d bytes; up to %d successions fit", size, keys.Index()-1)
}

func TestDeviceListAccepts(t *testing.T) {
	p := newPerson(t)
	thief := p.phone // it held person key 1 and keeps its device key
	newcomer := fixedIdentity(t, 4)
	key2, key2Forked := fixedKey(t, 102), fixedKey(t, 103)

	// The laptop revokes the phone: a new person key, then the list.
	keys2, err := p.keys.succeed(key2)
	if err != nil {
		t.Fatal(err)
	}
	before := mustParseList(t, mustSignList(t, p.keys, p.laptop, p.list(2)))
	revoking := mustParseList(t, mustSignList(t, keys2, p.laptop, DeviceList{
		Seq: 3, Devices: []Device{testDevice(p.laptop, "laptop")}, Revoked: []peer.ID{p.phone.PeerID},
	}))

	// The phone, stolen, makes its own successor of person key 1.
	forkKeys, err := p.keys.succeed(key2Forked)
	if err != nil {
		t.Fatal(err)
	}
	forked := mustParseList(t, mustSignList(t, forkKeys, thief, DeviceList{
		Seq: 4, Devices: []Device{testDevice(thief, "phone"), testDevice(newcomer, "mallory")},
	}))

	// Everything a revocation promises, and a list that drops it.
	unrevoke := mustParseList(t, mustSignList(t, keys2, p.laptop, p.list(4)))
	// A list that revokes the phone without a new person key (the design
	// rotates on every revocation, but the format cannot tell), and the
	// phone's answer, signed with the person key it still holds.
	revokingInPlace := mustParseList(t, mustSignList(t, p.keys, p.laptop, DeviceList{
		Seq: 3, Devices: []Device{testDevice(p.laptop, "laptop")}, Revoked: []peer.ID{p.phone.PeerID},
	}))
	byRevoked := mustParseList(t, mustSignList(t, p.keys, thief, p.list(4)))

	implicit := DeviceList{Person: p.laptop.PeerID, Devices: []Device{{PeerID: p.laptop.PeerID}}}
	higher := mustParseList(t, mustSignList(t, keys2, p.laptop, DeviceList{
		Seq: 9, Devices: []Device{testDevice(p.laptop, "laptop"), testDevice(newcomer, "tablet")}, Revoked: []peer.ID{p.phone.PeerID},
	}))
	stranger := mustParseList(t, mustSignList(t, mustPersonKeys(t, newcomer.Key), newcomer, DeviceList{Seq: 5, Devices: []Device{testDevice(newcomer, "")}}))

	tests := []struct {
		name        string
		known, next DeviceList
		ok          bool
		wantErr     error
	}{
		{"first list over the implicit one", implicit, before, true, nil},
		{"higher seq, chain extended, revocation", before, revoking, true, nil},
		{"higher seq, same chain", revoking, higher, true, nil},
		{"same seq", revoking, revoking, false, ErrStaleDeviceList},
		{"lower seq", revoking, before, false, ErrStaleDeviceList},
		{"another person", revoking, stranger, false, nil},
		{"fork", revoking, forked, false, ErrDeviceFork},
		{"fork, seen the other way round", forked, higher, false, ErrDeviceFork},
		{"un-revoking", revoking, unrevoke, false, nil},
		{"written by a revoked device", revokingInPlace, byRevoked, false, nil},
		// A contact that missed the revocation cannot tell: it takes the
		// thief's list, and will see the fork when the revocation comes.
		{"fork unseen", before, forked, true, nil},
	}
	for _, tt := range tests {
		err := tt.known.Accepts(tt.next)
		if tt.ok != (err == nil) {
			t.Errorf("%s: Accepts = %v, want ok %v", tt.name, err, tt.ok)
			continue
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Accepts = %v, want %v", tt.name, err, tt.wantErr)
		}
		if !tt.ok && tt.wantErr == nil && (errors.Is(err, ErrDeviceFork) || errors.Is(err, ErrStaleDeviceList)) {
			t.Errorf("%s: Accepts = %v, a refusal of another kind", tt.name, err)
		}
	}
}

func mustPersonKeys(t testing.TB, k crypto.PrivKey) *PersonKeys {
	t.Helper()
	keys, err := NewPersonKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
