package storage

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Last seen (PROTOCOL.md §10.1): for each contact who shares theirs with
// us, when their node was last connected to ours. Typing is never stored.

// prefixLastSeen: prs/<peer> → Unix milliseconds (8, big-endian).
const prefixLastSeen = "prs/"

func lastSeenKey(peer string) []byte { return key(prefixLastSeen, []byte(peer)) }

// PutLastSeen records that peer, who shares its last seen, was seen at t.
func (db *DB) PutLastSeen(peer string, t time.Time) error {
	if err := checkPeer(peer); err != nil {
		return fmt.Errorf("storage: put last seen: %w", err)
	}
	k, v := lastSeenKey(peer), binary.BigEndian.AppendUint64(nil, uint64(t.UnixMilli()))
	return db.submit(1, func(w *wtxn, _ int) error {
		if err := w.txn.Set(k, v); err != nil {
			return fmt.Errorf("storage: put last seen of %s: %w", peer, err)
		}
		return nil
	})
}

// DeleteLastSeen forgets peer's last seen (they stopped sharing it).
func (db *DB) DeleteLastSeen(peer string) error {
	if err := checkPeer(peer); err != nil {
		return fmt.Errorf("storage: delete last seen: %w", err)
	}
	k := lastSeenKey(peer)
	return db.submit(1, func(w *wtxn, _ int) error {
		if err := w.txn.Delete(k); err != nil {
			return fmt.Errorf("storage: delete last seen of %s: %w", peer, err)
		}
		return nil
	})
}

// LastSeen is every last seen kept, by peer ID.
func (db *DB) LastSeen() (map[string]time.Time, error) {
	out := make(map[string]time.Time)
	err := db.view(func(txn *badger.Txn) error {
		p := []byte(prefixLastSeen)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true})
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) != 8 {
				return malformed("last seen", fmt.Errorf("%d bytes, want 8", len(v)))
			}
			peer := string(it.Item().Key()[len(p):])
			out[peer] = time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: last seen: %w", err)
	}
	return out, nil
}
