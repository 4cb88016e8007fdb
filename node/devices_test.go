package node_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/identity/pb"
	"github.com/parley-im/parley/internal/parleytest"
)

// TestDevicesOfOne: a node that has linked nothing is a person of one
// device, itself, named after its machine; the name is kept in the
// keystore and survives a restart.
func TestDevicesOfOne(t *testing.T) {
	n := parleytest.StartNode(t, "alice")
	devices, err := n.Messenger().Devices(t.Context())
	if err != nil || len(devices) != 1 {
		t.Fatalf("Devices = %+v, %v; want this node alone", devices, err)
	}
	d := devices[0]
	if d.PeerID != n.PeerID() || !d.This || d.Revoked || d.Name == "" || identity.CheckName(d.Name) != nil {
		t.Errorf("device %+v, want this node (%s), named", d, n.PeerID())
	}
	n.Stop()
	id, _, err := identity.LoadOrCreate(n.Dir, identity.KeystoreOptions{})
	if err != nil || id.DeviceName != d.Name {
		t.Fatalf("the keystore names the device %q (%v), want %q", id.DeviceName, err, d.Name)
	}
	n.Start()
	if again, err := n.Messenger().Devices(t.Context()); err != nil || !slices.Equal(again, devices) {
		t.Errorf("after a restart, Devices = %+v, %v; want %+v", again, err, devices)
	}
}

// TestDevicesFromList: a node whose keystore holds a signed device list
// (as linking will leave it) lists the list's devices, marks its own, and
// shows the revoked ones.
func TestDevicesFromList(t *testing.T) {
	n := parleytest.StartNode(t, "alice")
	n.Stop()
	id, _, err := identity.LoadOrCreate(n.Dir, identity.KeystoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := id.Person.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	phone, gone := mustGenerate(t), mustGenerate(t)
	linked := time.UnixMilli(1_790_000_000_000).UTC()
	signed, err := identity.SignDeviceList(keys, id.Key, identity.DeviceList{
		Seq: 3,
		Devices: []identity.Device{
			{PeerID: id.PeerID, HPKEKey: id.HPKEPublicKey(), Name: "old name"},
			{PeerID: phone.PeerID, HPKEKey: phone.HPKEPublicKey(), Name: "phone", LinkedAt: linked},
		},
		Revoked: []peer.ID{gone.PeerID},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The keystore as linking will write it: the person key and chain
	// beside the device key, and the list.
	path := filepath.Join(n.Dir, identity.KeystoreFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ks pb.Keystore
	if err := proto.Unmarshal(raw, &ks); err != nil {
		t.Fatal(err)
	}
	if ks.PersonKey, err = crypto.MarshalPrivateKey(keys.Key()); err != nil {
		t.Fatal(err)
	}
	ks.Successions, ks.DeviceList = keys.Successions(), signed
	if raw, err = proto.Marshal(&ks); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	n.Start()
	devices, err := n.Messenger().Devices(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []parley.Device{
		{PeerID: id.PeerID.String(), Name: id.DeviceName, This: true},
		{PeerID: phone.PeerID.String(), Name: "phone", LinkedAt: linked},
		{PeerID: gone.PeerID.String(), Revoked: true},
	}
	if len(devices) != len(want) {
		t.Fatalf("Devices = %+v, want %+v", devices, want)
	}
	for i := range want {
		if got := devices[i]; got.PeerID != want[i].PeerID || got.Name != want[i].Name || got.This != want[i].This ||
			!got.LinkedAt.Equal(want[i].LinkedAt) || got.Revoked != want[i].Revoked {
			t.Errorf("device %d: %+v, want %+v", i, got, want[i])
		}
	}
}

func mustGenerate(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
