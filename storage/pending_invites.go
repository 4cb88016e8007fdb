package storage

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Pending contacts (pi/): short invites whose owner was not reachable when
// the user added them, kept until the node adds them, the user cancels
// them, or they expire (node/pending_invites.go). JSON, like grants: a
// handful of small records that change rarely.

// prefixPendingInvite: pi/<peer> → a pending contact (JSON). Kept here
// rather than in keys.go's table; doc.go lists it with the others.
const prefixPendingInvite = "pi/"

func pendingInviteKey(peer string) []byte { return key(prefixPendingInvite, []byte(peer)) }

var pendingInviteCodec = valueCodec[parley.PendingContact]{
	encode: func(p parley.PendingContact) ([]byte, error) {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("storage: encode pending contact: %w", err)
		}
		return b, nil
	},
	decode: func(b []byte) (parley.PendingContact, error) {
		var p parley.PendingContact
		if err := json.Unmarshal(b, &p); err != nil {
			return parley.PendingContact{}, malformed("pending contact", err)
		}
		return p, nil
	},
}

// ErrTooManyPending: PutPendingContact would keep more than its limit.
var ErrTooManyPending = errors.New("too many pending contacts")

// UpdatePendingContact reads peer's pending contact into a record update
// may change (found false: none, the record zero but for PeerID), and
// writes it when update asks. A new record is refused with
// ErrTooManyPending when limit are kept already. It returns the record as
// stored.
func (db *DB) UpdatePendingContact(peer string, limit int, update func(p *parley.PendingContact, found bool) (bool, error)) (parley.PendingContact, error) {
	if err := checkPeer(peer); err != nil {
		return parley.PendingContact{}, fmt.Errorf("storage: pending contact: %w", err)
	}
	var rec parley.PendingContact
	err := db.submit(1, func(w *wtxn, _ int) error {
		rec = parley.PendingContact{PeerID: peer}
		found, err := readKeyed(w.txn, pendingInviteKey(peer), pendingInviteCodec, &rec)
		if err != nil {
			return err
		}
		write, err := update(&rec, found)
		if err != nil || !write {
			return err
		}
		rec.PeerID = peer
		if !found {
			n := 0
			if err := scanKeys(w.txn, prefixPendingInvite, func() { n++ }); err != nil {
				return err
			}
			if n >= limit {
				return fmt.Errorf("%w (%d)", ErrTooManyPending, limit)
			}
		}
		v, err := pendingInviteCodec.encode(rec)
		if err != nil {
			return err
		}
		return w.txn.Set(pendingInviteKey(peer), v)
	})
	if err != nil {
		return parley.PendingContact{}, fmt.Errorf("storage: pending contact %s: %w", peer, err)
	}
	return rec, nil
}

// PendingContactOf returns peer's pending contact, or parley.ErrNotFound.
func (db *DB) PendingContactOf(peer string) (parley.PendingContact, error) {
	if err := checkPeer(peer); err != nil {
		return parley.PendingContact{}, fmt.Errorf("storage: pending contact: %w", err)
	}
	p, err := getKeyed(db, pendingInviteKey(peer), pendingInviteCodec)
	if err != nil {
		return parley.PendingContact{}, fmt.Errorf("storage: pending contact %s: %w", peer, err)
	}
	return p, nil
}

// PendingContacts lists the pending contacts, by peer ID.
func (db *DB) PendingContacts() ([]parley.PendingContact, error) {
	ps, err := listKeyed(db, prefixPendingInvite, pendingInviteCodec)
	if err != nil {
		return nil, fmt.Errorf("storage: pending contacts: %w", err)
	}
	return ps, nil
}

// DeletePendingContact removes peer's pending contact if remove, given it,
// says so (remove nil: whatever it is). It reports whether it removed one.
func (db *DB) DeletePendingContact(peer string, remove func(parley.PendingContact) bool) (bool, error) {
	if err := checkPeer(peer); err != nil {
		return false, fmt.Errorf("storage: delete pending contact: %w", err)
	}
	var deleted bool
	err := db.submit(1, func(w *wtxn, _ int) error {
		deleted = false
		var rec parley.PendingContact
		found, err := readKeyed(w.txn, pendingInviteKey(peer), pendingInviteCodec, &rec)
		if err != nil || !found || remove != nil && !remove(rec) {
			return err
		}
		deleted = true
		return w.txn.Delete(pendingInviteKey(peer))
	})
	if err != nil {
		return false, fmt.Errorf("storage: delete pending contact %s: %w", peer, err)
	}
	return deleted, nil
}

// scanKeys calls fn once per key under prefix, reading no values.
func scanKeys(txn *badger.Txn, prefix string, fn func()) error {
	p := []byte(prefix)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	for it.Seek(p); it.ValidForPrefix(p); it.Next() {
		fn()
	}
	return nil
}
