package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Quota bounds what peers who are not accepted contacts ("strangers") can
// make us store through PutStrangerRecords: each of them, and all of them
// together, in records and in bytes. Every field must be positive.
type Quota struct {
	PeerCount  int64
	PeerBytes  int64
	TotalCount int64
	TotalBytes int64
}

// Usage is what strangers' records take in the store: how many records,
// and their envelope and record bytes.
type Usage struct {
	Count int64
	Bytes int64
}

// PutStrangerRecords stores records that peer from sent, counting each new
// one against q in the same transaction that stores it, so the counts never
// drift from what is stored, even across a crash. A record that would take
// the peer's or the total usage past q is not stored: refused[i] reports
// it, and nothing of it is written. A record already stored is not refused
// and not counted again (added[i] is false, as for PutRecords).
//
// Once from is an accepted contact (PutContact, UpdateContact), its records
// are no longer counted and its usage is released; a record that races
// with the acceptance is stored without counting.
func (db *DB) PutStrangerRecords(from string, recs []Record, q Quota) (added, refused []bool, err error) {
	if err := checkPeer(from); err != nil {
		return nil, nil, fmt.Errorf("storage: put stranger records: %w", err)
	}
	if q.PeerCount <= 0 || q.PeerBytes <= 0 || q.TotalCount <= 0 || q.TotalBytes <= 0 {
		return nil, nil, fmt.Errorf("storage: put stranger records: %w: quota %+v", parley.ErrMalformed, q)
	}
	for i, r := range recs {
		if r.Message.From != from {
			return nil, nil, fmt.Errorf("storage: record %d (%s): %w: from %s, not %s", i, r.Message.ID, parley.ErrMalformed, r.Message.From, from)
		}
	}
	return db.putRecords(recs, &strangerQuota{from: from, Quota: q})
}

// strangerQuota is PutStrangerRecords' check, applied by putRecords.
type strangerQuota struct {
	from string
	Quota
}

// admit decides, inside the writer's transaction, whether r may be stored,
// and if so counts it. Reads see the transaction's earlier writes, so units
// committed together are counted one after the other.
func (q *strangerQuota) admit(txn *badger.Txn, r Record) (bool, error) {
	accepted, err := isAccepted(txn, q.from)
	if err != nil || accepted {
		return true, err
	}
	peer, err := getUsage(txn, strangerKey(q.from))
	if err != nil {
		return false, err
	}
	total, err := getUsage(txn, []byte(keyStrangers))
	if err != nil {
		return false, err
	}
	cost := recordCost(r)
	if peer.Count+1 > q.PeerCount || peer.Bytes+cost > q.PeerBytes ||
		total.Count+1 > q.TotalCount || total.Bytes+cost > q.TotalBytes {
		return false, nil
	}
	peer.Count, peer.Bytes = peer.Count+1, peer.Bytes+cost
	total.Count, total.Bytes = total.Count+1, total.Bytes+cost
	if err := txn.Set(strangerKey(q.from), encodeUsage(peer)); err != nil {
		return false, err
	}
	return true, txn.Set([]byte(keyStrangers), encodeUsage(total))
}

// recordCost is what a record takes: its envelope and its decrypted record,
// the two values that grow with the sender's input.
func recordCost(r Record) int64 {
	return int64(len(r.Envelope) + len(encodeMessage(r.Message)))
}

// releaseStranger drops a peer's usage from the total, once it is an
// accepted contact: its records stay, and no longer count.
func releaseStranger(txn *badger.Txn, peer string) error {
	u, err := getUsage(txn, strangerKey(peer))
	if err != nil || u == (Usage{}) {
		return err
	}
	total, err := getUsage(txn, []byte(keyStrangers))
	if err != nil {
		return err
	}
	total.Count, total.Bytes = max(total.Count-u.Count, 0), max(total.Bytes-u.Bytes, 0)
	if err := txn.Set([]byte(keyStrangers), encodeUsage(total)); err != nil {
		return err
	}
	return txn.Delete(strangerKey(peer))
}

