package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	parley "github.com/parley-im/parley"
)

// Why a message is still queued: the latest reason the node knows ("recipient
// offline", "mailbox full", a delivery error), kept per outbox entry that no
// mailbox holds, so that the user sees it after a restart too. It goes with
// the entry (RemoveFromOutbox) and once a mailbox holds it (MarkDeposited).

// MaxQueuedReason caps a reason's length in bytes; a longer one is cut.
const MaxQueuedReason = 200

func queuedWhyKey(id parley.EnvelopeID) []byte { return key(prefixQueuedWhy, id[:]) }

// SetQueuedReason records reason for each of peer's outbox entries that no
// mailbox holds. Entries that have it already are not written again, so a
// courier retrying an offline peer writes only when the reason changes.
func (db *DB) SetQueuedReason(peer, reason string) error {
	if err := checkPeer(peer); err != nil {
		return fmt.Errorf("storage: queued reason: %w", err)
	}
	if len(reason) > MaxQueuedReason {
		reason = strings.ToValidUTF8(reason[:MaxQueuedReason], "")
	}
	var todo []parley.EnvelopeID
	err := db.view(func(txn *badger.Txn) error {
		p := peerPrefix(prefixOutbox, peer)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("storage: read outbox entry: %w", err)
			}
			id, err := decodeOutboxEntry(v)
			if err != nil {
				return err
			}
			if dep, err := exists(txn, depositedKey(peer, id)); err != nil || dep {
				if err != nil {
					return err
				}
				continue
			}
			old, err := getValue(txn, queuedWhyKey(id))
			if err != nil && !errors.Is(err, parley.ErrNotFound) {
				return err
			}
			if string(old) != reason {
				todo = append(todo, id)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: queued reason for %s: %w", peer, err)
	}
	err = db.submit(len(todo), func(w *wtxn, i int) error {
		// Taken off the outbox meanwhile: nothing to say about it.
		if queued, err := exists(w.txn, outboxIndexKey(peer, todo[i])); err != nil || !queued {
			return err
		}
		if dep, err := exists(w.txn, depositedKey(peer, todo[i])); err != nil || dep {
			return err
		}
		return w.txn.Set(queuedWhyKey(todo[i]), []byte(reason))
	})
	if err != nil {
		return fmt.Errorf("storage: queued reason for %s: %w", peer, err)
	}
	return nil
}

// QueuedReason is why the outbox entry id is still queued ("" when the
// node knows no reason, or it is not queued).
func (db *DB) QueuedReason(id parley.EnvelopeID) (string, error) {
	var reason string
	err := db.view(func(txn *badger.Txn) error {
		if _, answered := settledIn(txn)[id]; answered {
			return nil // its entry leaves with the next commit (settle.go)
		}
		b, err := getValue(txn, queuedWhyKey(id))
		if errors.Is(err, parley.ErrNotFound) {
			return nil
		}
		reason = string(b)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("storage: queued reason of %s: %w", id, err)
	}
	return reason, nil
}
