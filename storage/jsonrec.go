package storage

import (
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// Records kept as JSON, one under each key (groups, files): reading one,
// listing them, and changing one in place. what names the kind of record
// in errors.

// readJSON decodes the record at k into rec, which it leaves alone (found
// false) when there is none.
func readJSON[T any](txn *badger.Txn, k []byte, what string, rec *T) (found bool, err error) {
	b, err := getValue(txn, k)
	if errors.Is(err, parley.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, rec); err != nil {
		return false, malformed(what, err)
	}
	return true, nil
}

// getJSON returns the record at k, or parley.ErrNotFound.
func getJSON[T any](db *DB, k []byte, what string) (T, error) {
	var rec T
	err := db.view(func(txn *badger.Txn) error {
		found, err := readJSON(txn, k, what, &rec)
		if err == nil && !found {
			return parley.ErrNotFound
		}
		return err
	})
	return rec, err
}

// listJSON returns every record under prefix, in key order.
func listJSON[T any](db *DB, prefix, what string) ([]T, error) {
	var out []T
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefix, func(_, v []byte) error {
			var rec T
			if err := json.Unmarshal(v, &rec); err != nil {
				return malformed(what, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// updateJSON reads the record at k into rec (left as the caller set it up
// when there is none), lets update change it, and when update asks for a
// write, runs prepare (checks, stamps) and writes rec back. It reports
// whether it wrote.
func updateJSON[T any](txn *badger.Txn, k []byte, what string, rec *T,
	update func(rec *T, found bool) (write bool, err error), prepare func(rec *T) error) (bool, error) {
	found, err := readJSON(txn, k, what, rec)
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
	v, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	return true, txn.Set(k, v)
}
