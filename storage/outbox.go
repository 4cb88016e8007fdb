package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// OutboxEntry is an envelope waiting for a peer's acknowledgement.
type OutboxEntry struct {
	ID       parley.EnvelopeID
	Envelope []byte
	// Deposited: a mailbox of the peer holds it (MarkDeposited). It stays
	// queued for direct delivery all the same.
	Deposited bool
}

// Outbox returns a peer's waiting envelopes in the order they were queued,
// oldest first: the first limit of them, or all when limit <= 0. The order
// comes from a sequence number stored with each entry, so it survives
// restarts.
func (db *DB) Outbox(peer string, limit int) ([]OutboxEntry, error) {
	if err := checkPeer(peer); err != nil {
		return nil, fmt.Errorf("storage: outbox: %w", err)
	}
	var out []OutboxEntry
	err := db.view(func(txn *badger.Txn) error {
		p := peerPrefix(prefixOutbox, peer)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		// Start at the floor, past the entries already removed: until
		// compaction drops them, a seek from the prefix steps over every
		// one of their tombstones, on every read of a busy outbox.
		floor, _ := db.outboxFloors.Load(peer)
		from := p
		if floor != nil {
			from = outboxKey(peer, floor.(uint64))
		}
		var ids []parley.EnvelopeID
		first := true
		for it.Seek(from); it.ValidForPrefix(p) && (limit <= 0 || len(ids) < limit); it.Next() {
			if k := it.Item().Key(); first && len(k) == len(p)+8 {
				// The first entry there is (answered or not): none is
				// below it now, and none will be, since entries are
				// queued with ever higher numbers (wtxn.enqueue).
				raiseFloor(&db.outboxFloors, peer, binary.BigEndian.Uint64(k[len(p):]))
			}
			first = false
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("storage: read outbox entry: %w", err)
			}
			id, err := decodeOutboxEntry(v)
			if err != nil {
				return err
			}
			if pendingSettle(txn, id) {
				continue // answered; its removal waits for the next commit (settle.go)
			}
			ids = append(ids, id)
		}
		for _, id := range ids {
			env := db.queuedEnvelopes.get(id)
			if env == nil {
				var err error
				if env, err = getValue(txn, envelopeKey(id)); err != nil {
					return notFoundIsMalformed(err)
				}
			}
			dep, err := exists(txn, depositedKey(peer, id))
			if err != nil {
				return err
			}
			out = append(out, OutboxEntry{ID: id, Envelope: env, Deposited: dep})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: outbox of %s: %w", peer, err)
	}
	return out, nil
}

// envelopeCache holds the envelopes of the records most recently queued,
// so that the courier, which reads them right after they were stored,
// need not look each up again (by then often in a table on disk, not the
// memtable). An envelope ID names its bytes for good, so an entry is never
// stale, only useless once delivered; the cache is emptied when full, and
// a miss reads the store.
type envelopeCache struct {
	mu sync.Mutex
	m  map[parley.EnvelopeID][]byte
}

// maxQueuedEnvelopes bounds the cache: 4 pushes of MaxBatch envelopes.
const maxQueuedEnvelopes = 1024

func (c *envelopeCache) put(id parley.EnvelopeID, env []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxQueuedEnvelopes {
		c.m = make(map[parley.EnvelopeID][]byte)
	}
	c.m[id] = env
}

func (c *envelopeCache) get(id parley.EnvelopeID) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

func (c *envelopeCache) forget(id parley.EnvelopeID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// raiseFloor sets peer's floor to seq unless it is higher already.
func raiseFloor(floors *sync.Map, peer string, seq uint64) {
	for {
		old, loaded := floors.LoadOrStore(peer, seq)
		if !loaded || old.(uint64) >= seq || floors.CompareAndSwap(peer, old, seq) {
			return
		}
	}
}

// OutboxPeers lists the peers with at least one envelope in their outbox.
func (db *DB) OutboxPeers() ([]string, error) {
	var peers []string
	err := db.view(func(txn *badger.Txn) error {
		p := []byte(prefixOutbox)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); {
			peer, err := outboxKeyPeer(it.Item().Key())
			if err != nil {
				return err
			}
			peers = append(peers, peer)
			// Skip the rest of this peer's entries: seek past its separator.
			next := peerPrefix(prefixOutbox, peer)
			next[len(next)-1]++
			it.Seek(next)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list outbox peers: %w", err)
	}
	return peers, nil
}

// OutboxLen counts a peer's waiting envelopes.
func (db *DB) OutboxLen(peer string) (int, error) {
	if err := checkPeer(peer); err != nil {
		return 0, fmt.Errorf("storage: outbox length: %w", err)
	}
	n := 0
	err := db.view(func(txn *badger.Txn) error {
		p := peerPrefix(prefixOutbox, peer)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: outbox length of %s: %w", peer, err)
	}
	return n, nil
}

// RemoveFromOutbox takes envelopes off a peer's outbox and advances their
// messages to status (StatusDelivered on an ack, StatusFailed on a permanent
// refusal), in one synced transaction. IDs not in that peer's outbox are
// ignored. It returns the messages whose status changed; like AdvanceStatus,
// this includes receipt-kind records.
func (db *DB) RemoveFromOutbox(peer string, ids []parley.EnvelopeID, status parley.Status) ([]parley.Message, error) {
	if err := checkPeer(peer); err != nil {
		return nil, fmt.Errorf("storage: remove from outbox: %w", err)
	}
	if !validStatus(status) {
		return nil, fmt.Errorf("storage: remove from outbox: %w: status %d", parley.ErrMalformed, status)
	}
	changed := make([]*parley.Message, len(ids))
	err := db.submit(len(ids), func(w *wtxn, i int) error {
		changed[i] = nil
		m, ok, err := removeFromOutbox(w.txn, peer, ids[i], status)
		if ok {
			changed[i] = &m
		}
		if err != nil {
			return fmt.Errorf("storage: remove %s from the outbox of %s: %w", ids[i], peer, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return compact(changed), nil
}

func removeFromOutbox(txn *badger.Txn, peer string, id parley.EnvelopeID, status parley.Status) (parley.Message, bool, error) {
	if found, err := takeFromOutbox(txn, peer, id); err != nil || !found {
		return parley.Message{}, false, err
	}
	return advance(txn, id, status, false)
}

// takeFromOutbox deletes id's outbox entry and what goes with it, and
// reports whether it was there.
func takeFromOutbox(txn *badger.Txn, peer string, id parley.EnvelopeID) (bool, error) {
	ik := outboxIndexKey(peer, id)
	b, err := getValue(txn, ik)
	if errors.Is(err, parley.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	seq, err := decodeUint64("outbox index", b)
	if err != nil {
		return false, err
	}
	if err := txn.Delete(outboxKey(peer, seq)); err != nil {
		return false, err
	}
	if err := txn.Delete(ik); err != nil {
		return false, err
	}
	if err := txn.Delete(depositedKey(peer, id)); err != nil {
		return false, err
	}
	if err := txn.Delete(queuedWhyKey(id)); err != nil {
		return false, err
	}
	return true, nil
}

// DropOutbox takes every envelope off a peer's outbox without changing
// their messages' status: they are another device's to send (a device
// linked from a snapshot of its store holds that device's outbox, whose
// envelopes only their signer may deliver). It returns how many it took.
func (db *DB) DropOutbox(peer string) (int, error) {
	entries, err := db.Outbox(peer, 0)
	if err != nil {
		return 0, err
	}
	err = db.submit(len(entries), func(w *wtxn, i int) error {
		if _, err := takeFromOutbox(w.txn, peer, entries[i].ID); err != nil {
			return fmt.Errorf("storage: drop %s from the outbox of %s: %w", entries[i].ID, peer, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}
