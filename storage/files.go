package storage

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// FileRecord is what the store keeps about one file transfer: the offer
// (with its key and chunk hashes, which never leave the store in a view)
// and where the transfer stands.
type FileRecord struct {
	parley.File
	ChunkSize   uint32 `json:"chunk_size"`
	ChunkHashes []byte `json:"chunk_hashes"`
	Root        []byte `json:"root"`
	Key         []byte `json:"key"`
	// Accepted: the user (or the auto-accept rule) wants it fetched.
	Accepted bool `json:"accepted,omitempty"`
	// PathModTime is the modification time (Unix ns) of Path when it was
	// known to hold exactly the file: while it still has it (and the
	// size), chunks are served without hashing them again.
	PathModTime int64 `json:"path_mod_time,omitempty"`
}

func fileKey(id string) ([]byte, error) {
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) != 16 {
		return nil, fmt.Errorf("%w: file ID %q", parley.ErrMalformed, id)
	}
	return key(prefixFile, raw), nil
}

// UpdateFile reads, changes and writes one file record atomically with
// respect to every other write (see UpdateContact).
func (db *DB) UpdateFile(id string, update func(f *FileRecord, found bool) (write bool, err error)) (FileRecord, error) {
	k, err := fileKey(id)
	if err != nil {
		return FileRecord{}, err
	}
	var result FileRecord
	err = db.submit(1, func(w *wtxn, _ int) error {
		f := FileRecord{File: parley.File{ID: id}}
		b, err := getValue(w.txn, k)
		found := err == nil
		switch {
		case found:
			if err := json.Unmarshal(b, &f); err != nil {
				return malformed("file", err)
			}
		case !errors.Is(err, parley.ErrNotFound):
			return err
		}
		write, err := update(&f, found)
		result = f
		if err != nil || !write {
			return err
		}
		if f.ID != id {
			return fmt.Errorf("%w: the file ID may not change", parley.ErrMalformed)
		}
		v, err := json.Marshal(f)
		if err != nil {
			return err
		}
		return w.txn.Set(k, v)
	})
	if err != nil {
		return FileRecord{}, fmt.Errorf("storage: update file %s: %w", id, err)
	}
	return result, nil
}

// File returns one file record, or parley.ErrNotFound.
func (db *DB) File(id string) (FileRecord, error) {
	k, err := fileKey(id)
	if err != nil {
		return FileRecord{}, err
	}
	var f FileRecord
	err = db.view(func(txn *badger.Txn) error {
		b, err := getValue(txn, k)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return malformed("file", err)
		}
		return nil
	})
	if err != nil {
		return FileRecord{}, fmt.Errorf("storage: file %s: %w", id, err)
	}
	return f, nil
}

// Files lists every file record.
func (db *DB) Files() ([]FileRecord, error) {
	var out []FileRecord
	err := db.view(func(txn *badger.Txn) error {
		return scan(txn, prefixFile, func(_, v []byte) error {
			var f FileRecord
			if err := json.Unmarshal(v, &f); err != nil {
				return malformed("file", err)
			}
			out = append(out, f)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list files: %w", err)
	}
	return out, nil
}
