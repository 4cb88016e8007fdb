package storage

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// PutContact stores a contact in any state (accepted or request), replacing
// the one with the same peer ID. An accepted contact's records no longer
// count against the strangers' quota (PutStrangerRecords).
func (db *DB) PutContact(c parley.Contact) error {
	if err := checkPeer(c.PeerID); err != nil {
		return fmt.Errorf("storage: put contact: %w", err)
	}
	var seq uint64
	in := c
	err := db.submit(1, func(w *wtxn, _ int) error {
		c = in
		if err := guardVerification(w.txn, &c); err != nil {
			return fmt.Errorf("storage: put contact %s: %w", c.PeerID, err)
		}
		v, err := encodeContact(c)
		if err != nil {
			return err
		}
		if err := w.txn.Set(contactKey(c.PeerID), v); err != nil {
			return fmt.Errorf("storage: put contact %s: %w", c.PeerID, err)
		}
		if c.State == parley.ContactAccepted {
			if err := releaseStranger(w.txn, c.PeerID); err != nil {
				return fmt.Errorf("storage: put contact %s: %w", c.PeerID, err)
			}
		}
		seq = db.contacts.nextSeq()
		return nil
	})
	if err == nil {
		db.contacts.put(c, seq)
	}
	return err
}

// UpdateContact reads, changes and writes one contact atomically with
// respect to every other write, so that two updates (say, a user accepting a
// request while identify reports new addresses) never undo each other.
// update gets the stored contact (found=false: none yet, c holds only the
// peer ID) and says whether to write it back; it may run more than once, so
// it must not have side effects. The contact as stored afterwards is
// returned. A contact written as accepted is released from the strangers'
// quota, as by PutContact.
func (db *DB) UpdateContact(peerID string, update func(c *parley.Contact, found bool) (write bool, err error)) (parley.Contact, error) {
	if err := checkPeer(peerID); err != nil {
		return parley.Contact{}, fmt.Errorf("storage: update contact: %w", err)
	}
	var (
		result  parley.Contact
		written bool
		seq     uint64
	)
	err := db.submit(1, func(w *wtxn, _ int) error {
		written = false
		old, found, err := storedContactIn(w.txn, peerID)
		if err != nil {
			return err
		}
		c := old
		c.HPKEKey = slices.Clone(old.HPKEKey) // update may change c's key in place; old keeps the stored one
		write, err := update(&c, found)
		if err != nil || !write {
			result = c
			return err
		}
		if c.PeerID != peerID {
			return fmt.Errorf("storage: update contact %s: %w: the peer ID may not change", peerID, parley.ErrMalformed)
		}
		if found {
			keepVerification(old, &c)
		}
		v, err := encodeContact(c)
		if err != nil {
			return err
		}
		result, written, seq = c, true, db.contacts.nextSeq()
		if c.State == parley.ContactAccepted {
			if err := releaseStranger(w.txn, peerID); err != nil {
				return err
			}
		}
		return w.txn.Set(contactKey(peerID), v)
	})
	if err != nil {
		return parley.Contact{}, fmt.Errorf("storage: update contact %s: %w", peerID, err)
	}
	if written {
		db.contacts.put(result, seq)
	}
	return result, nil
}

// storedContactIn reads a contact inside a write (found=false: none yet,
// c holds only the peer ID).
func storedContactIn(txn *badger.Txn, peerID string) (c parley.Contact, found bool, err error) {
	b, err := getValue(txn, contactKey(peerID))
	switch {
	case err == nil:
		c, err = decodeContact(b)
		return c, true, err
	case errors.Is(err, parley.ErrNotFound):
		return parley.Contact{PeerID: peerID}, false, nil
	}
	return parley.Contact{}, false, err
}

// guardVerification applies keepVerification against the stored contact,
// for writers that replace a contact without reading it (PutContact).
func guardVerification(txn *badger.Txn, c *parley.Contact) error {
	old, found, err := storedContactIn(txn, c.PeerID)
	if err != nil || !found {
		return err
	}
	keepVerification(old, c)
	return nil
}

// keepVerification is the one place the verification invariant lives, so
// that no writer (card update, invite, the first message's card) can keep
// a contact verified whose key changed: the user verified the key they
// compared, not whatever key comes next. A key that changes under a
// verified contact clears Verified and raises KeysChanged; a contact
// marked verified has no keys changed since. The peer ID cannot change
// within a record (it is the record's key), so the HPKE key is the key
// that can.
func keepVerification(old parley.Contact, c *parley.Contact) {
	if old.Verified && !bytes.Equal(old.HPKEKey, c.HPKEKey) {
		c.Verified, c.KeysChanged = false, true
	}
	if c.Verified {
		c.KeysChanged = false
	}
}

