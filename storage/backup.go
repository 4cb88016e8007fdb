package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Backups use badger's own format (DB.Backup, DB.Load): a stream of
// length-prefixed protobuf KV lists, keys and values in clear (the caller
// encrypts the stream; node/backup.go seals it with the user's
// passphrase), with each key's version, TTL and flags, so disappearing
// messages keep their expiry.

// loadPendingWrites bounds the write batches Load keeps in flight, as
// badger's own restore tool does.
const loadPendingWrites = 256

// Backup writes a consistent snapshot of the whole store to w, in badger's
// backup format, while the store stays open: reads and writes go on, and
// what is written after the snapshot began is not in it. It streams: memory
// does not grow with the store. It stops with ctx's error when ctx ends
// (at the next write to w).
func (db *DB) Backup(ctx context.Context, w io.Writer) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if _, err := db.bdb.Backup(ctxWriter{ctx, w}, 0); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("storage: backup: %w", err)
	}
	return nil
}

// ctxWriter fails writes once ctx ends: badger's Backup takes no context,
// and stops at the first write error.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Load creates a store in opts.Dir (which must hold none) from a stream
// that Backup wrote, encrypted under opts.EncryptionKey, and closes it. Its
// schema is brought up to date by the next Open, as any store's. On error,
// opts.Dir is left with a partial store: the caller removes it.
func Load(opts Options, r io.Reader) error {
	if opts.Dir == "" || len(opts.EncryptionKey) != 32 {
		return errors.New("storage: Load needs Options.Dir and a 32-byte EncryptionKey")
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, badger.ManifestFilename)); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: load into %s: a store is already there", opts.Dir)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	bdb, err := badger.Open(badgerOptions(opts.Dir, opts.EncryptionKey, log))
	if err != nil {
		return openError(opts.Dir, err)
	}
	if err := bdb.Load(r, loadPendingWrites); err != nil {
		return errors.Join(fmt.Errorf("storage: load: %w", err), closeBadger(bdb))
	}
	return closeBadger(bdb)
}
