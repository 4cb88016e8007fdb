package identity

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/parley-im/parley"
)

// WithPerson returns a copy of id that is a device of the person keys hold,
// with list (an encoded SignedDeviceList) as the person's device list; id
// itself is unchanged. It is how linking changes a keystore (PROTOCOL.md
// §11.6): the new device adopts the person its existing device sent, and
// the existing device takes its rotated keys (with no list yet: nil keeps
// the implicit one) and then the list that adds the new device.
//
// A list must be keys' person's, signed along keys' chain, and list this
// device with this device's own HPKE key, so that a device never holds a
// list under which contacts would seal to a key it cannot open. Without a
// list the person must be this device's own (its person ID its peer ID):
// any other person names this device only through a list. Errors wrap
// parley.ErrMalformed.
func (id *Identity) WithPerson(keys *PersonKeys, list []byte) (*Identity, error) {
	if keys == nil {
		return nil, errors.New("with person: no person keys")
	}
	if list == nil && keys.person != id.PeerID {
		return nil, fmt.Errorf("%w: person %s has no device list naming this device (%s)", parley.ErrMalformed, keys.person, id.PeerID)
	}
	if list != nil {
		l, err := id.checkPersonList(keys, list)
		if err != nil {
			return nil, err
		}
		for _, d := range l.Devices {
			if d.PeerID == id.PeerID && !bytes.Equal(d.HPKEKey, id.HPKEPublicKey()) {
				return nil, fmt.Errorf("%w: the device list gives this device (%s) another HPKE key than its own", parley.ErrMalformed, id.PeerID)
			}
		}
		list = bytes.Clone(list)
	}
	cp := *id
	cp.Person, cp.DeviceList = keys, list
	return &cp, nil
}

// WriteKeystore replaces dir/keystore with id, sealed with opts.Passphrase
// when one is given (as LoadOrCreate writes it), atomically: a crash leaves
// the old file or the new one. The caller holds the data dir's lock. It is
// how a running node keeps what linking changed (WithPerson).
func WriteKeystore(dir string, id *Identity, opts KeystoreOptions) error {
	if _, err := opts.workFactor(); err != nil {
		return err
	}
	if id.Person == nil {
		return errors.New("write keystore: the identity has no person")
	}
	return write(filepath.Join(dir, KeystoreFile), id, opts)
}

// CheckHPKEPublicKey refuses bytes that are not an MLKEM768-X25519 public
// key, as a card's and a device list's keys are checked: for a device's
// key that arrives on its own (linking). Errors wrap parley.ErrMalformed.
func CheckHPKEPublicKey(b []byte) error { return checkHPKEKey(b) }
