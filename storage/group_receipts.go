package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Receipts per recipient (groupconv): for each message, each recipient who
// said it got or read it, and when. A group's receipts are envelopes
// (KindGroupReceipt, synced like any other); storing one indexes every
// message it names here, in the same transaction, so the index is never
// behind the envelopes held. A DM's receipts move the message's status
// (records.go); the node notes when here as well (NoteReceipts).
//
// Each time is the earliest any receipt gave: merging by minimum makes
// the index the same whatever order the receipts arrive in.

// gcr/<conv><target><member> → delivered HLC (8) read HLC (8), zero: not yet.
const prefixReceipts = "gcr/"

func receiptKey(conv parley.ConversationID, target parley.EnvelopeID, member string) []byte {
	return key(prefixReceipts, conv[:], target[:], []byte(member))
}

// noteReceipts merges member's receipts for these messages of conv, as of
// at, into the index.
func noteReceipts(txn *badger.Txn, conv parley.ConversationID, member string, delivered, read []parley.EnvelopeID, at parley.HLC) error {
	if err := checkPeer(member); err != nil {
		return err
	}
	set := func(id parley.EnvelopeID, isRead bool) error {
		k := receiptKey(conv, id, member)
		var r parley.Receipt
		v, err := getValue(txn, k)
		switch {
		case err == nil:
			if r, err = decodeReceipt(v); err != nil {
				return err
			}
		case !errors.Is(err, parley.ErrNotFound):
			return err
		}
		earliest := func(h *parley.HLC) bool {
			if *h == 0 || at < *h {
				*h = at
				return true
			}
			return false
		}
		changed := earliest(&r.Delivered) // read implies delivered
		if isRead {
			changed = earliest(&r.Read) || changed
		}
		if !changed {
			return nil
		}
		return txn.Set(k, encodeReceipt(r))
	}
	for _, id := range delivered {
		if err := set(id, false); err != nil {
			return err
		}
	}
	for _, id := range read {
		if err := set(id, true); err != nil {
			return err
		}
	}
	return nil
}

func encodeReceipt(r parley.Receipt) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(r.Delivered))
	binary.BigEndian.PutUint64(b[8:], uint64(r.Read))
	return b
}

func decodeReceipt(b []byte) (parley.Receipt, error) {
	if len(b) != 16 {
		return parley.Receipt{}, fmt.Errorf("%w: receipt index entry of %d bytes", parley.ErrMalformed, len(b))
	}
	return parley.Receipt{Delivered: parley.HLC(binary.BigEndian.Uint64(b)), Read: parley.HLC(binary.BigEndian.Uint64(b[8:]))}, nil
}

// NoteReceipts records that member got (delivered) or read these messages
// of conv at at; a time already known and earlier stays.
func (db *DB) NoteReceipts(conv parley.ConversationID, member string, delivered, read []parley.EnvelopeID, at parley.HLC) error {
	err := db.submit(1, func(w *wtxn, _ int) error {
		return noteReceipts(w.txn, conv, member, delivered, read, at)
	})
	if err != nil {
		return fmt.Errorf("storage: note receipts: %w", err)
	}
	return nil
}

// Receipts returns, for each of ids (messages of conv) that has any, the
// receipts of each recipient (peer ID).
func (db *DB) Receipts(conv parley.ConversationID, ids []parley.EnvelopeID) (map[parley.EnvelopeID]map[string]parley.Receipt, error) {
	out := make(map[parley.EnvelopeID]map[string]parley.Receipt)
	err := db.view(func(txn *badger.Txn) error {
		for _, id := range ids {
			p := key(prefixReceipts, conv[:], id[:])
			err := scan(txn, string(p), func(k, v []byte) error {
				r, err := decodeReceipt(v)
				if err != nil {
					return err
				}
				if out[id] == nil {
					out[id] = make(map[string]parley.Receipt)
				}
				out[id][string(k[len(p):])] = r
				return nil
			})
			if err != nil {
				return err
			}
			if rs := settledReceipt(txn, conv, id, out[id]); rs != nil {
				out[id] = rs // a delivery not yet written (settle.go)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: receipts: %w", err)
	}
	return out, nil
}

// MessagesByID returns the stored messages among ids, by ID, read in one
// transaction (a group receipt names hundreds); those not held are left out.
func (db *DB) MessagesByID(ids []parley.EnvelopeID) (map[parley.EnvelopeID]parley.Message, error) {
	out := make(map[parley.EnvelopeID]parley.Message, len(ids))
	err := db.view(func(txn *badger.Txn) error {
		for _, id := range ids {
			m, err := getMessage(txn, id)
			switch {
			case err == nil:
				out[id] = m
			case !errors.Is(err, parley.ErrNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: messages by ID: %w", err)
	}
	return out, nil
}
