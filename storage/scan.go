package storage

import (
	"github.com/dgraph-io/badger/v4"
)

// Scan calls fn with every key and value the store holds now, in key order
// (the current version of each). It is for diagnostics and tests that
// check what the store keeps (nothing it should not: typing, a deleted
// text); fn must not keep the slices.
func (db *DB) Scan(fn func(key, value []byte) error) error {
	return db.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	})
}
