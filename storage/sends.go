package storage

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// What the send path keeps beside the records themselves: the idempotency
// keys of sends (i/), and our group messages that no member is known to
// hold yet (p/). PutRecords writes both in the record's transaction;
// AdvanceStatus takes a message off p/ when it leaves StatusQueued.

// MessageByClientID returns the message a send with this idempotency key
// stored (Record.ClientID), or parley.ErrNotFound.
func (db *DB) MessageByClientID(id parley.ClientID) (parley.Message, error) {
	var m parley.Message
	err := db.view(func(txn *badger.Txn) error {
		v, err := getValue(txn, clientIDKey(id))
		if err != nil {
			return err
		}
		eid, err := parley.EnvelopeIDFromBytes(v)
		if err != nil {
			return notFoundIsMalformed(err)
		}
		m, err = getMessage(txn, eid)
		return notFoundIsMalformed(err)
	})
	if err != nil {
		return parley.Message{}, fmt.Errorf("storage: message of client ID %s: %w", id, err)
	}
	return m, nil
}

// PendingSend is one of our group messages still queued: stored and
// published (or not), but held by no member we know of.
type PendingSend struct {
	ID    parley.EnvelopeID
	KeyID [16]byte // the group key it is sealed under
}

// PendingGroupSends lists our queued messages in a group, in envelope ID
// order.
func (db *DB) PendingGroupSends(group parley.ConversationID) ([]PendingSend, error) {
	var out []PendingSend
	err := db.view(func(txn *badger.Txn) error {
		p := key(prefixPendingGroup, group[:])
		return scan(txn, string(p), func(k, v []byte) error {
			if len(k) != len(p)+32 {
				return fmt.Errorf("%w: pending key of %d bytes", parley.ErrMalformed, len(k))
			}
			keyID, err := decodeSyncKeyID(v)
			if err != nil {
				return err
			}
			out = append(out, PendingSend{ID: parley.EnvelopeID(k[len(p):]), KeyID: keyID})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: pending sends of group %s: %w", group, err)
	}
	return out, nil
}

// Resend is for a send retried with its client ID: the message stored the
// first time, found true, or found false when the ID is new. want is the
// message the retry would store; one stored for cid in another
// conversation, of another kind or with another text is
// parley.ErrMalformed, since a client ID names one message.
func (db *DB) Resend(cid parley.ClientID, want parley.Message) (m parley.Message, found bool, err error) {
	m, err = db.MessageByClientID(cid)
	switch {
	case errors.Is(err, parley.ErrNotFound):
		return parley.Message{}, false, nil
	case err != nil:
		return parley.Message{}, false, err
	case m.Conversation != want.Conversation || m.Kind != want.Kind || m.Text != want.Text:
		return parley.Message{}, false, fmt.Errorf("%w: client ID %s was used for another message", parley.ErrMalformed, cid)
	}
	return m, true, nil
}

// FirstSend is Resend for a record PutRecords skipped because its client
// ID was stored meanwhile (a concurrent retry won): that message, which
// must exist.
func (db *DB) FirstSend(cid parley.ClientID, want parley.Message) (parley.Message, error) {
	m, found, err := db.Resend(cid, want)
	if err == nil && !found {
		err = fmt.Errorf("storage: the send of client ID %s was skipped but is not stored", cid)
	}
	return m, err
}

// listPendingGroupSends is the migration to schema 3: a store from before
// the p/ index holds our queued group messages only in their records, so
// no catch-up session would ever move them on. It indexes every one of
// them, as storeRecord does for a new one.
func listPendingGroupSends(txn *badger.Txn) error {
	return scan(txn, prefixSync, func(k, v []byte) error {
		if len(k) != len(prefixSync)+32+8+32 {
			return fmt.Errorf("%w: sync key of %d bytes", parley.ErrMalformed, len(k))
		}
		m, err := getMessage(txn, parley.EnvelopeID(k[len(k)-32:]))
		if errors.Is(err, parley.ErrNotFound) || err == nil && !(m.Outgoing && m.Status == parley.StatusQueued && displayed(m)) {
			return nil
		}
		if err != nil {
			return err
		}
		// v is the key ID, valid only during the callback: Set keeps a copy.
		return txn.Set(pendingGroupKey(m.Conversation, m.ID), bytes.Clone(v))
	})
}
