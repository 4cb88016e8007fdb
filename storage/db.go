package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
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

	// MinFree is the write watermark: while the disk holding Dir has less
	// free, writes fail with a *parley.DiskFullError (space.go). Optional,
	// 0 means DefaultMinFree (64 MiB).
	MinFree int64
	// FreeSpace measures the free bytes on the file system holding dir.
	// Optional, nil means a statfs (internal/diskspace); tests inject one.
	FreeSpace func(dir string) (int64, error)
	// SpaceCheckEvery is how often free space is measured while idle, and
	// how old a reading far from the watermark may be. Optional, 0 means
	// one second.
	SpaceCheckEvery time.Duration
	// OnSpace is told when the store turns read-only for lack of space, or
	// writable again. Called from the store's own goroutine: it must not
	// block, nor call back into the store's writes. Optional.
	OnSpace func(SpaceState)

	// noSearchIndex leaves the search index out: the baseline of a
	// benchmark. Only tests set it (export_test.go).
	noSearchIndex bool

	// Plaintext writes the store unencrypted and uncompressed, so that a
	// test can search its raw files for what must not be there. For tests
	// only: nothing a user runs sets it (node.Config.PlaintextStore, which
	// the CLI and the API never set).
	Plaintext bool
}

// DB is the node's store. Its methods are safe for concurrent use. Writes go
// through one writer goroutine that commits concurrent callers together
// (see doc.go); reads run in their own badger read transactions.
type DB struct {
	// bdb is replaced when a store opened read-only is reopened for
	// writing: by the writer goroutine, under mu. Reads use it under mu's
	// read lock (view), the writer without (it is the only one to change it).
	bdb   *badger.DB
	bopts badger.Options // how bdb was opened, without ReadOnly
	log   *slog.Logger

	// space gates writes on free disk space (space.go). readOnly: badger
	// itself is open read-only (the disk was full at Open) until the
	// watcher reopens it. Written by Open and the writer goroutine.
	space       *spaceGate
	readOnly    atomic.Bool
	reopen      chan chan error // to the writer: reopen read-write
	drops       chan dropReq    // to the writer: drop keys from the disk (convo.go)
	watcherDone chan struct{}   // closed when watchSpace has returned

	// reclaimMu keeps badger's DropPrefix (dropKeys) apart from Reclaim's
	// Flatten and value-log GC: each stops and starts compactions or
	// blocks writes, and badger takes no two of them at once.
	reclaimMu sync.Mutex

	writes     chan *op      // to the writer goroutine; unbuffered, so no op is ever stranded
	quit       chan struct{} // closed by Close: the writer stops taking ops
	writerDone chan struct{} // closed when the writer goroutine has returned

	// Writes queued without a waiting caller (submitAsync): asyncReady
	// (capacity 1) tells the writer there are some.
	asyncMu     sync.Mutex
	asyncOps    []*op // guarded by asyncMu
	asyncClosed bool  // guarded by asyncMu: the writer has stopped
	asyncReady  chan struct{}

	// settled holds peers' answers not yet on disk (settle.go).
	settled settledSet

	// timerConvs holds the conversations that may hold a timer (timer.go).
	timerConvs sync.Map // parley.ConversationID → struct{}

	// outboxSeq is the next outbox sequence number. Owned by the writer
	// goroutine after Open returns.
	outboxSeq uint64
	// outboxFloors: per peer, a sequence number no outbox entry of the
	// peer is below (outbox.go).
	outboxFloors sync.Map // string → uint64
	// queuedEnvelopes holds envelopes just queued, for the courier's next
	// read of the outbox (outbox.go).
	queuedEnvelopes envelopeCache

	// contacts mirrors every stored contact, so that resolving a name on
	// each send costs no read and no decode. Contacts are few.
	contacts contactCache

	// The search index (search.go): backfillDone is closed when the
	// backfill goroutine has returned; searchComplete, once every stored
	// message is indexed; noSearchIndex, as Options.noSearchIndex.
	backfillDone   chan struct{}
	searchComplete atomic.Bool
	noSearchIndex  bool

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
	case opts.Plaintext:
	case len(opts.EncryptionKey) == 0:
		return nil, errors.New("storage: an encryption key is required (Options.EncryptionKey): the store is never written unencrypted")
	case len(opts.EncryptionKey) != 32:
		return nil, fmt.Errorf("storage: encryption key must be 32 bytes (AES-256), got %d", len(opts.EncryptionKey))
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db := &DB{
		bopts:       badgerOptions(opts.Dir, opts.EncryptionKey, log),
		log:         log,
		space:       newSpaceGate(opts.Dir, opts.MinFree, opts.FreeSpace, opts.SpaceCheckEvery),
		writes:      make(chan *op),
		asyncReady:  make(chan struct{}, 1),
		reopen:      make(chan chan error),
		drops:       make(chan dropReq),
		quit:        make(chan struct{}),
		writerDone:  make(chan struct{}),
		watcherDone: make(chan struct{}),

		backfillDone:  make(chan struct{}),
		noSearchIndex: opts.noSearchIndex,
	}
	if opts.Plaintext {
		db.bopts = db.bopts.WithEncryptionKey(nil).WithCompression(options.None)
	}
	if err := db.openBadger(); err != nil {
		return nil, err
	}
	if err := db.load(); err != nil {
		return nil, errors.Join(err, closeBadger(db.bdb))
	}
	if err := db.finishPurges(); err != nil {
		return nil, errors.Join(err, closeBadger(db.bdb))
	}
	if err := db.finishSearchPurges(); err != nil {
		return nil, errors.Join(err, closeBadger(db.bdb))
	}
	backfill, err := db.searchBackfillNeeded()
	if err != nil {
		return nil, errors.Join(err, closeBadger(db.bdb))
	}
	go db.writeLoop()
	go db.watchSpace(opts.OnSpace, db.Space().Full)
	if db.noSearchIndex || !backfill {
		close(db.backfillDone)
	} else {
		go db.backfillSearch() // search.go
	}
	return db, nil
}