func isAccepted(txn *badger.Txn, peer string) (bool, error) {
	b, err := getValue(txn, contactKey(peer))
	if errors.Is(err, parley.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c, err := decodeContact(b)
	if err != nil {
		return false, err
	}
	return c.State == parley.ContactAccepted, nil
}

// StrangerUsage returns what one stranger's records take, and what all
// strangers' records take together.
func (db *DB) StrangerUsage(peer string) (own, total Usage, err error) {
	if err := checkPeer(peer); err != nil {
		return Usage{}, Usage{}, fmt.Errorf("storage: stranger usage: %w", err)
	}
	err = db.view(func(txn *badger.Txn) error {
		if own, err = getUsage(txn, strangerKey(peer)); err != nil {
			return err
		}
		total, err = getUsage(txn, []byte(keyStrangers))
		return err
	})
	if err != nil {
		return Usage{}, Usage{}, fmt.Errorf("storage: stranger usage of %s: %w", peer, err)
	}
	return own, total, nil
}

// countStrangers is the migration to schema 2: a store from before holds
// requests that no counter includes, so it sums what each request's DMs
// take, as PutStrangerRecords would have counted them (envelope and record
// of every record a request sent in the DM with it; group messages never
// counted).
func countStrangers(txn *badger.Txn) error {
	requests := make(map[string]bool)
	err := scan(txn, prefixContact, func(_, v []byte) error {
		c, err := decodeContact(v)
		if err == nil && c.State == parley.ContactRequest {
			requests[c.PeerID] = true
		}
		return err
	})
	if err != nil || len(requests) == 0 {
		return err
	}
	peers := make(map[string]Usage)
	var total Usage
	dmWith := make(map[parley.ConversationID]string) // a conversation's DM peer; "" for a group
	err = scan(txn, prefixRecord, func(_, v []byte) error {
		m, err := decodeMessage(v)
		if err != nil {
			return err
		}
		if m.Outgoing || !requests[m.From] {
			return nil
		}
		peer, seen := dmWith[m.Conversation]
		if !seen {
			if b, err := getValue(txn, conversationKey(m.Conversation)); err == nil {
				if c, err := decodeConversation(b); err == nil && c.Kind == parley.ConversationDM {
					peer = c.Peer
				}
			}
			dmWith[m.Conversation] = peer
		}
		if peer != m.From {
			return nil
		}
		env, err := getValue(txn, envelopeKey(m.ID))
		if err != nil && !errors.Is(err, parley.ErrNotFound) {
			return err
		}
		cost := recordCost(Record{Message: m, Envelope: env})
		u := peers[m.From]
		u.Count, u.Bytes = u.Count+1, u.Bytes+cost
		peers[m.From] = u
		total.Count, total.Bytes = total.Count+1, total.Bytes+cost
		return nil
	})
	if err != nil {
		return err
	}
	for peer, u := range peers {
		if err := txn.Set(strangerKey(peer), encodeUsage(u)); err != nil {
			return err
		}
	}
	return txn.Set([]byte(keyStrangers), encodeUsage(total))
}

// getUsage reads a usage counter; none stored is zero.
func getUsage(txn *badger.Txn, k []byte) (Usage, error) {
	b, err := getValue(txn, k)
	if errors.Is(err, parley.ErrNotFound) {
		return Usage{}, nil
	}
	if err != nil {
		return Usage{}, err
	}
	return decodeUsage(b)
}

// encodeUsage: count(8) bytes(8), big-endian.
func encodeUsage(u Usage) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(u.Count))
	return binary.BigEndian.AppendUint64(b, uint64(u.Bytes))
}

func decodeUsage(b []byte) (Usage, error) {
	if len(b) != 16 {
		return Usage{}, malformed("stranger usage", fmt.Errorf("%d bytes, want 16", len(b)))
	}
	return Usage{Count: int64(binary.BigEndian.Uint64(b)), Bytes: int64(binary.BigEndian.Uint64(b[8:]))}, nil
}
