package storage

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Records kept one under each key (groups, files): reading one, listing
// them, and changing one in place, each kind through its valueCodec.

// valueCodec is how one kind of keyed record is stored; its functions live
// in codec.go with every other stored format.
type valueCodec[T any] struct {
	encode func(T) ([]byte, error)
	// decode wraps parley.ErrMalformed when the bytes are not a record.
	decode func([]byte) (T, error)
}

// readKeyed decodes the record at k into rec, which it leaves alone (found
// false) when there is none.
func readKeyed[T any](txn *badger.Txn, k []byte, c valueCodec[T], rec *T) (found bool, err error) {
	b, err := getValue(txn, k)
	if errors.Is(err, parley.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	v, err := c.decode(b)
	if err != nil {
		return false, err
	}
	*rec = v
	return true, nil
}

// getKeyed returns the record at k, or parley.ErrNotFound.
func getKeyed[T any](db *DB, k []byte, c valueCodec[T]) (T, error) {
	var rec T
	err := db.view(func(txn *badger.Txn) error {
		found, err := readKeyed(txn, k, c, &rec)
		if err == nil && !found {
			return parley.ErrNotFound
		}
		return err
	})
	return rec, err
}

// listKeyed returns every record under prefix, in key order.
func listKeyed[T any](db *DB, prefix string, c valueCodec[T]) ([]T, error) {
	var out []T
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefix, func(_, v []byte) error {
			rec, err := c.decode(v)
			if err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// updateKeyed reads the record at k into rec (left as the caller set it up
// when there is none), lets update change it, and when update asks for a
// write, runs prepare (checks, stamps) and writes rec back. It reports
// whether it wrote.
func updateKeyed[T any](txn *badger.Txn, k []byte, c valueCodec[T], rec *T,
	update func(rec *T, found bool) (write bool, err error), prepare func(rec *T) error) (bool, error) {
	found, err := readKeyed(txn, k, c, rec)
	if err != nil {
		return false, err
	}
	write, err := update(rec, found)
	if err != nil || !write {
		return false, err
	}
	if err := prepare(rec); err != nil {
		return false, err
	}
	v, err := c.encode(*rec)
	if err != nil {
		return false, err
	}
	return true, txn.Set(k, v)
}