// openBadger opens badger in db.bopts.Dir: read-only when the disk is
// below the watermark, so that nothing at all is written (opening
// read-write starts a new write-ahead log and value-log file, written
// through mmap). A store that did not close cleanly cannot be opened
// read-only (its write-ahead log must be replayed and truncated): it is
// opened read-write if the disk has openMinFree, and writes stay gated.
func (db *DB) openBadger() error {
	st := db.space.state(true)
	if st.Full {
		if _, err := os.Stat(filepath.Join(db.bopts.Dir, badger.ManifestFilename)); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: open %s: %w: there is no room to create a store", db.bopts.Dir, st.Err())
		}
		bdb, err := badger.Open(db.bopts.WithReadOnly(true))
		switch {
		case err == nil:
			db.bdb = bdb
			db.readOnly.Store(true)
			db.log.Warn(st.Err().Error(), spaceAttrs(st)...)
			return nil
		case !strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error()):
			return openError(db.bopts.Dir, err)
		case st.Free < openMinFree:
			return fmt.Errorf("storage: open %s: %w: the store did not close cleanly, and opening it needs %d MB free",
				db.bopts.Dir, st.Err(), openMinFree>>20)
		}
		db.log.Warn(st.Err().Error()+" (the store did not close cleanly: it is opened for writing, and takes none)", spaceAttrs(st)...)
	}
	bdb, err := badger.Open(db.bopts)
	if err != nil {
		return openError(db.bopts.Dir, err)
	}
	db.bdb = bdb
	return nil
}

// load brings the schema up to date and reads what the store keeps in
// memory. On a read-only store a needed migration fails with the disk-full
// error.
func (db *DB) load() error {
	if err := db.loadSchema(); err != nil {
		return err
	}
	if err := db.loadTimerConvs(); err != nil {
		return err
	}
	return db.loadContacts()
}

// loadSchema migrates and reads the outbox sequence, straight from bdb
// (reopenRW calls it holding mu).
func (db *DB) loadSchema() error {
	if err := db.migrate(); err != nil {
		if errors.Is(err, badger.ErrReadOnlyTxn) {
			return fmt.Errorf("storage: %w: the store must be upgraded to schema %d first, which needs space", db.space.state(false).Err(), SchemaVersion)
		}
		return err
	}
	var err error
	db.outboxSeq, err = db.loadOutboxSeq()
	return err
}

// reopenRW closes the read-only badger and opens it read-write, in
// the writer goroutine (which alone uses bdb for writes) and under mu (so
// no read is in flight). If that fails, it reopens read-only, so that
// reads go on.
func (db *DB) reopenRW() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed || !db.readOnly.Load() {
		return nil
	}
	if err := closeBadger(db.bdb); err != nil {
		db.log.Warn("closing the read-only store", "err", err)
	}
	bdb, err := badger.Open(db.bopts)
	if err == nil {
		db.bdb = bdb
		// The contacts in memory are current: nothing was written.
		if err = db.loadSchema(); err == nil {
			db.readOnly.Store(false)
			db.log.Info("the store is writable again")
			return nil
		}
		err = errors.Join(err, closeBadger(bdb))
	}
	ro, rerr := badger.Open(db.bopts.WithReadOnly(true))
	if rerr != nil {
		// Neither: nothing can be read or written. Every call fails as
		// after Close, and the node must be restarted.
		db.closed = true
		return errors.Join(openError(db.bopts.Dir, err), openError(db.bopts.Dir, rerr))
	}
	db.bdb = ro
	return openError(db.bopts.Dir, err)
}

// badgerOptions sizes badger for a desktop app: badger's defaults (64 MiB
// memtables ×5, 256 MiB block cache, 1 GiB value-log files) suit a server.
// With these the store stays at a few tens of MiB of RSS.
func badgerOptions(dir string, key []byte, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(true). // Commit returns only once the write is on disk
		WithEncryptionKey(key).
		WithMemTableSize(memTableSize).
		WithNumMemtables(2).
		WithBlockCacheSize(8 << 20). // must be > 0: badger panics with encryption and no block cache
		WithIndexCacheSize(4 << 20). // with encryption, table indexes are decrypted into this cache
		WithValueLogFileSize(valueLogFileSize).
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
		<-db.backfillDone
		<-db.writerDone
		<-db.watcherDone
		db.mu.Lock()
		wasClosed := db.closed // by a failed reopen, which left no badger open
		db.closed = true
		db.mu.Unlock()
		if !wasClosed {
			db.closeErr = closeBadger(db.bdb)
		}
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
	// Load the answers in memory before the transaction begins (settle.go
	// says why this order).
	settled := db.settled.load()
	if settled == nil {
		return db.bdb.View(fn)
	}
	return db.bdb.View(func(txn *badger.Txn) error {
		viewsSettled.Store(txn, settled)
		defer viewsSettled.Delete(txn)
		return fn(txn)
	})
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
