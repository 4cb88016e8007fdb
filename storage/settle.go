package storage

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Settling an ack without waiting for its sync (docs/design-notes.md,
// "Delivered at the ack").
//
// SettleOutbox records a peer's answer in the next group commit and returns
// at once. Until that commit lands, the answer lives in memory, in settled:
// reads (db.view) show the status it gives, and Outbox leaves its envelopes
// out, so what the API shows never goes back and nothing is pushed twice.
//
// A read must see each answer either in memory or on disk. Answers are
// added before the status is announced, and removed only after their
// commit returned; settled is copy-on-write, and view loads it before it
// opens its badger transaction. So a read that finds an answer gone from
// the map it loaded opened its transaction after the commit, and badger
// shows that transaction the commit.

// settledAnswer is one answer waiting for its commit.
type settledAnswer struct {
	peer   string
	status parley.Status
	// conv and at: the receipt noted with a delivery (the peer got the
	// message at at), shown by Receipts until it is written; at is zero
	// when none is.
	conv parley.ConversationID
	at   parley.HLC
	// writing: a write of it is queued or in flight, so Outbox leaves the
	// envelope out. Cleared when that write failed: the courier pushes the
	// envelope again (the peer acks a duplicate) and the next settle
	// writes it, while reads keep showing the status.
	writing bool
}

type settledMap = map[parley.EnvelopeID]settledAnswer

// settledSet holds the answers not yet on disk.
type settledSet struct {
	mu  sync.Mutex // serialises writers; readers only Load
	cur atomic.Pointer[settledMap]
}

func (s *settledSet) load() settledMap {
	if p := s.cur.Load(); p != nil {
		return *p
	}
	return nil
}

// update replaces the map with a changed copy.
func (s *settledSet) update(change func(m settledMap)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.load()
	m := make(settledMap, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	change(m)
	if len(m) == 0 {
		s.cur.Store(nil)
		return
	}
	s.cur.Store(&m)
}

// viewsSettled gives a read transaction the answers that were in memory
// when it began (view registers it; write transactions are never in it,
// so writes see the disk alone).
var viewsSettled sync.Map // *badger.Txn → settledMap

func settledIn(txn *badger.Txn) settledMap {
	if v, ok := viewsSettled.Load(txn); ok {
		return v.(settledMap)
	}
	return nil
}

// withSettled is m as a read shows it: with the status an answer waiting
// for its commit gives it.
func withSettled(txn *badger.Txn, m parley.Message) parley.Message {
	if a, ok := settledIn(txn)[m.ID]; ok && statusAdvances(m.Status, a.status) {
		m.Status = a.status
	}
	return m
}

// SettleOutbox is RemoveFromOutbox without the wait: it takes the envelopes
// off the peer's outbox and advances their messages to status in the next
// group commit, and returns at once the messages whose status changed, as
// every read shows them from now on. A crash before that commit leaves the
// envelopes queued, to be pushed again (the peer keeps one copy and acks
// again). When the write fails, retry is called (from the store's writer:
// it must not block) and the envelopes are in Outbox again, so that a new
// push and settle write them; reads still show the status.
func (db *DB) SettleOutbox(peer string, ids []parley.EnvelopeID, status parley.Status, retry func()) ([]parley.Message, error) {
	if err := checkPeer(peer); err != nil {
		return nil, fmt.Errorf("storage: settle outbox: %w", err)
	}
	if !validStatus(status) {
		return nil, fmt.Errorf("storage: settle outbox: %w: status %d", parley.ErrMalformed, status)
	}
	var queued []parley.EnvelopeID
	var changed []parley.Message
	// The peer's receipt, for the times Message info shows, goes in the
	// same write, for what the node shows (as NoteReceipts would).
	at := parley.NewHLC(time.Now(), 0)
	receipted := make(map[parley.EnvelopeID]parley.ConversationID)
	err := db.view(func(txn *badger.Txn) error {
		for _, id := range ids {
			if ok, err := exists(txn, outboxIndexKey(peer, id)); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			queued = append(queued, id)
			m, err := getMessage(txn, id)
			if errors.Is(err, parley.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if status == parley.StatusDelivered && m.Outgoing && receiptedKind(m.Kind) {
				receipted[id] = m.Conversation
			}
			if statusAdvances(m.Status, status) {
				m.Status = status
				changed = append(changed, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: settle outbox of %s: %w", peer, err)
	}
	if len(queued) == 0 {
		return nil, nil
	}
	db.settled.update(func(m settledMap) {
		for _, id := range queued {
			a, ok := m[id]
			if !ok || statusAdvances(a.status, status) {
				a.status = status
			}
			a.peer, a.writing = peer, true
			if conv, ok := receipted[id]; ok && (a.at == 0 || at < a.at) {
				a.conv, a.at = conv, at
			}
			m[id] = a
		}
	})
	apply := func(w *wtxn, i int) error {
		id := queued[i]
		// Gone from the outbox meanwhile (a purge, a receipt through a
		// mailbox): nothing to write, and no receipt for what may be gone.
		found, err := takeFromOutbox(w.txn, peer, id)
		if err == nil && found {
			_, _, err = advance(w.txn, id, status, false)
		}
		if err != nil {
			return fmt.Errorf("storage: remove %s from the outbox of %s: %w", id, peer, err)
		}
		if !found {
			return nil
		}
		if conv, ok := receipted[id]; ok {
			if err := noteReceipts(w.txn, conv, peer, []parley.EnvelopeID{id}, nil, at); err != nil {
				return fmt.Errorf("storage: note the receipt of %s: %w", id, err)
			}
		}
		return nil
	}
	db.submitAsync(len(queued), apply, func(err error) {
		db.settled.update(func(m settledMap) {
			for _, id := range queued {
				if err == nil {
					delete(m, id)
				} else if a, ok := m[id]; ok {
					a.writing = false
					m[id] = a
				}
			}
		})
		if err == nil {
			for _, id := range queued {
				db.queuedEnvelopes.forget(id) // delivered: not read again
			}
		}
		if err != nil {
			db.log.Warn("storage: recording a peer's answer; the envelopes will be pushed again", "peer", peer, "err", err)
			if retry != nil {
				retry()
			}
		}
	})
	return changed, nil
}

// DeliveryNoted reports whether the receipts index holds the delivery of
// conv's message id to member (as Receipts shows it). An ack's delivery
// waiting for its commit is answered from memory: a read would wait for
// the sync in flight (badger's reads wait for every commit begun before
// them), and the courier asks once per message it settles.
func (db *DB) DeliveryNoted(conv parley.ConversationID, id parley.EnvelopeID, member string) (bool, error) {
	if a, ok := db.settled.load()[id]; ok && a.at != 0 && a.conv == conv && a.peer == member {
		return true, nil
	}
	rs, err := db.Receipts(conv, []parley.EnvelopeID{id})
	if err != nil {
		return false, err
	}
	return rs[id][member].Delivered != 0, nil
}

// pendingSettle reports whether an answer for id waits for its write, so
// that Outbox leaves it out.
func pendingSettle(txn *badger.Txn, id parley.EnvelopeID) bool {
	a, ok := settledIn(txn)[id]
	return ok && a.writing
}

// receiptedKind: the kinds whose delivery the node notes in the receipts
// index (those it announces a status for).
func receiptedKind(k parley.Kind) bool {
	return k == parley.KindText || k == parley.KindFile || k == parley.KindMailboxOffer
}

// settledReceipt merges into rs (member → receipt) the receipt of an
// answer of conv's message id that waits for its write.
func settledReceipt(txn *badger.Txn, conv parley.ConversationID, id parley.EnvelopeID, rs map[string]parley.Receipt) map[string]parley.Receipt {
	a, ok := settledIn(txn)[id]
	if !ok || a.at == 0 || a.conv != conv {
		return rs
	}
	if rs == nil {
		rs = make(map[string]parley.Receipt)
	}
	r := rs[a.peer]
	if r.Delivered == 0 || a.at < r.Delivered {
		r.Delivered = a.at
	}
	rs[a.peer] = r
	return rs
}
