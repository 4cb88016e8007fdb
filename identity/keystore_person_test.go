package identity

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity/pb"
)

// keystoreFixture holds keystores written before linked devices (the
// release of December 2026), one plain and one sealed, of one identity.
// Never regenerate them: they stand for the files users have.
const keystoreFixture = "testdata/keystore-v1"

type keystoreFacts struct {
	PeerID     string `json:"peer_id"`
	StoreKey   string `json:"store_key"`
	Passphrase string `json:"passphrase"`
}

func readKeystoreFacts(t *testing.T) keystoreFacts {
	t.Helper()
	var f keystoreFacts
	if err := json.Unmarshal(readFile(t, filepath.Join(keystoreFixture, "facts.json")), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// fixtureDir copies one fixture keystore into a fresh data dir.
func fixtureDir(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	// git keeps no file modes but the executable bit; the keystore was 0600.
	if err := os.WriteFile(filepath.Join(dir, KeystoreFile), readFile(t, filepath.Join(keystoreFixture, name)), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestKeystoreFromBeforeLinkedDevices: a keystore written before linked
// devices loads as a person of one device whose person ID is its peer ID,
// with the same store key, and loading it does not rewrite it.
func TestKeystoreFromBeforeLinkedDevices(t *testing.T) {
	facts := readKeystoreFacts(t)
	for _, name := range []string{"plain", "sealed"} {
		t.Run(name, func(t *testing.T) {
			dir := fixtureDir(t, name)
			before := readFile(t, filepath.Join(dir, KeystoreFile))
			opts := plainOpts(new(bytes.Buffer))
			if name == "sealed" {
				opts = sealedOpts(new(bytes.Buffer), facts.Passphrase)
			}
			id, created, err := LoadOrCreate(dir, opts)
			if err != nil || created {
				t.Fatalf("LoadOrCreate = created %v, %v", created, err)
			}
			if id.PeerID.String() != facts.PeerID {
				t.Errorf("peer ID %s, want %s", id.PeerID, facts.PeerID)
			}
			if hex.EncodeToString(id.StoreKey) != facts.StoreKey {
				t.Error("the store key changed")
			}
			if id.Person.Person() != id.PeerID || id.Person.Index() != 0 || !id.Person.Key().Equals(id.Key) || len(id.Person.Successions()) != 0 {
				t.Errorf("person %s at key %d; want the device's own key, %s", id.Person.Person(), id.Person.Index(), id.PeerID)
			}
			if id.DeviceList != nil || id.DeviceName != "" {
				t.Errorf("device list %x, name %q; want none", id.DeviceList, id.DeviceName)
			}
			l, err := id.Devices()
			if err != nil || l.Person != id.PeerID || l.Seq != 0 || len(l.Devices) != 1 || l.Devices[0].PeerID != id.PeerID ||
				!bytes.Equal(l.Devices[0].HPKEKey, id.HPKEPublicKey()) || len(l.Revoked) != 0 {
				t.Errorf("Devices = %+v, %v; want this device alone", l, err)
			}
			if !bytes.Equal(readFile(t, filepath.Join(dir, KeystoreFile)), before) {
				t.Error("loading rewrote the keystore")
			}
		})
	}
}

// TestKeystoreOneDeviceUnchanged: a person of one device writes no person
// fields, so its keystore is what it was before linked devices.
func TestKeystoreOneDeviceUnchanged(t *testing.T) {
	id := fixedIdentity(t, 1)
	b, err := encodeKeystore(id)
	if err != nil {
		t.Fatal(err)
	}
	want := mustMarshal(t, &pb.Keystore{Version: 1, IdentityKey: decodeKS(t, b).IdentityKey, HpkeKey: decodeKS(t, b).HpkeKey, StoreKey: id.StoreKey})
	if !bytes.Equal(b, want) {
		t.Errorf("keystore of one device %x, want the old format %x", b, want)
	}
}

// linkedIdentities are the two devices of newPerson as their keystores
// hold them after linking: the laptop keeps its device key as person key 0
// and both hold person key 1; the phone's person ID is the laptop's peer ID.
func linkedIdentities(t testing.TB) (laptop, phone *Identity) {
	t.Helper()
	p := newPerson(t)
	list := mustSignList(t, p.keys, p.laptop, p.list(2))
	laptop, phone = p.laptop, p.phone
	laptop.Person, laptop.DeviceList, laptop.DeviceName = p.keys, list, "laptop"
	phone.Person, phone.DeviceList, phone.DeviceName = p.keys, list, "phone"
	return laptop, phone
}

func samePerson(t *testing.T, want, got *Identity) {
	t.Helper()
	sameIdentity(t, want, got)
	if got.Person.Person() != want.Person.Person() || got.Person.Index() != want.Person.Index() ||
		!got.Person.Key().Equals(want.Person.Key()) || !slices.EqualFunc(got.Person.Successions(), want.Person.Successions(), bytes.Equal) {
		t.Errorf("person %s at key %d, want %s at key %d", got.Person.Person(), got.Person.Index(), want.Person.Person(), want.Person.Index())
	}
	if !bytes.Equal(got.DeviceList, want.DeviceList) || got.DeviceName != want.DeviceName {
		t.Errorf("device list %d bytes, name %q; want %d bytes, %q", len(got.DeviceList), got.DeviceName, len(want.DeviceList), want.DeviceName)
	}
}

// TestKeystorePersonRoundTrip: the person fields survive a write and a
// load, plain and sealed, and ChangePassphrase keeps them.
func TestKeystorePersonRoundTrip(t *testing.T) {
	laptop, phone := linkedIdentities(t)
	for _, id := range []*Identity{laptop, phone} {
		t.Run(id.DeviceName, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeystoreFile)
			if err := write(path, id, plainOpts(new(bytes.Buffer))); err != nil {
				t.Fatal(err)
			}
			got, _, err := LoadOrCreate(dir, plainOpts(new(bytes.Buffer)))
			if err != nil {
				t.Fatal(err)
			}
			samePerson(t, id, got)

			if err := ChangePassphrase(dir, plainOpts(new(bytes.Buffer)), sealedOpts(new(bytes.Buffer), "pw")); err != nil {
				t.Fatal(err)
			}
			got, _, err = LoadOrCreate(dir, sealedOpts(new(bytes.Buffer), "pw"))
			if err != nil {
				t.Fatal(err)
			}
			samePerson(t, id, got)
			l, err := got.Devices()
			if err != nil || l.Person != laptop.PeerID || len(l.Devices) != 2 || l.Seq != 2 {
				t.Errorf("Devices = %+v, %v; want the signed list of two", l, err)
			}
		})
	}
}

// TestKeystorePersonRefused: a keystore whose person fields do not hold
// together is refused with ErrMalformed, and the file is left as it was.
func TestKeystorePersonRefused(t *testing.T) {
	laptop, phone := linkedIdentities(t)
	good, err := encodeKeystore(phone)
	if err != nil {
		t.Fatal(err)
	}
	// edit decodes the phone's keystore, changes it and encodes it again.
	edit := func(change func(ks *pb.Keystore)) []byte {
		ks := decodeKS(t, good)
		change(ks)
		return mustMarshal(t, ks)
	}
	marshalKey := func(k crypto.PrivKey) []byte {
		b, err := crypto.MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stranger := newPersonOf(t, 7)
	otherList := mustSignList(t, stranger.keys, stranger.laptop, stranger.list(1))
	withoutPhone := mustSignList(t, mustPersonKeys(t, laptop.Key), laptop, DeviceList{Seq: 1, Devices: []Device{testDevice(laptop, "laptop")}})

	tests := []struct {
		name string
		data []byte
	}{
		{"succession signature", edit(func(ks *pb.Keystore) {
			var s pb.SignedSuccession
			if err := proto.Unmarshal(ks.Successions[0], &s); err != nil {
				t.Fatal(err)
			}
			s.NextSig[0] ^= 1
			ks.Successions[0] = mustMarshal(t, &s)
		})},
		{"succession cut", edit(func(ks *pb.Keystore) { ks.Successions[0] = ks.Successions[0][:10] })},
		{"succession missing", edit(func(ks *pb.Keystore) { ks.Successions = nil })},
		{"person key not the chain's last", edit(func(ks *pb.Keystore) { ks.PersonKey = marshalKey(laptop.Key) })},
		{"person key missing", edit(func(ks *pb.Keystore) { ks.PersonKey = nil })},
		{"person key damaged", edit(func(ks *pb.Keystore) { ks.PersonKey = []byte{8, 1, 0x12, 3, 1, 2, 3} })},
		{"person ID not a peer ID", edit(func(ks *pb.Keystore) { ks.PersonId = []byte("someone") })},
		{"another person's ID", edit(func(ks *pb.Keystore) { ks.PersonId = []byte(stranger.laptop.PeerID) })},
		{"device list damaged", edit(func(ks *pb.Keystore) { ks.DeviceList = ks.DeviceList[:len(ks.DeviceList)-3] })},
		{"another person's device list", edit(func(ks *pb.Keystore) { ks.DeviceList = otherList })},
		{"device list without this device", edit(func(ks *pb.Keystore) { ks.DeviceList = withoutPhone })},
		{"device name invisible", edit(func(ks *pb.Keystore) { ks.DeviceName = "pho\u200bne" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeystoreFile)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := LoadOrCreate(dir, plainOpts(new(bytes.Buffer))); !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("LoadOrCreate = %v, want ErrMalformed", err)
			}
			if _, err := ParseKeystore(tt.data, KeystoreOptions{}); !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("ParseKeystore = %v, want ErrMalformed", err)
			}
			if !bytes.Equal(readFile(t, path), tt.data) {
				t.Error("a failed load changed the keystore")
			}
		})
	}

	// The laptop holding a list signed by person key 0 beside person key
	// 1, as between a rotation and the list it signs next, loads.
	lp, err := encodeKeystore(laptop)
	if err != nil {
		t.Fatal(err)
	}
	ks := decodeKS(t, lp)
	ks.DeviceList = withoutPhone
	if _, err := ParseKeystore(mustMarshal(t, ks), KeystoreOptions{}); err != nil {
		t.Errorf("a list signed by an earlier key of the chain held: %v", err)
	}
}

// newPersonOf is a person of one device, identity n, with a successor key
// (as after linking), to stand for someone else.
func newPersonOf(t testing.TB, n byte) person {
	t.Helper()
	p := person{laptop: fixedIdentity(t, n), phone: fixedIdentity(t, n+1)}
	p.keys0 = mustPersonKeys(t, p.laptop.Key)
	var err error
	if p.keys, err = p.keys0.succeed(fixedKey(t, 100+n)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKeystoreNamesDevice: LoadOrCreate writes opts.DeviceName into a new
// keystore and into one from before device names, plain or sealed; a
// keystore that has a name keeps it; a name CheckName refuses is an error
// that changes nothing.
func TestKeystoreNamesDevice(t *testing.T) {
	facts := readKeystoreFacts(t)
	for _, name := range []string{"plain", "sealed"} {
		t.Run(name, func(t *testing.T) {
			opts := plainOpts(new(bytes.Buffer))
			if name == "sealed" {
				opts = sealedOpts(new(bytes.Buffer), facts.Passphrase)
			}
			named := opts
			named.DeviceName = "laptop 💻"

			fresh := t.TempDir()
			id, created, err := LoadOrCreate(fresh, named)
			if err != nil || !created || id.DeviceName != "laptop 💻" {
				t.Fatalf("LoadOrCreate in an empty dir = %q, created %v, %v", id.DeviceName, created, err)
			}
			if again, _, err := LoadOrCreate(fresh, opts); err != nil || again.DeviceName != "laptop 💻" {
				t.Fatalf("a new keystore's name read back as %q, %v", again.DeviceName, err)
			}

			old := fixtureDir(t, name)
			path := filepath.Join(old, KeystoreFile)
			before := readFile(t, path)
			bad := opts
			bad.DeviceName = "lap\ntop"
			if _, _, err := LoadOrCreate(old, bad); !errors.Is(err, parley.ErrMalformed) {
				t.Errorf("a name CheckName refuses: %v", err)
			}
			if !bytes.Equal(readFile(t, path), before) {
				t.Error("a refused name changed the keystore")
			}
			if id, _, err = LoadOrCreate(old, named); err != nil || id.DeviceName != "laptop 💻" || id.PeerID.String() != facts.PeerID {
				t.Fatalf("the old keystore named: %s %q, %v", id.PeerID, id.DeviceName, err)
			}
			other := opts
			other.DeviceName = "phone"
			again, _, err := LoadOrCreate(old, other)
			if err != nil || again.DeviceName != "laptop 💻" {
				t.Fatalf("a named keystore read as %q, %v; want the name it has", again.DeviceName, err)
			}
			sameIdentity(t, id, again)
			if sealed, err := Sealed(old); err != nil || sealed != (name == "sealed") {
				t.Errorf("sealed %v, %v after naming", sealed, err)
			}
			onlyKeystore(t, old)
		})
	}
}