// Contact returns the contact with a peer ID, or parley.ErrNotFound.
func (db *DB) Contact(peerID string) (parley.Contact, error) {
	if err := db.checkOpen(); err != nil {
		return parley.Contact{}, err
	}
	c, ok := db.contacts.get(peerID)
	if !ok {
		return parley.Contact{}, fmt.Errorf("storage: contact %s: %w", peerID, parley.ErrNotFound)
	}
	return c, nil
}

// Contacts lists every contact, sorted by name (ignoring case, so that
// "bob" sits beside "Bob"), then by peer ID.
func (db *DB) Contacts() ([]parley.Contact, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	out := db.contacts.all()
	slices.SortFunc(out, func(a, b parley.Contact) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.PeerID, b.PeerID),
		)
	})
	return out, nil
}

// loadContacts fills the cache at Open. A record that does not decode is
// skipped with a warning rather than keeping the whole store from opening;
// it stays on disk untouched.
func (db *DB) loadContacts() error {
	return db.view(func(txn *badger.Txn) error {
		return scan(txn, prefixContact, func(k, v []byte) error {
			c, err := decodeContact(v)
			if err != nil {
				db.log.Warn("storage: skipping a contact that does not decode", "key", string(k), "err", err)
				return nil
			}
			db.contacts.put(c, 0)
			return nil
		})
	})
}

// contactCache is the in-memory copy of the contacts. Writes reach it only
// after they commit, stamped with the order the writer goroutine applied
// them in, so that two callers returning out of order cannot leave an older
// version in place of a newer one.
type contactCache struct {
	seq atomic.Uint64 // advanced by the writer goroutine only

	mu sync.RWMutex
	m  map[string]cachedContact // guarded by mu
}

type cachedContact struct {
	c   parley.Contact
	seq uint64
}

func (cc *contactCache) nextSeq() uint64 { return cc.seq.Add(1) }

func (cc *contactCache) put(c parley.Contact, seq uint64) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = make(map[string]cachedContact)
	}
	if old, ok := cc.m[c.PeerID]; ok && old.seq > seq {
		return
	}
	cc.m[c.PeerID] = cachedContact{c: clone(c), seq: seq}
}

func (cc *contactCache) get(peerID string) (parley.Contact, bool) {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	e, ok := cc.m[peerID]
	return clone(e.c), ok
}

func (cc *contactCache) all() []parley.Contact {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	out := make([]parley.Contact, 0, len(cc.m))
	for _, e := range cc.m {
		out = append(out, clone(e.c))
	}
	return out
}

// clone keeps callers from changing the cache through shared slices.
func clone(c parley.Contact) parley.Contact {
	c.Addrs = slices.Clone(c.Addrs)
	c.HPKEKey = slices.Clone(c.HPKEKey)
	c.Mailboxes = slices.Clone(c.Mailboxes)
	for i := range c.Mailboxes {
		c.Mailboxes[i].Addrs = slices.Clone(c.Mailboxes[i].Addrs)
	}
	return c
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

// DeleteContact removes a peer's contact record, if there is one, and
// reports whether there was. Only the record goes: conversations and
// messages stay. It is for a record that is not a contact at all (a
// device linked from another's store holds that device's own profile).
func (db *DB) DeleteContact(peerID string) (bool, error) {
	if err := checkPeer(peerID); err != nil {
		return false, fmt.Errorf("storage: delete contact: %w", err)
	}
	var (
		found bool
		seq   uint64
	)
	err := db.submit(1, func(w *wtxn, _ int) error {
		_, ok, err := storedContactIn(w.txn, peerID)
		if err != nil || !ok {
			found = false
			return err
		}
		found, seq = true, db.contacts.nextSeq()
		return w.txn.Delete(contactKey(peerID))
	})
	if err != nil {
		return false, fmt.Errorf("storage: delete contact %s: %w", peerID, err)
	}
	if found {
		db.contacts.remove(peerID, seq)
	}
	return found, nil
}

// remove drops a contact deleted at seq, unless a later write is cached.
func (cc *contactCache) remove(peerID string, seq uint64) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if old, ok := cc.m[peerID]; ok && old.seq > seq {
		return
	}
	delete(cc.m, peerID)
}
