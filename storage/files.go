package storage

import (
	"encoding/hex"
	"fmt"

	parley "github.com/parley-im/parley"
)

// FileRecord is what the store keeps about one file transfer: the offer
// (with its key and chunk hashes, which never leave the store in a view)
// and where the transfer stands.
type FileRecord struct {
	parley.File
	ChunkSize   uint32
	ChunkHashes []byte
	Root        []byte
	Key         []byte
	// Accepted: the user (or the auto-accept rule) wants it fetched.
	Accepted bool
	// PathModTime is the modification time (Unix ns) of Path when it was
	// known to hold exactly the file: while it still has it (and the
	// size), chunks are served without hashing them again.
	PathModTime int64
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
		result = FileRecord{File: parley.File{ID: id}}
		_, err := updateKeyed(w.txn, k, fileCodec, &result, update, func(f *FileRecord) error {
			if f.ID != id {
				return fmt.Errorf("%w: the file ID may not change", parley.ErrMalformed)
			}
			return nil
		})
		return err
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
	f, err := getKeyed(db, k, fileCodec)
	if err != nil {
		return FileRecord{}, fmt.Errorf("storage: file %s: %w", id, err)
	}
	return f, nil
}

// Files lists every file record.
func (db *DB) Files() ([]FileRecord, error) {
	out, err := listKeyed(db, prefixFile, fileCodec)
	if err != nil {
		return nil, fmt.Errorf("storage: list files: %w", err)
	}
	return out, nil
}
