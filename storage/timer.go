package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Disappearing messages. A timer is a record like any other (KindTimer),
// listed in its conversation and indexed under tmc/ so that the one in
// force is found without reading the conversation. A text or file that
// carries a timer is indexed under tme/ by when it expires, so that the
// node's sweeper finds what is due, and when the next one is, with one
// seek. Expiring a message is purging it for everyone (convo.go's purge):
// its text, file ID and edits go from every key and value, and it is no
// longer listed.

const (
	// tmc/<conv><hlc><id> → empty: a timer of conv, in (HLC, ID) order.
	prefixTimer = "tmc/"
	// tme/<expires-at ms, 8 big-endian><id> → empty: a message that expires then.
	prefixExpiry = "tme/"
)

func expiryKey(m parley.Message) []byte {
	at := m.ExpiresAt().UnixMilli()
	return key(prefixExpiry, binary.BigEndian.AppendUint64(nil, uint64(max(at, 0))), m.ID[:])
}

// indexTimer indexes a new record that is a timer or that expires.
func indexTimer(txn *badger.Txn, m parley.Message) error {
	switch {
	case m.Kind == parley.KindTimer:
		return txn.Set(displayKey(prefixTimer, m), nil)
	case m.Timer != 0 && (m.Kind == parley.KindText || m.Kind == parley.KindFile):
		return txn.Set(expiryKey(m), nil)
	}
	return nil
}

// Timers returns the timers of a conversation, oldest first in (HLC, ID)
// order: the node decides which is in force (the latest whose author may
// set it).
func (db *DB) Timers(conv parley.ConversationID) ([]parley.Message, error) {
	if _, ok := db.timerConvs.Load(conv); !ok {
		// Most conversations never had a timer: every send asks, and a
		// scan costs a badger iterator (about 0.3 ms on a loaded machine).
		return nil, db.checkOpen()
	}
	var out []parley.Message
	err := db.view(func(txn *badger.Txn) error {
		var ids []parley.EnvelopeID
		if err := scan(txn, string(key(prefixTimer, conv[:])), func(k, _ []byte) error {
			id, err := displayKeyID(prefixTimer, k)
			ids = append(ids, id)
			return err
		}); err != nil {
			return err
		}
		for _, id := range ids {
			m, err := getMessage(txn, id)
			if err != nil {
				return notFoundIsMalformed(err)
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: timers of %s: %w", conv, err)
	}
	return out, nil
}

// NextExpiry is when the next disappearing message expires; false when
// none is held.
func (db *DB) NextExpiry() (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := db.view(func(txn *badger.Txn) error {
		p := []byte(prefixExpiry)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		it.Seek(p)
		if !it.ValidForPrefix(p) {
			return nil
		}
		k := it.Item().Key()
		if len(k) != len(prefixExpiry)+8+32 {
			return fmt.Errorf("%w: expiry key of %d bytes", parley.ErrMalformed, len(k))
		}
		at, ok = time.UnixMilli(int64(binary.BigEndian.Uint64(k[len(prefixExpiry):]))), true
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("storage: next expiry: %w", err)
	}
	return at, ok, nil
}

// expireBatch bounds the messages one ExpireDue purges in a transaction.
const expireBatch = 64

// ExpireDue purges for everyone the messages (at most expireBatch a
// call) whose expiry is at or before now, and unlists them: a
// disappearing message leaves no shell in its conversation. It returns
// each one held as it was before (the node forgets a file's transfer
// with it, and tells the GUI); one deleted for me returns nothing but
// loses what purge still kept. Call it again while it returns a full
// batch.
func (db *DB) ExpireDue(now time.Time) ([]parley.Message, error) {
	var due [][]byte
	err := db.view(func(txn *badger.Txn) error {
		p := []byte(prefixExpiry)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		end := binary.BigEndian.AppendUint64(nil, uint64(max(now.UnixMilli(), 0)))
		for it.Seek(p); it.ValidForPrefix(p) && len(due) < expireBatch; it.Next() {
			k := it.Item().KeyCopy(nil)
			if len(k) != len(prefixExpiry)+8+32 {
				return fmt.Errorf("%w: expiry key of %d bytes", parley.ErrMalformed, len(k))
			}
			if string(k[len(prefixExpiry):len(prefixExpiry)+8]) > string(end) {
				break
			}
			due = append(due, k)
		}
		return nil
	})
	if err != nil || len(due) == 0 {
		return nil, err
	}
	held := make([]parley.Message, len(due))
	dropped := make([][][]byte, len(due))
	err = db.submit(len(due), func(w *wtxn, i int) error {
		id, err := parley.EnvelopeIDFromBytes(due[i][len(prefixExpiry)+8:])
		if err != nil {
			return err
		}
		held[i], dropped[i] = parley.Message{}, nil
		m, err := getMessage(w.txn, id)
		if err != nil && !errors.Is(err, parley.ErrNotFound) {
			return err
		}
		// Not found: deleted for me, whose kept group envelope purge drops.
		if _, dropped[i], err = purge(w.txn, id, true); err != nil {
			return err
		}
		if m.Kind != "" {
			held[i] = m
			// Gone, not listed as deleted: the message disappeared.
			if err := w.txn.Delete(displayKey(prefixMessages, m)); err != nil {
				return err
			}
		}
		return w.txn.Delete(due[i])
	})
	if err != nil {
		return nil, fmt.Errorf("storage: expiring messages: %w", err)
	}
	var out []parley.Message
	var keys [][]byte
	for i := range due {
		if held[i].Kind != "" {
			out = append(out, held[i])
		}
		keys = append(keys, dropped[i]...)
	}
	return out, db.drop(keys)
}

// loadTimerConvs fills timerConvs from the timers stored: at Open, before
// the writer starts. Entries are never removed (a conversation whose
// timers were purged costs a scan per Timers, as before).
func (db *DB) loadTimerConvs() error {
	return db.bdb.View(func(txn *badger.Txn) error {
		p := []byte(prefixTimer)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); {
			k := it.Item().KeyCopy(nil)
			if len(k) < len(p)+len(parley.ConversationID{}) {
				return fmt.Errorf("storage: %w: timer key of %d bytes", parley.ErrMalformed, len(k))
			}
			var conv parley.ConversationID
			copy(conv[:], k[len(p):])
			db.timerConvs.Store(conv, struct{}{})
			// The next conversation's timers: seek past this one's.
			next := append([]byte(prefixTimer), conv[:]...)
			for i := len(next) - 1; i >= len(p); i-- {
				if next[i]++; next[i] != 0 {
					break
				}
			}
			it.Seek(next)
		}
		return nil
	})
}
