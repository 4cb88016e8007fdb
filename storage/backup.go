package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	parley "github.com/parley-im/parley"
)

// Backups use badger's own format (DB.Backup, DB.Load): a stream of
// length-prefixed protobuf KV lists, keys and values in clear (the caller
// encrypts the stream; node/backup.go seals it with the user's
// passphrase), with each key's version, TTL and flags, so disappearing
// messages keep their expiry.

const (
	// loadPendingWrites bounds the write batches Load keeps in flight, as
	// badger's own restore tool does.
	loadPendingWrites = 256
	// backupBatch bounds one KV list of the stream (badger's default is
	// 100 MB), and backupWorkers the goroutines that read the snapshot
	// (default 8, each with a 32 MB buffer): a backup runs beside a desktop
	// app, not on a database server.
	backupBatch   = 16 << 20
	backupWorkers = 2
	// maxLoadFrame bounds one KV list Load accepts: badger allocates what
	// a list's length prefix says before reading it. A list may exceed
	// backupBatch only by one key's versions, which the store keeps few
	// and small.
	maxLoadFrame = 256 << 20
)

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
	stream := db.bdb.NewStream()
	stream.LogPrefix = "storage.Backup"
	stream.NumGo = backupWorkers
	stream.MaxSize = backupBatch
	if _, err := stream.Backup(ctxWriter{ctx, w}, 0); err != nil {
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
	if err := bdb.Load(&frameLimit{r: r, max: maxLoadFrame}, loadPendingWrites); err != nil {
		return errors.Join(fmt.Errorf("storage: load: %w", err), closeBadger(bdb))
	}
	return closeBadger(bdb)
}

// ErrFrameTooLarge: a backup stream announces a KV list above maxLoadFrame.
var ErrFrameTooLarge = errors.New("storage: backup stream holds a list larger than allowed")

// frameLimit passes a backup stream through while following its framing
// (an 8-byte little-endian length, then that many bytes), and fails before
// a length above max reaches badger, which would allocate it.
type frameLimit struct {
	r    io.Reader
	max  uint64
	hdr  [8]byte
	hdrN int    // bytes of the next length read so far
	left uint64 // bytes of the current list still to pass
}

func (f *frameLimit) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	for i := 0; i < n; {
		if f.left > 0 {
			k := min(f.left, uint64(n-i))
			f.left -= k
			i += int(k)
			continue
		}
		f.hdr[f.hdrN] = p[i]
		f.hdrN++
		i++
		if f.hdrN == len(f.hdr) {
			f.hdrN = 0
			f.left = binary.LittleEndian.Uint64(f.hdr[:])
			if f.left > f.max {
				return 0, fmt.Errorf("%w: %w: %d bytes (at most %d)", parley.ErrMalformed, ErrFrameTooLarge, f.left, f.max)
			}
		}
	}
	return n, err
}
