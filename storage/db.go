package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
	parley "github.com/parley-im/parley"
)

// SchemaVersion is the layout this code reads and writes. Open upgrades an
// older store through migrations and refuses a newer one.
const SchemaVersion = 3

// migrations[v] upgrades a store at schema version v to v+1, inside one
// synced transaction that also records the new version. A new store is at
// version 0. len(migrations) must equal SchemaVersion.
var migrations = []func(txn *badger.Txn) error{
	0: func(*badger.Txn) error { return nil }, // 0 → 1: the initial layout, nothing to convert
	1: countStrangers,                         // 1 → 2: what requests take, for the strangers' quota
	2: listPendingGroupSends,                  // 2 → 3: our queued group messages, for catch-up to move on
}

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("storage: store is closed")
	// ErrKeyMismatch: the store was created with another encryption key.
	ErrKeyMismatch = errors.New("store encryption key does not match")
)

// Options configures Open.
type Options struct {
	// Dir is the badger directory. Required.
	Dir string
	// EncryptionKey is the 32-byte master key (AES-256) that badger encrypts
	// every file with. Required: the store is never written unencrypted.
	EncryptionKey []byte
	// Logger receives badger's messages; its info chatter goes to Debug.
	// Optional, nil means slog.Default().
	Logger *slog.Logger
}

// DB is the node's store. Its methods are safe for concurrent use. Writes go
// through one writer goroutine that commits concurrent callers together
// (see doc.go); reads run in their own badger read transactions.
type DB struct {
	bdb *badger.DB
	log *slog.Logger

	writes     chan *op      // to the writer goroutine; unbuffered, so no op is ever stranded
	quit       chan struct{} // closed by Close: the writer stops taking ops
	writerDone chan struct{} // closed when the writer goroutine has returned

	// outboxSeq is the next outbox sequence number. Owned by the writer
	// goroutine after Open returns.
	outboxSeq uint64

	// contacts mirrors every stored contact, so that resolving a name on
	// each send costs no read and no decode. Contacts are few.
	contacts contactCache

	// mu lets Close wait for reads in flight before closing badger.
	mu     sync.RWMutex
	closed bool // guarded by mu

	closeOnce sync.Once
	closeErr  error
}

// Open opens the store in opts.Dir, creating it if needed, and brings its
// schema up to SchemaVersion. Memory is sized for a desktop app (see
// badgerOptions). If another process holds the directory, the error wraps
// parley.ErrDataDirInUse and nothing in the directory is changed. A wrong
// key gives an error wrapping ErrKeyMismatch.
func Open(opts Options) (*DB, error) {
	switch {
	case opts.Dir == "":
		return nil, errors.New("storage: Options.Dir is required")
	case len(opts.EncryptionKey) == 0:
		return nil, errors.New("storage: an encryption key is required (Options.EncryptionKey): the store is never written unencrypted")
	case len(opts.EncryptionKey) != 32:
		return nil, fmt.Errorf("storage: encryption key must be 32 bytes (AES-256), got %d", len(opts.EncryptionKey))
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	bdb, err := badger.Open(badgerOptions(opts.Dir, opts.EncryptionKey, log))
	if err != nil {
		return nil, openError(opts.Dir, err)
	}
	db := &DB{
		bdb:        bdb,
		log:        log,
		writes:     make(chan *op),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if err := db.migrate(); err != nil {
		return nil, errors.Join(err, closeBadger(bdb))
	}
	if db.outboxSeq, err = db.loadOutboxSeq(); err != nil {
		return nil, errors.Join(err, closeBadger(bdb))
	}
	if err := db.loadContacts(); err != nil {
		return nil, errors.Join(err, closeBadger(bdb))
	}
	go db.writeLoop()
	return db, nil
}

// badgerOptions sizes badger for a desktop app: badger's defaults (64 MiB
// memtables ×5, 256 MiB block cache, 1 GiB value-log files) suit a server.
// With these the store stays at a few tens of MiB of RSS.
func badgerOptions(dir string, key []byte, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(true). // Commit returns only once the write is on disk
		WithEncryptionKey(key).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(8 << 20). // must be > 0: badger panics with encryption and no block cache
		WithIndexCacheSize(4 << 20). // with encryption, table indexes are decrypted into this cache
		WithValueLogFileSize(32 << 20).
		WithNumCompactors(2).
		WithMetricsEnabled(false). // its metrics are process-wide expvars; we export none
		// Every write goes through the single writer goroutine, so
		// transactions never overlap and tracking their reads buys nothing.
		WithDetectConflicts(false).
		WithLogger(badgerLogger{log})
}

// openError turns badger's open errors into ones callers can test. Badger
// flattens the errors it wraps into text (y.Wrapf uses %+v), so its lock
// error can only be recognised by its message.
func openError(dir string, err error) error {
	switch {
	case strings.Contains(err.Error(), "Cannot acquire directory lock"):
		return fmt.Errorf("storage: open %s: %w", dir, parley.ErrDataDirInUse)
	case errors.Is(err, badger.ErrEncryptionKeyMismatch) ||
		strings.Contains(err.Error(), badger.ErrEncryptionKeyMismatch.Error()):
		return fmt.Errorf("storage: open %s: %w", dir, ErrKeyMismatch)
	}
	return fmt.Errorf("storage: open %s: %w", dir, err)
}

func closeBadger(bdb *badger.DB) error {
	if err := bdb.Close(); err != nil {
		return fmt.Errorf("storage: close badger: %w", err)
	}
	return nil
}

// Close stops the writer (writes already taken are committed first), waits
// for reads in flight, and closes badger. Later calls return the first
// result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.quit)
		<-db.writerDone
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		db.closeErr = closeBadger(db.bdb)
	})
	return db.closeErr
}

