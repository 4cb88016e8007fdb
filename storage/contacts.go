package storage

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// PutContact stores a contact in any state (accepted or request), replacing
// the one with the same peer ID.
func (db *DB) PutContact(c parley.Contact) error {
	if err := checkPeer(c.PeerID); err != nil {
		return fmt.Errorf("storage: put contact: %w", err)
	}
	v, err := encodeContact(c)
	if err != nil {
		return err
	}
	return db.submit(1, func(w *wtxn, _ int) error {
		if err := w.txn.Set(contactKey(c.PeerID), v); err != nil {
			return fmt.Errorf("storage: put contact %s: %w", c.PeerID, err)
		}
		return nil
	})
}

// UpdateContact reads, changes and writes one contact atomically with
// respect to every other write, so that two updates (say, a user accepting a
// request while identify reports new addresses) never undo each other.
// update gets the stored contact (found=false: none yet, c holds only the
// peer ID) and says whether to write it back; it may run more than once, so
// it must not have side effects. The contact as stored afterwards is
// returned.
func (db *DB) UpdateContact(peerID string, update func(c *parley.Contact, found bool) (write bool, err error)) (parley.Contact, error) {
	if err := checkPeer(peerID); err != nil {
		return parley.Contact{}, fmt.Errorf("storage: update contact: %w", err)
	}
	var result parley.Contact
	err := db.submit(1, func(w *wtxn, _ int) error {
		c := parley.Contact{PeerID: peerID}
		b, err := getValue(w.txn, contactKey(peerID))
		found := err == nil
		switch {
		case found:
			if c, err = decodeContact(b); err != nil {
				return err
			}
		case !errors.Is(err, parley.ErrNotFound):
			return err
		}
		write, err := update(&c, found)
		if err != nil || !write {
			result = c
			return err
		}
		if c.PeerID != peerID {
			return fmt.Errorf("storage: update contact %s: %w: the peer ID may not change", peerID, parley.ErrMalformed)
		}
		v, err := encodeContact(c)
		if err != nil {
			return err
		}
		result = c
		return w.txn.Set(contactKey(peerID), v)
	})
	if err != nil {
		return parley.Contact{}, fmt.Errorf("storage: update contact %s: %w", peerID, err)
	}
	return result, nil
}

// Contact returns the contact with a peer ID, or parley.ErrNotFound.
func (db *DB) Contact(peerID string) (parley.Contact, error) {
	var c parley.Contact
	err := db.view(func(txn *badger.Txn) error {
		b, err := getValue(txn, contactKey(peerID))
		if err != nil {
			return err
		}
		c, err = decodeContact(b)
		return err
	})
	if err != nil {
		return parley.Contact{}, fmt.Errorf("storage: contact %s: %w", peerID, err)
	}
	return c, nil
}

// Contacts lists every contact, sorted by name (ignoring case, so that
// "bob" sits beside "Bob"), then by peer ID.
func (db *DB) Contacts() ([]parley.Contact, error) {
	var out []parley.Contact
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefixContact, func(_, v []byte) error {
			c, err := decodeContact(v)
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list contacts: %w", err)
	}
	slices.SortFunc(out, func(a, b parley.Contact) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.PeerID, b.PeerID),
		)
	})
	return out, nil
}

// PutPeerKey keeps a DM sending key that a peer established with us (we are
// the recipient), so that later envelopes under the same key ID decrypt.
// Badger encrypts it at rest like everything else.
func (db *DB) PutPeerKey(peer string, keyID []byte, key []byte) error {
	if err := checkPeer(peer); err != nil {
		return fmt.Errorf("storage: put peer key: %w", err)
	}
	if len(keyID) == 0 || len(key) == 0 {
		return fmt.Errorf("storage: put peer key: %w: empty key ID or key", parley.ErrMalformed)
	}
	k, v := peerKeyKey(peer, keyID), slices.Clone(key)
	return db.submit(1, func(w *wtxn, _ int) error {
		if err := w.txn.Set(k, v); err != nil {
			return fmt.Errorf("storage: put peer key of %s: %w", peer, err)
		}
		return nil
	})
}

// PeerKey returns a key stored by PutPeerKey, or parley.ErrNotFound.
func (db *DB) PeerKey(peer string, keyID []byte) ([]byte, error) {
	if err := checkPeer(peer); err != nil {
		return nil, fmt.Errorf("storage: peer key: %w", err)
	}
	var key []byte
	err := db.view(func(txn *badger.Txn) (err error) {
		key, err = getValue(txn, peerKeyKey(peer, keyID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: peer key %x of %s: %w", keyID, peer, err)
	}
	return key, nil
}
