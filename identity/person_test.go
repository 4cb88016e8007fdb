package identity

import (
	"bytes"
	"errors"
	"testing"

	"github.com/parley-im/parley"
)

// TestWithPersonLinks: the two keystore changes of a link. The existing
// device takes its rotated keys with no list, then the list of both; the
// new device adopts the person with that list. Each is written and loads
// back as the same person, plain and sealed.
func TestWithPersonLinks(t *testing.T) {
	p := newPerson(t)
	list := mustSignList(t, p.keys, p.laptop, p.list(1))
	rotated, err := p.laptop.WithPerson(p.keys, nil)
	if err != nil {
		t.Fatalf("existing device, rotated keys: %v", err)
	}
	laptop, err := rotated.WithPerson(p.keys, list)
	if err != nil {
		t.Fatalf("existing device, the new list: %v", err)
	}
	phone, err := p.phone.WithPerson(p.keys, list)
	if err != nil {
		t.Fatalf("new device: %v", err)
	}
	if p.phone.Person.Person() != p.phone.PeerID || p.phone.DeviceList != nil {
		t.Error("WithPerson changed the identity it was called on")
	}
	for _, tt := range []struct {
		name string
		id   *Identity
		opts KeystoreOptions
	}{
		{"rotated plain", rotated, plainOpts(new(bytes.Buffer))},
		{"laptop sealed", laptop, sealedOpts(new(bytes.Buffer), "pw")},
		{"phone plain", phone, plainOpts(new(bytes.Buffer))},
		{"phone sealed", phone, sealedOpts(new(bytes.Buffer), "pw")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteKeystore(dir, tt.id, tt.opts); err != nil {
				t.Fatal(err)
			}
			got, created, err := LoadOrCreate(dir, tt.opts)
			if err != nil || created {
				t.Fatalf("LoadOrCreate = created %v, %v", created, err)
			}
			samePerson(t, tt.id, got)
			l, err := got.Devices()
			if err != nil || l.Person != p.laptop.PeerID {
				t.Errorf("Devices = %+v, %v; want person %s", l, err, p.laptop.PeerID)
			}
		})
	}
}

// TestWithPersonRefuses: keys and lists a device must not take, each
// refused with ErrMalformed.
func TestWithPersonRefuses(t *testing.T) {
	p := newPerson(t)
	stranger := newPersonOf(t, 7)
	list := mustSignList(t, p.keys, p.laptop, p.list(1))
	wrongKey := p.list(1)
	wrongKey.Devices[1].HPKEKey = stranger.phone.HPKEPublicKey()
	tests := []struct {
		name string
		id   *Identity
		keys *PersonKeys
		list []byte
	}{
		{"another person with no list", p.phone, p.keys, nil},
		{"list damaged", p.phone, p.keys, list[:len(list)-2]},
		{"list without this device", stranger.phone, p.keys, list},
		{"another person's list", p.phone, stranger.keys, list},
		{"list along another chain", p.phone, p.keys0, list},
		{"another HPKE key for this device", p.phone, p.keys, mustSignList(t, p.keys, p.laptop, wrongKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.id.WithPerson(tt.keys, tt.list); !errors.Is(err, parley.ErrMalformed) {
				t.Errorf("WithPerson = %v, want ErrMalformed", err)
			}
		})
	}
}