// view runs fn in a read transaction, or fails with ErrClosed.
// checkOpen is ErrClosed after Close, for reads served from memory.
func (db *DB) checkOpen() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	return nil
}

func (db *DB) view(fn func(txn *badger.Txn) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	return db.bdb.View(fn)
}

// migrate runs the migrations the store has not seen, each in its own
// synced transaction, so a crash mid-way resumes at the right step.
func (db *DB) migrate() error {
	if len(migrations) != SchemaVersion {
		return fmt.Errorf("storage: %d migrations for schema version %d", len(migrations), SchemaVersion)
	}
	for {
		var v uint64
		err := db.bdb.View(func(txn *badger.Txn) error {
			b, err := getValue(txn, []byte(keySchema))
			if errors.Is(err, parley.ErrNotFound) {
				return nil // a new store
			}
			if err != nil {
				return err
			}
			v, err = decodeUint64("schema version", b)
			return err
		})
		if err != nil {
			return fmt.Errorf("storage: read schema version: %w", err)
		}
		if v == SchemaVersion {
			return nil
		}
		if v > SchemaVersion {
			return fmt.Errorf("storage: the store has schema version %d but this parley knows only up to %d: use a newer parley", v, SchemaVersion)
		}
		err = db.bdb.Update(func(txn *badger.Txn) error {
			if err := migrations[v](txn); err != nil {
				return err
			}
			return txn.Set([]byte(keySchema), encodeUint64(v+1))
		})
		if err != nil {
			return fmt.Errorf("storage: migrate schema %d to %d: %w", v, v+1, err)
		}
		db.log.Info("store schema migrated", "from", v, "to", v+1)
	}
}

func (db *DB) loadOutboxSeq() (uint64, error) {
	var seq uint64
	err := db.bdb.View(func(txn *badger.Txn) error {
		b, err := getValue(txn, []byte(keyOutboxSeq))
		if errors.Is(err, parley.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		seq, err = decodeUint64("outbox sequence", b)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: read outbox sequence: %w", err)
	}
	return seq, nil
}

// getValue reads a key's value (a copy, safe after the txn ends); a missing
// key is parley.ErrNotFound.
func getValue(txn *badger.Txn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, parley.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: get %q: %w", k, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("storage: read %q: %w", k, err)
	}
	return v, nil
}

func exists(txn *badger.Txn, k []byte) (bool, error) {
	_, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: get %q: %w", k, err)
	}
	return true, nil
}

// badgerLogger adapts badger's printf logger to slog. Badger logs table
// and compaction activity at info: noise for a desktop app, so it goes to
// Debug. Its debug lines (several per write) go below Debug, so turning on
// Debug does not drown Parley's own lines.
type badgerLogger struct{ l *slog.Logger }

const levelBadgerDebug = slog.LevelDebug - 4

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(levelBadgerDebug, f, a) }

func (b badgerLogger) log(level slog.Level, f string, a []any) {
	ctx := context.Background()
	if !b.l.Enabled(ctx, level) {
		return // skip the Sprintf: badger calls Debugf on every write
	}
	b.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
}
